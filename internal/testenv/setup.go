package testenv

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Config loads the configuration every test starts from: cheap argon2id
// (the real cost is measured by benchmarks, not paid by tests), fixed
// secrets, APP_ENV=test and a temporary DATA_DIR. settings are KEY=VALUE
// pairs on top of it (DATABASE_URL, or whatever the test is about).
//
// load is config.Load: testenv takes Gatehouse's constructors as
// arguments rather than importing them, so that every package's own
// tests, models' and config's included, can use it without a cycle.
func Config[C any](t testing.TB, load func(getenv func(string) string, args []string) (C, error), settings ...string) C {
	t.Helper()
	env := map[string]string{
		"DATA_DIR":          t.TempDir(),
		"APP_ENV":           "test",
		"SESSION_SECRET":    strings.Repeat("s", 32),
		"JWT_SECRET":        strings.Repeat("j", 32),
		"ENCRYPTION_KEY":    strings.Repeat("e", 32),
		"ARGON2_MEMORY_KIB": "1024",
		"ARGON2_TIME":       "1",
	}
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cfg, err := load(func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// store is what Store needs of a *models.Store.
type store interface {
	Migrate(ctx context.Context) error
	Close() error
}

// Store opens the database databaseURL names with open (models.Open, with
// DB_TIMEOUT timeout), migrates it, and closes it when the test ends.
func Store[S store](t testing.TB, open func(databaseURL string, timeout time.Duration) (S, error), databaseURL string, timeout time.Duration) S {
	t.Helper()
	s, err := open(databaseURL, timeout)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}
