package models

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestHashParamsOf(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, hash, want string }{
		{"argon2id", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "$argon2id$v=19$m=19456,t=2,p=1"},
		{"bcrypt", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "$2b$12"},
		{"no hash", "", ""},
		{"something else", "plain text", ""},
		{"argon2id cut short", "$argon2id$v=19$m=19456,t=2,p=1", ""},
	}
	for _, tc := range cases {
		if got := HashParamsOf(tc.hash); got != tc.want {
			t.Errorf("%s: HashParamsOf = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestHashParamsAdoptOlderDatabase: a database made before the table
// existed gets the parameters of every stored hash on its first
// migration, so the first failed login after an upgrade already costs the
// slowest of them; recording a set twice keeps one row.
func TestHashParamsAdoptOlderDatabase(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i, hash := range []string{
			"$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
			"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
			"$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0b3RoZXJzYQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
			"",
		} {
			u := &User{Email: string(rune('a'+i)) + "@example.com", FullName: "U", PasswordHash: hash, Scopes: "user:read"}
			if err := s.db.Create(u).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := s.db.Migrator().DropTable(&HashParams{}); err != nil { // as an earlier release left it
			t.Fatal(err)
		}
		asEarlierRelease(t, s)
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		want := []string{"$argon2id$v=19$m=19456,t=2,p=1", "$argon2id$v=19$m=65536,t=3,p=1"}
		if got, err := s.HashParamsInUse(ctx); err != nil || !slices.Equal(got, want) {
			t.Errorf("after adopting: %v (%v), want %v", got, err, want)
		}
		for range 2 {
			if err := s.AddHashParams(ctx, "$argon2id$v=19$m=1024,t=1,p=1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.HashParamsInUse(ctx); len(got) != 3 {
			t.Errorf("after recording one set twice: %v, want 3 sets", got)
		}
	})
}
