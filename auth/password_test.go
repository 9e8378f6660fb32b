package auth

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"gatehouse/config"
	"gatehouse/internal/argon2"
	"gatehouse/models"
)

var cheap = config.Argon2{MemoryKiB: 1024, Time: 1, Threads: 1}

// TestHashFormat: a hash made in a slot's work area is what
// alexedwards/argon2id makes — its CheckHash accepts it, with the
// configured parameters — so hashes stored before and after the work
// areas (internal/argon2) verify alike; TestHasherVerify checks the other
// way round. Each slot's area is allocated once, at its first use.
func TestHashFormat(t *testing.T) {
	t.Parallel()
	h, err := newHasher(cheap, nil, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		hash, err := h.hash(ctx, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=1024,t=1,p=1$") {
			t.Errorf("hash = %q, want the prefix $argon2id$v=19$m=1024,t=1,p=1$", hash)
		}
		match, params, err := argon2id.CheckHash("correct horse battery", hash)
		if err != nil || !match || *params != *h.params {
			t.Errorf("argon2id.CheckHash(our hash) = %v, %+v, %v; want a match with %+v", match, params, err, *h.params)
		}
		if match, _, _ := argon2id.CheckHash("correct horse batteries", hash); match {
			t.Error("argon2id.CheckHash accepted a wrong password against our hash")
		}
	}
	for range cap(h.slots) {
		w := <-h.slots
		if w.Size() != 0 && w.Size() != cheap.MemoryKiB {
			t.Errorf("a slot's work area holds %d KiB, want 0 or %d", w.Size(), cheap.MemoryKiB)
		}
		defer func() { h.slots <- w }()
	}
}

func TestHasherVerify(t *testing.T) {
	t.Parallel()
	h, err := newHasher(cheap, nil, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hash, err := h.hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	other, err := argon2id.CreateHash("correct horse battery", &argon2id.Params{Memory: 2048, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                 string
		password, hash       string
		wantMatch, wantStale bool
		wantErr              bool
	}{
		{"the right password", "correct horse battery", hash, true, false, false},
		{"a wrong password", "correct horse battery!", hash, false, false, false},
		{"a password differing only in case", "Correct horse battery", hash, false, false, false},
		{"a password with a trailing space", "correct horse battery ", hash, false, false, false},
		{"an empty password", "", hash, false, false, false},
		{"no hash (a provider-only account) never matches", "correct horse battery", "", false, false, false},
		{"no hash and an empty password", "", "", false, false, false},
		{"a hash made with other parameters matches and is stale", "correct horse battery", other, true, true, false},
		{"a wrong password against a stale hash", "nope", other, false, true, false},
		{"a hash that is not argon2id is an error", "x", "$2a$10$abcdefghijklmnopqrstuv", false, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			match, stale, err := h.verify(ctx, tc.password, tc.hash)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error: got %v, want error %v", err, tc.wantErr)
			}
			if match != tc.wantMatch {
				t.Errorf("match: got %v, want %v", match, tc.wantMatch)
			}
			if stale != tc.wantStale {
				t.Errorf("stale: got %v, want %v", stale, tc.wantStale)
			}
		})
	}
	if hash == other || !strings.HasPrefix(hash, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("hash: got %q, want argon2id with m=1024,t=1,p=1", hash)
	}
	again, _ := h.hash(ctx, "correct horse battery")
	if again == hash {
		t.Errorf("two hashes of one password: got the same, want different salts")
	}
}

// TestLoginSameAnswer checks that an unknown email and a wrong password
// get the same error, and that an unknown email goes through the hasher
// like a wrong password does (it waits for a slot: it costs one verify).
func TestLoginSameAnswer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	ctx := context.Background()
	cases := []struct{ name, username, password string }{
		{"a wrong password", "ada@example.com", "wrong password"},
		{"an unknown email", "bob@example.com", "wrong password"},
		{"an unknown email with ada's password", "bob@example.com", password},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Login(ctx, Credentials{Username: tc.username, Password: tc.password}, Client{IP: "192.0.2.9"}, nil)
			if err != ErrInvalidCredentials {
				t.Errorf("error: got %v, want %v (the same value)", err, ErrInvalidCredentials)
			}
		})
	}
	t.Run("an unknown email waits for a hashing slot", func(t *testing.T) {
		f := newFixture(t)
		f.svc.hasher.wait = 50 * time.Millisecond
		fillSlots(t, f.svc.hasher)
		_, err := f.svc.Login(ctx, Credentials{Username: "nobody@example.com", Password: "x"}, client, nil)
		wantError(t, err, ErrBusy)
	})
}

