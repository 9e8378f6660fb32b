package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// addUser stores a user with email and name, failing the test on error.
func addUser(t *testing.T, s *Store, email, name string) *User {
	t.Helper()
	u := &User{Email: email, FullName: name, PasswordHash: "$argon2id$stub", Scopes: "user:read user:write"}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return u
}

func TestCreateUserDuplicate(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		addUser(t, s, "ada@example.com", "Ada")
		cases := []struct{ name, email string }{
			{"the same email", "ada@example.com"},
			{"the same email in capitals", "ADA@EXAMPLE.COM"},
			{"the same email with spaces around it", "  Ada@Example.com\t"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				err := s.CreateUser(ctx, &User{Email: tc.email, FullName: "Other", Scopes: ""})
				if err != ErrEmailTaken {
					t.Errorf("CreateUser(%q): got %v, want %v", tc.email, err, ErrEmailTaken)
				}
			})
		}
		if n, err := s.CountUsers(ctx); err != nil || n != 1 {
			t.Errorf("users: got %d (%v), want 1", n, err)
		}
	})
}

func TestEmailsCanonical(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "  Ada.Lovelace@Example.COM ", "Ada")
		if got, want := ada.Email, "ada.lovelace@example.com"; got != want {
			t.Errorf("stored email: got %v, want %v", got, want)
		}
		for _, lookup := range []string{"ada.lovelace@example.com", "ADA.LOVELACE@EXAMPLE.COM", " Ada.Lovelace@example.com\n"} {
			u, err := s.UserByEmail(ctx, lookup)
			if err != nil || u.ID != ada.ID {
				t.Errorf("UserByEmail(%q): got %v, %v; want user %d", lookup, u, err, ada.ID)
			}
		}
		if _, err := s.UserByEmail(ctx, "ada.lovelace@example.co"); err != ErrNotFound {
			t.Errorf("UserByEmail of a prefix: got %v, want %v", err, ErrNotFound)
		}
	})
}

// TestEmailsCompareExactly checks emails that a case- or accent-insensitive
// collation would merge stay distinct users (utf8mb4_bin on MariaDB).
func TestEmailsCompareExactly(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		pairs := [][2]string{
			{"josé@example.com", "jose@example.com"},
			{"strasse@example.com", "straße@example.com"},
			{"ada@example.com", "ädä@example.com"},
			{"zoe@example.com", "zoë@example.com"},
		}
		for _, p := range pairs {
			t.Run(p[0]+" and "+p[1], func(t *testing.T) {
				a := addUser(t, s, p[0], "A")
				b := addUser(t, s, p[1], "B")
				if a.ID == b.ID {
					t.Fatalf("ids: got the same id %d twice, want two users", a.ID)
				}
				for _, u := range []*User{a, b} {
					got, err := s.UserByEmail(ctx, u.Email)
					if err != nil || got.ID != u.ID {
						t.Errorf("UserByEmail(%q): got %v, %v; want user %d", u.Email, got, err, u.ID)
					}
				}
			})
		}
	})
}

func TestUserByID(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		got, err := s.UserByID(ctx, ada.ID)
		if err != nil || got.Email != "ada@example.com" {
			t.Errorf("UserByID: got %v, %v; want ada", got, err)
		}
		if _, err := s.UserByID(ctx, ada.ID+100); err != ErrNotFound {
			t.Errorf("UserByID of nobody: got %v, want %v", err, ErrNotFound)
		}
	})
}

func TestListUsersSearch(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, u := range []struct{ email, name string }{
			{"ada@example.com", "Ada Lovelace"},
			{"percent%@example.com", "Per Cent"},
			{"under_score@example.com", "Under Score"},
			{"underxscore@example.com", "Under X"},
			{"bang!@example.com", "Bang"},
			{"grace@example.com", "Grace 100% Hopper"},
		} {
			addUser(t, s, u.email, u.name)
		}
		cases := []struct {
			name, q string
			want    []string
		}{
			{"an empty query lists everyone", "", []string{"ada@example.com", "percent%@example.com", "under_score@example.com", "underxscore@example.com", "bang!@example.com", "grace@example.com"}},
			{"spaces alone list everyone", "   ", []string{"ada@example.com", "percent%@example.com", "under_score@example.com", "underxscore@example.com", "bang!@example.com", "grace@example.com"}},
			{"the start of an email", "ada@", []string{"ada@example.com"}},
			{"a word of a name, any case", "LOVELACE", []string{"ada@example.com"}},
			{"a percent sign is literal", "percent%", []string{"percent%@example.com"}},
			{"a percent sign in a name is literal", "100%", []string{"grace@example.com"}},
			{"a percent sign alone starts nothing", "%", nil},
			{"an underscore is literal", "under_", []string{"under_score@example.com"}},
			{"an underscore in the middle of an email is no match", "r_s", nil},
			{"the escape character is literal", "bang!", []string{"bang!@example.com"}},
			{"an escaped-looking pair is literal", "!%", nil},
			{"a backslash matches nothing", `\`, nil},
			{"a quote matches nothing", `'`, nil},
			{"nobody", "zzz", nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				page, err := s.ListUsers(ctx, UserQuery{Q: tc.q, Limit: 50})
				if err != nil {
					t.Fatalf("ListUsers(%q): %v", tc.q, err)
				}
				total := page.Total
				var got []string
				for _, u := range page.Users {
					got = append(got, u.Email)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("ListUsers(%q) (-want +got):\n%s", tc.q, diff)
				}
				if total != int64(len(tc.want)) {
					t.Errorf("total for %q: got %v, want %v", tc.q, total, len(tc.want))
				}
			})
		}
	})
}

