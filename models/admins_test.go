package models

import (
	"context"
	"errors"
	"fmt"
	"testing"

	mysqldriver "github.com/go-sql-driver/mysql"

	"gatehouse/internal/testenv"
)

// addAccount creates a user with these scopes, disabled or not, without
// going through the last-administrator rule (a test's starting state).
func addAccount(t *testing.T, s *Store, email, scopes string, disabled bool) *User {
	t.Helper()
	u := &User{Email: email, FullName: email, PasswordHash: "$argon2id$stub", Scopes: scopes}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	if disabled {
		if err := s.db.Model(&User{}).Where("id = ?", u.ID).Update("disabled", true).Error; err != nil {
			t.Fatalf("disable %s: %v", email, err)
		}
		u.Disabled = true
	}
	return u
}

const allScopes = "user:read user:write admin:read admin:write"

func TestLastAdmin(t *testing.T) {
	strPtr := func(s string) *string { return &s }
	yes, no := true, false
	type users map[string]*User
	cases := []struct {
		name   string
		accts  []struct{ email, scopes string } // the enabled users; off@ is always there, a disabled administrator
		change func(s *Store, u users) error
		want   error // nil, ErrLastAdmin or ErrNotFound
	}{
		{"disabling one of two administrators is allowed",
			accounts("root@example.com", allScopes, "ann@example.com", "admin:write"),
			func(s *Store, u users) error {
				return setDisabled(s, u["ann@example.com"].ID, true)
			}, nil},
		{"disabling the only enabled administrator is refused (a disabled one does not count)",
			accounts("root@example.com", allScopes, "bob@example.com", "user:read user:write"),
			func(s *Store, u users) error {
				return setDisabled(s, u["root@example.com"].ID, true)
			}, ErrLastAdmin},
		{"disabling the only administrator through ApplyUserChanges is refused",
			accounts("root@example.com", allScopes),
			func(s *Store, u users) error {
				_, err := s.ApplyUserChanges(context.Background(), u["root@example.com"].ID, UserChanges{Disabled: &yes})
				return err
			}, ErrLastAdmin},
		{"taking admin:write from the only administrator is refused",
			accounts("root@example.com", allScopes, "bob@example.com", "admin:read"),
			func(s *Store, u users) error {
				_, err := s.ApplyUserChanges(context.Background(), u["root@example.com"].ID, UserChanges{Scopes: strPtr("user:read admin:read")})
				return err
			}, ErrLastAdmin},
		{"a scope that merely contains admin:write does not count as one",
			accounts("root@example.com", allScopes, "eve@example.com", "xadmin:write admin:writer"),
			func(s *Store, u users) error {
				_, err := s.ApplyUserChanges(context.Background(), u["root@example.com"].ID, UserChanges{Scopes: strPtr("")})
				return err
			}, ErrLastAdmin},
		{"the only administrator may drop every other scope",
			accounts("root@example.com", allScopes),
			func(s *Store, u users) error {
				_, err := s.ApplyUserChanges(context.Background(), u["root@example.com"].ID, UserChanges{Scopes: strPtr("admin:write")})
				return err
			}, nil},
		{"the only administrator may be renamed and stay enabled",
			accounts("root@example.com", allScopes),
			func(s *Store, u users) error {
				_, err := s.ApplyUserChanges(context.Background(), u["root@example.com"].ID, UserChanges{FullName: strPtr("Root"), Disabled: &no})
				return err
			}, nil},
		{"demoting one administrator while another keeps admin:write is allowed",
			accounts("root@example.com", allScopes, "ann@example.com", allScopes),
			func(s *Store, u users) error {
				_, err := s.ApplyUserChanges(context.Background(), u["root@example.com"].ID, UserChanges{Scopes: strPtr("admin:read")})
				return err
			}, nil},
		{"when nobody holds admin:write already, other users may still be disabled",
			accounts("bob@example.com", "user:read"),
			func(s *Store, u users) error {
				return setDisabled(s, u["bob@example.com"].ID, true)
			}, nil},
		{"disabling a user who is not there is still not found",
			accounts("root@example.com", allScopes),
			func(s *Store, u users) error {
				return setDisabled(s, u["root@example.com"].ID+100, true)
			}, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, s *Store) {
				ctx := context.Background()
				u := users{"off@example.com": addAccount(t, s, "off@example.com", allScopes, true)}
				for _, a := range tc.accts {
					u[a.email] = addAccount(t, s, a.email, a.scopes, false)
					addSession(t, s, u[a.email].ID, "s-"+a.email)
				}
				err := tc.change(s, u)
				if !errors.Is(err, tc.want) {
					t.Fatalf("change: got %v, want %v", err, tc.want)
				}
				if tc.want != ErrLastAdmin {
					return
				}
				// Refused means nothing changed: not the row, not the sessions.
				for _, a := range tc.accts {
					got, err := s.UserByID(ctx, u[a.email].ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.Disabled || got.Scopes != a.scopes {
						t.Errorf("%s after a refused change: disabled %v, scopes %q; want enabled, %q", a.email, got.Disabled, got.Scopes, a.scopes)
					}
					if ids := sessionIDs(t, s, got.ID); len(ids) != 1 {
						t.Errorf("%s's sessions after a refused change: got %v, want one", a.email, ids)
					}
				}
			})
		})
	}
}

