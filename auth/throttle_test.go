package auth

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gatehouse/models"
)

// attempt logs in as email from ip with pw.
func (f *fixture) attempt(email, pw, ip string) error {
	_, err := f.svc.Login(context.Background(), Credentials{Username: email, Password: pw}, Client{IP: ip}, nil)
	return err
}

// wantThrottled fails the test unless err is 429 too_many_attempts with
// Retry-After within a second of want.
func wantThrottled(t *testing.T, err error, want time.Duration) {
	t.Helper()
	e, ok := models.AsError(err)
	if !ok || e.Kind != models.TooManyRequests || e.Code != "too_many_attempts" {
		t.Fatalf("error: got %v, want 429 too_many_attempts", err)
	}
	if d := e.RetryAfter - want; d < -time.Second || d > time.Second {
		t.Errorf("Retry-After: got %v, want %v", e.RetryAfter, want)
	}
}

func TestThrottlePerAccountAndIP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	const ip, otherIP = "192.0.2.10", "198.51.100.7"

	for i := range 5 { // one failure a minute
		if err := f.attempt("ada@example.com", "wrong", ip); err != ErrInvalidCredentials {
			t.Fatalf("failure %d: got %v, want %v", i+1, err, ErrInvalidCredentials)
		}
		f.clock.Advance(time.Minute)
	}
	// Five minutes after the first failure: ten minutes of the window left.
	wantThrottled(t, f.attempt("ada@example.com", password, ip), 10*time.Minute)
	wantThrottled(t, f.attempt("  ADA@example.com", password, ip), 10*time.Minute)

	if err := f.attempt("ada@example.com", password, otherIP); err != nil {
		t.Errorf("the owner on another IP: got %v, want a login", err)
	}
	f.createUser(t, "bob@example.com")
	if err := f.attempt("bob@example.com", password, ip); err != nil {
		t.Errorf("another account from the same IP: got %v, want a login", err)
	}

	f.clock.Advance(10*time.Minute - time.Second)
	wantThrottled(t, f.attempt("ada@example.com", password, ip), time.Second)
	f.clock.Advance(time.Second)
	if err := f.attempt("ada@example.com", password, ip); err != nil {
		t.Errorf("after the window: got %v, want a login", err)
	}
}

func TestThrottlePerIP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	const ip = "192.0.2.20"
	for i := range 20 {
		if err := f.attempt(fmt.Sprintf("user%d@example.com", i), "wrong", ip); err != ErrInvalidCredentials {
			t.Fatalf("failure %d: got %v, want %v", i+1, err, ErrInvalidCredentials)
		}
	}
	f.clock.Advance(time.Minute)
	wantThrottled(t, f.attempt("ada@example.com", password, ip), 14*time.Minute)
	if err := f.attempt("ada@example.com", password, "192.0.2.21"); err != nil {
		t.Errorf("the next IP: got %v, want a login", err)
	}
	f.clock.Advance(14 * time.Minute)
	if err := f.attempt("ada@example.com", password, ip); err != nil {
		t.Errorf("after the window: got %v, want a login", err)
	}
}

func TestThrottleGoodLoginClears(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	const ip = "192.0.2.30"
	fail := func(n int) {
		t.Helper()
		for range n {
			if err := f.attempt("ada@example.com", "wrong", ip); err != ErrInvalidCredentials {
				t.Fatalf("failure: got %v, want %v", err, ErrInvalidCredentials)
			}
		}
	}
	fail(4)
	if err := f.attempt("ada@example.com", password, ip); err != nil {
		t.Fatalf("fifth attempt, right password: got %v, want a login", err)
	}
	fail(4) // eight in the window had the good login not cleared them
	if err := f.attempt("ada@example.com", password, ip); err != nil {
		t.Errorf("after a good login and four new failures: got %v, want a login", err)
	}
}

// TestThrottleLimitsFromConfig checks LOGIN_MAX_FAILURES,
// LOGIN_MAX_FAILURES_PER_IP and LOGIN_FAILURE_WINDOW are the limits used.
func TestThrottleLimitsFromConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "LOGIN_MAX_FAILURES=2", "LOGIN_MAX_FAILURES_PER_IP=3", "LOGIN_FAILURE_WINDOW=1m")
	f.createUser(t, "ada@example.com")
	const ip = "192.0.2.40"
	for range 2 {
		_ = f.attempt("ada@example.com", "wrong", ip)
	}
	wantThrottled(t, f.attempt("ada@example.com", password, ip), time.Minute)
	_ = f.attempt("bob@example.com", "wrong", ip)
	wantThrottled(t, f.attempt("carol@example.com", "wrong", ip), time.Minute)
	f.clock.Advance(time.Minute)
	if err := f.attempt("ada@example.com", password, ip); err != nil {
		t.Errorf("after a one-minute window: got %v, want a login", err)
	}
}