func TestListUsersPages(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var ids []uint64
		for i := range 5 {
			ids = append(ids, addUser(t, s, fmt.Sprintf("user%d@example.com", i), "User").ID)
		}
		cases := []struct {
			name          string
			page, perPage int
			want          []uint64
		}{
			{"the first page", 1, 2, ids[0:2]},
			{"the second page", 2, 2, ids[2:4]},
			{"the last, short page", 3, 2, ids[4:5]},
			{"past the end", 4, 2, nil},
			{"one page holding everyone", 1, 10, ids},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				page, err := s.ListUsers(ctx, UserQuery{Offset: (tc.page - 1) * tc.perPage, Limit: tc.perPage})
				if err != nil {
					t.Fatal(err)
				}
				total := page.Total
				var got []uint64
				for _, u := range page.Users {
					got = append(got, u.ID)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("ids (-want +got):\n%s", diff)
				}
				if total != 5 {
					t.Errorf("total: got %v, want %v", total, 5)
				}
			})
		}
	})
}

func TestDisablingEndsSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		bob := addUser(t, s, "bob@example.com", "Bob")
		addSession(t, s, ada.ID, "ada-1")
		addSession(t, s, ada.ID, "ada-2")
		addSession(t, s, bob.ID, "bob-1")

		if err := setDisabled(s, ada.ID, true); err != nil {
			t.Fatalf("disable: %v", err)
		}
		if got, _ := s.UserByID(ctx, ada.ID); !got.Disabled {
			t.Errorf("disabled: got %v, want %v", got.Disabled, true)
		}
		if got := sessionIDs(t, s, ada.ID); len(got) != 0 {
			t.Errorf("ada's sessions after disabling: got %v, want none", got)
		}
		if diff := cmp.Diff([]string{"bob-1"}, sessionIDs(t, s, bob.ID)); diff != "" {
			t.Errorf("bob's sessions (-want +got):\n%s", diff)
		}
		// Disabling twice changes no row; MySQL then reports zero rows
		// affected, which must not read as "no such user".
		if err := setDisabled(s, ada.ID, true); err != nil {
			t.Errorf("disable again: got %v, want none", err)
		}
		if err := setDisabled(s, ada.ID, false); err != nil {
			t.Errorf("enable: got %v, want none", err)
		}
		if got, _ := s.UserByID(ctx, ada.ID); got.Disabled {
			t.Errorf("disabled after enabling: got %v, want %v", got.Disabled, false)
		}
		if err := setDisabled(s, bob.ID+100, true); err != ErrNotFound {
			t.Errorf("disable nobody: got %v, want %v", err, ErrNotFound)
		}
	})
}

func TestSetPasswordHash(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		if err := s.SetPasswordHash(ctx, ada.ID, "$argon2id$new"); err != nil {
			t.Fatalf("SetPasswordHash: %v", err)
		}
		if got, _ := s.UserByID(ctx, ada.ID); got.PasswordHash != "$argon2id$new" {
			t.Errorf("hash: got %q, want %q", got.PasswordHash, "$argon2id$new")
		}
		if err := s.SetPasswordHash(ctx, ada.ID+100, "x"); err != ErrNotFound {
			t.Errorf("SetPasswordHash of nobody: got %v, want %v", err, ErrNotFound)
		}
	})
}

