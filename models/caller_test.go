package models

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"gatehouse/internal/testenv"
)

// TestSessionWithUser checks the one-query read behind every
// authenticated request: the session, its user and the user's linked
// providers, found by token hash or public id, and nothing once the
// session is gone.
func TestSessionWithUser(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		if err := s.CreateIdentity(ctx, &Identity{UserID: ada.ID, Provider: "github", Subject: "1", Email: "ada@example.com"}); err != nil {
			t.Fatal(err)
		}
		want := addSession(t, s, ada.ID, "ada-1")
		// The columns of contract §7 come in the same query: auth_time and mfa_enabled.
		authTime := time.Now().UTC().Truncate(time.Millisecond)
		if err := s.SetAuthTime(ctx, want.PublicID, authTime); err != nil {
			t.Fatal(err)
		}
		want.AuthTime = sql.NullTime{Time: authTime, Valid: true}
		if err := s.SetPendingTOTP(ctx, ada.ID, []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		if err := s.EnableTOTP(ctx, ada.ID, []byte("sealed"), 1, nil); err != nil {
			t.Fatal(err)
		}
		wantUser, err := s.UserByID(ctx, ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameTime := cmpopts.EquateApproxTime(time.Microsecond) // MySQL keeps microseconds; any zone
		for name, lookup := range map[string]func() (*Session, *User, error){
			"by token hash": func() (*Session, *User, error) { return s.SessionByTokenHash(ctx, want.TokenHash) },
			"by public id": func() (*Session, *User, error) {
				sess, u, _, err := s.SessionByPublicID(ctx, want.PublicID, "")
				return sess, u, err
			},
		} {
			sess, u, err := lookup()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if diff := cmp.Diff(want, sess, sameTime); diff != "" {
				t.Errorf("%s: session (-want +got):\n%s", name, diff)
			}
			if diff := cmp.Diff(wantUser, u, sameTime); diff != "" {
				t.Errorf("%s: user (-want +got):\n%s", name, diff)
			}
			if !u.MFAEnabled || !sess.AuthTime.Valid {
				t.Errorf("%s: mfa_enabled %t, auth_time %v: want both read", name, u.MFAEnabled, sess.AuthTime)
			}
			if got := u.View().Providers; !cmp.Equal(got, []string{"password", "github"}) {
				t.Errorf("%s: providers: got %v, want [password github]", name, got)
			}
		}
		// A write is seen by the very next read: no cache in between.
		if err := s.DeleteSession(ctx, want.PublicID, 0); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.SessionByPublicID(ctx, want.PublicID, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("after the session ended: got %v, want %v", err, ErrNotFound)
		}
		if _, _, err := s.SessionByTokenHash(ctx, want.TokenHash); !errors.Is(err, ErrNotFound) {
			t.Errorf("after the session ended, by hash: got %v, want %v", err, ErrNotFound)
		}
	})
}

// TestSessionWithUserConcurrent reads from many goroutines at once while
// sessions are written, so the read connections are shared (run with
// -race).
func TestSessionWithUserConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		sess := addSession(t, s, ada.ID, "ada-1")
		errs := make([]error, 40)
		testenv.FanOut(len(errs), func(i int) {
			if i%10 == 0 {
				errs[i] = s.TouchSession(ctx, sess.PublicID, base.Add(time.Duration(i)*time.Second))
				return
			}
			_, u, _, err := s.SessionByPublicID(ctx, sess.PublicID, "")
			if err == nil && u.Email != "ada@example.com" {
				err = errors.New("wrong user: " + u.Email)
			}
			errs[i] = err
		})
		for _, err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}

// BenchmarkSessionLookup compares the session-and-user read through its
// statement prepared once (what requests use) with the same SQL through
// GORM, which on SQLite compiles it on every call; on MariaDB too when
// TEST_DATABASE_URL is set.
func BenchmarkSessionLookup(b *testing.B) {
	for _, db := range testenv.Databases(b) {
		b.Run(db, func(b *testing.B) {
			s := testenv.Store(b, Open, testenv.DatabaseURL(b, db, testenv.CaseInsensitive), 0)
			ctx := context.Background()
			u := &User{Email: "ada@example.com", FullName: "Ada", Scopes: "user:read"}
			if err := s.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			sess := &Session{TokenHash: "hash", PublicID: "ada-1", UserID: u.ID, CreatedAt: base, LastSeenAt: base, ExpiresAt: base}
			if err := s.CreateSession(ctx, sess, ""); err != nil {
				b.Fatal(err)
			}
			b.Run("prepared once", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, _, _, err := s.SessionByPublicID(ctx, sess.PublicID, ""); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("through GORM", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					rows, err := s.db.WithContext(ctx).Raw(callerByPublicID, "", sess.PublicID).Rows()
					if err != nil {
						b.Fatal(err)
					}
					rows.Close()
				}
			})
		})
	}
}

// TestMigrateFillsLinkedProviders upgrades a database made before
// users.linked_providers existed: the migration fills the column from the
// identities, and later links and unlinks keep it in step.
func TestMigrateFillsLinkedProviders(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		bob := addUser(t, s, "bob@example.com", "Bob")
		if err := s.db.Exec("ALTER TABLE users DROP COLUMN linked_providers").Error; err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"github", "google"} {
			if err := s.db.Exec("INSERT INTO identities (provider, subject, user_id, email, created_at) VALUES (?, ?, ?, ?, ?)",
				p, "ada-"+p, ada.ID, "ada@example.com", base).Error; err != nil {
				t.Fatal(err)
			}
		}
		asEarlierRelease(t, s)
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		providers := func(id uint64) []string {
			t.Helper()
			u, err := s.UserByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return u.View().Providers
		}
		if got, want := providers(ada.ID), []string{"password", "github", "google"}; !cmp.Equal(got, want) {
			t.Errorf("ada after the upgrade: got %v, want %v", got, want)
		}
		if got, want := providers(bob.ID), []string{"password"}; !cmp.Equal(got, want) {
			t.Errorf("bob after the upgrade: got %v, want %v", got, want)
		}
		if err := s.DeleteIdentity(ctx, ada.ID, "github", func(*User, []Identity) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if got, want := providers(ada.ID), []string{"password", "google"}; !cmp.Equal(got, want) {
			t.Errorf("ada after unlinking github: got %v, want %v", got, want)
		}
		if err := s.CreateIdentity(ctx, &Identity{UserID: bob.ID, Provider: "oidc", Subject: "bob", Email: "bob@example.com"}); err != nil {
			t.Fatal(err)
		}
		if got, want := providers(bob.ID), []string{"password", "oidc"}; !cmp.Equal(got, want) {
			t.Errorf("bob after linking oidc: got %v, want %v", got, want)
		}
	})
}
