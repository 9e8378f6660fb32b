package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"gatehouse/config"
	"gatehouse/models"

	"gatehouse/internal/testenv"
)

// clock is the service's injected time; tests move it instead of sleeping.
type clock = testenv.Clock

// fixture is a real Service over a fresh SQLite file.
type fixture struct {
	svc   *Service
	store *models.Store
	clock *clock
	cfg   config.Config
}

// newFixture opens and migrates a fresh SQLite database and builds the
// service on it. overrides are KEY=VALUE settings on top of the test
// configuration: cheap argon2id (the real cost is measured by
// BenchmarkPasswordVerify) and fixed secrets.
func newFixture(t testing.TB, overrides ...string) *fixture {
	t.Helper()
	store := testenv.Store(t, models.Open, testenv.DatabaseURL(t, testenv.SQLite, ""), 0)
	clk := testenv.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	return newFixtureOn(t, store, clk, overrides...)
}

// newFixtureOn builds a second service on an existing store and clock, as
// another instance (or a restart with other settings) would.
func newFixtureOn(t testing.TB, store *models.Store, clk *clock, overrides ...string) *fixture {
	t.Helper()
	cfg := testenv.Config(t, config.Load, overrides...)
	svc, err := New(store, cfg, clk.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	return &fixture{svc: svc, store: store, clock: clk, cfg: cfg}
}

const password = "correct horse battery"

// createUser adds a user with password and the given scopes (the
// defaults when none).
func (f *fixture) createUser(t testing.TB, email string, scopes ...string) *models.User {
	t.Helper()
	u, err := f.svc.CreateUser(context.Background(), NewUser{Email: email, FullName: "Test User", Password: password, Scopes: scopes})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// client is where test logins come from unless a test says otherwise.
var client = Client{IP: "192.0.2.1", UserAgent: "test"}

// login logs email in with the right password and returns the caller.
func (f *fixture) login(t testing.TB, email string) *Caller {
	t.Helper()
	c, err := f.svc.Login(context.Background(), Credentials{Username: email, Password: password}, client, nil)
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return c
}

// cookieFor returns the session cookie SaveCookie sets for c.
func (f *fixture) cookieFor(t testing.TB, c *Caller) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := f.svc.SaveCookie(rec, httptest.NewRequest(http.MethodPost, "/auth/token", nil), c); err != nil {
		t.Fatalf("save cookie: %v", err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies set: got %d, want 1", len(cookies))
	}
	return cookies[0]
}

// request builds a GET carrying the given cookie and Authorization header
// (either may be empty).
func request(cookie *http.Cookie, authorization string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

// wantError fails the test unless err matches want.
func wantError(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error: got %v, want %v", err, want)
	}
}