func TestUserView(t *testing.T) {
	t.Parallel()
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	cases := []struct {
		name string
		user User
		want string
	}{
		{"a password user", User{ID: 7, Email: "ada@example.com", FullName: "Ada", PasswordHash: "$argon2id$secret", Scopes: "user:read user:write", CreatedAt: created, EmailVerified: true},
			`{"id":7,"email":"ada@example.com","full_name":"Ada","scopes":["user:read","user:write"],"disabled":false,"created_at":"2025-01-02T02:04:05Z","providers":["password"],"email_verified":true,"mfa":false}`},
		{"a user without password or scopes", User{ID: 8, Email: "bob@example.com", Disabled: true, CreatedAt: created},
			`{"id":8,"email":"bob@example.com","full_name":"","scopes":[],"disabled":true,"created_at":"2025-01-02T02:04:05Z","providers":[],"email_verified":false,"mfa":false}`},
		{"a user with two-factor authentication", User{ID: 9, Email: "cy@example.com", PasswordHash: "$argon2id$secret", MFAEnabled: true, CreatedAt: created},
			`{"id":9,"email":"cy@example.com","full_name":"","scopes":[],"disabled":false,"created_at":"2025-01-02T02:04:05Z","providers":["password"],"email_verified":false,"mfa":true}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tc.user.View())
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("JSON: got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCreateUserCancelled(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.CreateUser(ctx, &User{Email: "ada@example.com"})
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
			t.Errorf("CreateUser with a cancelled context: got %v, want %v (not a 503 for the client's own hang-up)", err, context.Canceled)
		}
	})
}

// TestCanonicalEmail checks that only spaces around an email are trimmed
// and only A–Z are lower-cased (contract §9): Unicode case mapping would
// merge addresses that are not the same.
func TestCanonicalEmail(t *testing.T) {
	cases := []struct{ name, email, want string }{
		{"ASCII capitals are lower-cased", "Ada.Lovelace@Example.COM", "ada.lovelace@example.com"},
		{"spaces around are trimmed", " \tada@example.com\n", "ada@example.com"},
		{"an email already canonical is kept", "ada@example.com", "ada@example.com"},
		{"a dotted capital I (U+0130) is kept", "ALİCE@example.com", "alİce@example.com"},
		{"a Kelvin sign is not folded onto k", "\u212Aate@example.com", "\u212Aate@example.com"},
		{"accented capitals are kept", "JOSÉ@example.com", "josÉ@example.com"},
		{"a capital sharp s is kept", "STRAẞE@example.com", "straẞe@example.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CanonicalEmail(tc.email); got != tc.want {
				t.Errorf("CanonicalEmail(%q): got %q, want %q", tc.email, got, tc.want)
			}
		})
	}
}

// TestEmailsFoldOnlyASCII checks that an address differing from another
// only in a non-ASCII capital is another user, and finds only itself.
func TestEmailsFoldOnlyASCII(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := addUser(t, s, "alice@example.com", "Alice")
		other := addUser(t, s, "ALİCE@example.com", "Other")
		if alice.ID == other.ID || other.Email != "alİce@example.com" {
			t.Fatalf("got %+v and %+v, want two users", alice, other)
		}
		for lookup, want := range map[string]uint64{"ALICE@example.com": alice.ID, "ALİCE@example.com": other.ID, "alİce@example.com": other.ID} {
			u, err := s.UserByEmail(ctx, lookup)
			if err != nil || u.ID != want {
				t.Errorf("UserByEmail(%q): got %v, %v; want user %d", lookup, u, err, want)
			}
		}
		if _, err := s.UserByEmail(ctx, "ali\u0307ce@example.com"); err != ErrNotFound {
			t.Errorf("UserByEmail of strings.ToLower's spelling: got %v, want %v", err, ErrNotFound)
		}
	})
}

// setDisabled disables or enables a user the one way there is:
// ApplyUserChanges.
func setDisabled(s *Store, id uint64, disabled bool) error {
	_, err := s.ApplyUserChanges(context.Background(), id, UserChanges{Disabled: &disabled})
	return err
}

// BenchmarkListUsersSearch searches 10,000 users by part of an email or name.
func BenchmarkListUsersSearch(b *testing.B) {
	s := openTestStore(b)
	ctx := context.Background()
	users := make([]User, 0, 10000)
	for i := range 10000 {
		users = append(users, User{Email: fmt.Sprintf("user%05d@example.com", i), FullName: fmt.Sprintf("Person %d", i), Scopes: "user:read"})
	}
	if err := s.db.CreateInBatches(&users, 500).Error; err != nil {
		b.Fatal(err)
	}
	if err := insertTerms(s.db, users); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		page, err := s.ListUsers(ctx, UserQuery{Q: "user012", Limit: 20})
		if err != nil || page.Total != 100 || len(page.Users) != 20 {
			b.Fatal(err, page.Total, len(page.Users))
		}
	}
}