// fillSlots holds every hashing slot until the test ends.
func fillSlots(t *testing.T, h *hasher) {
	t.Helper()
	held := make([]*argon2.Work, 0, cap(h.slots))
	for range cap(h.slots) {
		held = append(held, <-h.slots)
	}
	t.Cleanup(func() {
		for _, w := range held {
			h.slots <- w
		}
	})
}

// TestRehashStaleParams logs in through a service configured with another
// cost than the one that made the stored hash: the hash is upgraded at
// that good login, and not at a failed one.
func TestRehashStaleParams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old := newFixture(t)
	u := old.createUser(t, "ada@example.com")
	if !strings.Contains(u.PasswordHash, "$m=1024,t=1,p=1$") {
		t.Fatalf("hash: got %q, want m=1024,t=1,p=1", u.PasswordHash)
	}
	upgraded := newFixtureOn(t, old.store, old.clock, "ARGON2_MEMORY_KIB=2048", "ARGON2_TIME=2")
	stored := func() string {
		t.Helper()
		u, err := old.store.UserByEmail(ctx, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash
	}

	if _, err := upgraded.svc.Login(ctx, Credentials{Username: "ada@example.com", Password: "wrong"}, client, nil); err != ErrInvalidCredentials {
		t.Fatalf("wrong password: got %v, want %v", err, ErrInvalidCredentials)
	}
	if got := stored(); got != u.PasswordHash {
		t.Errorf("hash after a failed login: got %q, want it unchanged", got)
	}

	c := upgraded.login(t, "ada@example.com")
	got := stored()
	if !strings.Contains(got, "$m=2048,t=2,p=1$") {
		t.Errorf("hash after a good login: got %q, want m=2048,t=2,p=1", got)
	}
	if c.User.PasswordHash != got {
		t.Errorf("caller's user hash: got %q, want the new one %q", c.User.PasswordHash, got)
	}
	// Both services still accept the password: the old one sees the new
	// hash as stale and upgrades it back, which is what a mixed
	// deployment would do until it agrees on one cost.
	upgraded.login(t, "ada@example.com")
	if again := stored(); again != got {
		t.Errorf("hash after a login with current params: got %q, want it unchanged %q", again, got)
	}
	old.login(t, "ada@example.com")
}

// TestLoginBusy holds every hashing slot: a login that cannot get one in
// time is 503 busy with Retry-After, and works again once a slot frees.
func TestLoginBusy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	f.svc.hasher.wait = 50 * time.Millisecond
	ctx := context.Background()
	held := make([]*argon2.Work, 0, cap(f.svc.hasher.slots))
	for range cap(f.svc.hasher.slots) {
		held = append(held, <-f.svc.hasher.slots)
	}

	_, err := f.svc.Login(ctx, Credentials{Username: "ada@example.com", Password: password}, client, nil)
	wantError(t, err, ErrBusy)
	e, ok := models.AsError(err)
	if !ok {
		t.Fatalf("error: got %T, want *models.Error", err)
	}
	if e.Kind != models.Unavailable || e.Code != "busy" || e.RetryAfter <= 0 {
		t.Errorf("error: got kind %v code %q retry after %v, want Unavailable, busy, a positive Retry-After", e.Kind, e.Code, e.RetryAfter)
	}
	if _, err := f.svc.CreateUser(ctx, NewUser{Email: "bob@example.com", FullName: "Bob", Password: password}); !errors.Is(err, ErrBusy) {
		t.Errorf("CreateUser with every slot held: got %v, want %v", err, ErrBusy)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.svc.Login(cancelled, Credentials{Username: "ada@example.com", Password: password}, client, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled request waiting for a slot: got %v, want %v", err, context.Canceled)
	}

	f.svc.hasher.slots <- held[0]
	if _, err := f.svc.Login(ctx, Credentials{Username: "ada@example.com", Password: password}, client, nil); err != nil {
		t.Errorf("login with a slot free: got %v, want no error", err)
	}
	for _, w := range held[1:] {
		f.svc.hasher.slots <- w
	}
	// A busy login is not a failed login: it must not count towards the throttle.
	n, _, err := f.store.CountFailures(ctx, accountKey("ada@example.com", client.IP), f.clock.Now().Add(-time.Hour))
	if err != nil || n != 0 {
		t.Errorf("failures counted: got %d (%v), want 0", n, err)
	}
}

// BenchmarkPasswordVerify measures one argon2id verify at the contract's
// default cost (19456 KiB, t=2, p=1): the price of every password login.
func BenchmarkPasswordVerify(b *testing.B) {
	h, err := newHasher(config.Argon2{MemoryKiB: 19456, Time: 2, Threads: 1}, nil, slog.Default())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	hash, err := h.hash(ctx, "correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ok, _, err := h.verify(ctx, "correct horse battery", hash)
		if err != nil || !ok {
			b.Fatalf("verify: got %v, %v; want true, nil", ok, err)
		}
	}
}