// accounts pairs emails with scopes for TestLastAdmin's table.
func accounts(pairs ...string) []struct{ email, scopes string } {
	var out []struct{ email, scopes string }
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, struct{ email, scopes string }{pairs[i], pairs[i+1]})
	}
	return out
}

// TestLastAdminConcurrent starts two changes at once, each taking away one
// of the only two administrators: one must succeed and the other be
// refused, whatever the interleaving, on both databases.
func TestLastAdminConcurrent(t *testing.T) {
	demote := func(s *Store, id uint64) error {
		scopes := "admin:read"
		_, err := s.ApplyUserChanges(context.Background(), id, UserChanges{Scopes: &scopes})
		return err
	}
	disable := func(s *Store, id uint64) error { return setDisabled(s, id, true) }
	cases := []struct {
		name         string
		first, other func(s *Store, id uint64) error
	}{
		{"both demote", demote, demote},
		{"both disable", disable, disable},
		{"one demotes while the other disables", demote, disable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, s *Store) {
				for round := range 10 {
					a := addAccount(t, s, fmt.Sprintf("a%d@example.com", round), allScopes, false)
					b := addAccount(t, s, fmt.Sprintf("b%d@example.com", round), allScopes, false)
					if round > 0 { // the previous round's survivor steps aside
						if err := s.db.Model(&User{}).Where("email LIKE ? OR email LIKE ?", fmt.Sprintf("a%d@%%", round-1), fmt.Sprintf("b%d@%%", round-1)).
							Update("disabled", true).Error; err != nil {
							t.Fatal(err)
						}
					}
					errs := make([]error, 2)
					steps := []func() error{func() error { return tc.first(s, b.ID) }, func() error { return tc.other(s, a.ID) }}
					testenv.FanOut(len(steps), func(i int) { errs[i] = steps[i]() })
					refused := lastAdminRefusals(t, round, errs)
					if refused != 1 {
						t.Fatalf("round %d: %d of 2 changes refused (%v), want exactly 1", round, refused, errs)
					}
					left, err := s.AdminWriters(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					if len(left) != 1 {
						t.Fatalf("round %d: %d enabled admin:write holders left, want 1", round, len(left))
					}
				}
			})
		})
	}
}

func TestRolledBack(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"MySQL's deadlock error", &mysqldriver.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"}, true},
		{"a wrapped deadlock error", fmt.Errorf("update user: %w", &mysqldriver.MySQLError{Number: 1213}), true},
		{"a lock wait timeout", &mysqldriver.MySQLError{Number: 1205}, true},
		{"a duplicate key is not run again", &mysqldriver.MySQLError{Number: 1062}, false},
		{"a Galera node outside the primary component: nothing ran", &mysqldriver.MySQLError{Number: 1047}, true},
		{"a lost connection is not run again: the commit may have happened", mysqldriver.ErrInvalidConn, false},
		{"the last-administrator refusal", ErrLastAdmin, false},
		{"no error", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := rolledBack(tc.err); got != tc.want {
				t.Errorf("rolledBack(%v): got %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// lastAdminRefusals says how many of errs, the answers of one round of
// concurrent admin changes, were refused with ErrLastAdmin; any other
// error fails the test.
func lastAdminRefusals(t testing.TB, round int, errs []error) int {
	t.Helper()
	refused := 0
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, ErrLastAdmin):
			refused++
		default:
			t.Fatalf("round %d: got %v, want success or %v", round, err, ErrLastAdmin)
		}
	}
	return refused
}
