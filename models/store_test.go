package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/gorm"

	"gatehouse/internal/testenv"
)

// eachDB runs test once per database (testenv.EachDB), each on a fresh,
// migrated store.
func eachDB(t *testing.T, test func(t *testing.T, s *Store)) {
	t.Helper()
	testenv.EachDB(t, func(t *testing.T, db string) { test(t, newStore(t, db)) })
}

// newStore opens and migrates a fresh database of kind db ("sqlite" or
// "mysql"), dropped or removed when the test ends. A MariaDB database gets
// the case- and accent-insensitive default collation an operator might
// well create it with, so only Migrate's own table options keep emails
// exact.
func newStore(t *testing.T, db string) *Store {
	t.Helper()
	return openOn(t, testenv.DatabaseURL(t, db, testenv.CaseInsensitive))
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, url string
	}{
		{"an unknown scheme", "postgres://gatehouse:hunter2@127.0.0.1:5432/gatehouse"},
		{"no scheme", "data/gatehouse.db"},
		{"an empty URL", ""},
		{"SQLite without a file", "sqlite://"},
		{"SQLite with only a root", "sqlite:///"},
		{"MySQL without a database name", "mysql://gatehouse:hunter2@127.0.0.1:3306"},
		{"MySQL with an empty database name", "mysql://gatehouse:hunter2@127.0.0.1:3306/"},
		{"MySQL without a host", "mysql:///gatehouse"},
		{"MySQL with a parameter the driver refuses", "mysql://gatehouse:hunter2@127.0.0.1:3306/gatehouse?parseTime=sometimes"},
		{"MySQL that does not parse", "mysql://gatehouse:hunter2@[::1/gatehouse"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(tc.url, 0)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q): got no error, want one", tc.url)
			}
			if !strings.Contains(err.Error(), "DATABASE_URL") {
				t.Errorf("Open(%q): got %q, want it to name DATABASE_URL", tc.url, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Open(%q): got %q, want it without the password", tc.url, err)
			}
		})
	}
}

func TestOpenSQLiteCreatesDirectory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a", "b", "gatehouse.db")
	s, err := Open("sqlite://"+path, 0)
	if err != nil {
		t.Fatalf("Open: got %v, want none", err)
	}
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file: got %v, want it created", err)
	}
	if got, want := s.Dialect(), "sqlite"; got != want {
		t.Errorf("Dialect: got %v, want %v", got, want)
	}
}

func TestMigrateTwice(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		if err := s.Migrate(context.Background()); err != nil {
			t.Errorf("second Migrate: got %v, want none (migrations are repeatable)", err)
		}
		if err := s.Ping(context.Background()); err != nil {
			t.Errorf("Ping: got %v, want none", err)
		}
	})
}

func TestFailed(t *testing.T) {
	t.Parallel()
	cause := errors.New("dial tcp 10.0.0.3:3306: connection refused")
	cases := []struct {
		name     string
		err      error
		want     error // errors.Is target; nil for a nil result
		wantKind Kind  // 0 for errors that are not *Error
	}{
		{"no error", nil, nil, 0},
		{"a missing row is not found", gorm.ErrRecordNotFound, ErrNotFound, NotFound},
		{"a wrapped missing row is not found", fmt.Errorf("take: %w", gorm.ErrRecordNotFound), ErrNotFound, NotFound},
		{"a cancelled request stays cancelled", context.Canceled, context.Canceled, 0},
		{"a deadline stays a deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), context.DeadlineExceeded, 0},
		{"anything else is the database failing us", cause, ErrUnavailable, Unavailable},
		{"a closed database is unavailable", sql.ErrConnDone, ErrUnavailable, Unavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := failed("op", tc.err)
			if tc.want == nil {
				if got != nil {
					t.Fatalf("failed: got %v, want nil", got)
				}
				return
			}
			if !errors.Is(got, tc.want) {
				t.Errorf("failed: got %v, want %v", got, tc.want)
			}
			e, ok := AsError(got)
			if tc.wantKind == 0 {
				if ok {
					t.Errorf("failed: got a domain error %v, want %v as it is", e, tc.want)
				}
				return
			}
			if !ok || e.Kind != tc.wantKind {
				t.Errorf("kind: got %v, want %v", e, tc.wantKind)
			}
			if ok && e.Detail != ErrUnavailable.Detail && e.Detail != ErrNotFound.Detail {
				t.Errorf("detail: got %q, want a fixed sentence", e.Detail)
			}
		})
	}
}

// TestClosedDatabase checks every kind of query on a closed pool answers
// ErrUnavailable (503), not ErrNotFound or a raw driver error.
func TestClosedDatabase(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := &User{Email: "ada@example.com", FullName: "Ada", Scopes: "user:read"}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		calls := map[string]error{
			"UserByID":           second(s.UserByID(ctx, u.ID)),
			"UserByEmail":        second(s.UserByEmail(ctx, u.Email)),
			"CreateUser":         s.CreateUser(ctx, &User{Email: "bob@example.com"}),
			"SessionByTokenHash": third(s.SessionByTokenHash(ctx, "x")),
			"ApplyUserChanges":   setDisabled(s, u.ID, true),
			"Ping":               s.Ping(ctx),
		}
		for name, err := range calls {
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("%s: got %v, want %v", name, err, ErrUnavailable)
			}
		}
	})
}

func second[T any](_ T, err error) error { return err }

func third[T, U any](_ T, _ U, err error) error { return err }

func TestErrorIs(t *testing.T) {
	t.Parallel()
	withRetry := *ErrUnavailable
	withRetry.RetryAfter = 42
	cases := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"a sentinel is itself", ErrNotFound, ErrNotFound, true},
		{"a copy with its own Retry-After matches its sentinel", &withRetry, ErrUnavailable, true},
		{"a wrapped copy matches its sentinel", fmt.Errorf("x: %w", &withRetry), ErrUnavailable, true},
		{"another code does not match", ErrNotFound, ErrUnavailable, false},
		{"the same code with another detail matches: errors compare by code alone", &Error{Code: "not_found", Detail: "Gone"}, ErrNotFound, true},
		{"a plain error does not match", errors.New("not_found: Not found"), ErrNotFound, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := errors.Is(tc.err, tc.target); got != tc.want {
				t.Errorf("errors.Is(%v, %v): got %v, want %v", tc.err, tc.target, got, tc.want)
			}
		})
	}
}
