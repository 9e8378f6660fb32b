package auth

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestTimingAfterSettingsChange is the coarse check of contract §9's
// timing rule after ARGON2_* changed while stored hashes still carry the
// old settings (bench/run has the exact one, to 0.5 ms): a wrong password
// for an account on the old settings and an unknown email take about as
// long, whether the settings went up or down. Before, the fastest
// unknown email took a few percent of the fastest wrong password after a
// raise, and the other way round after a lowering.
func TestTimingAfterSettingsChange(t *testing.T) {
	cheap := []string{"ARGON2_MEMORY_KIB=1024", "ARGON2_TIME=1"}
	costly := []string{"ARGON2_MEMORY_KIB=16384", "ARGON2_TIME=2"}
	for _, tc := range []struct {
		name          string
		before, after []string
	}{
		{"raised", cheap, costly},
		{"lowered", costly, cheap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := newFixture(t, tc.before...)
			old.createUser(t, "ada@example.com")
			now := newFixtureOn(t, old.store, old.clock, tc.after...)
			login := func(i int, email string) time.Duration {
				from := Client{IP: "192.0.2." + strconv.Itoa(i), UserAgent: "test"} // under every throttle
				start := time.Now()
				_, err := now.svc.Login(context.Background(), Credentials{Username: email, Password: "wrong password"}, from, nil)
				if !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("login %s: %v, want invalid_credentials", email, err)
				}
				return time.Since(start)
			}
			var unknown, wrong []time.Duration
			for i := range 11 {
				unknown = append(unknown, login(2*i, "nobody@example.com"))
				wrong = append(wrong, login(2*i+1, "ada@example.com"))
			}
			// The fastest of each: a busy machine (CI runs packages side by
			// side, under -race) only ever adds time, so the minimum is what
			// the check itself costs. The two settings differ 30-fold.
			mu, mw := slices.Min(unknown), slices.Min(wrong)
			if ratio := float64(min(mu, mw)) / float64(max(mu, mw)); ratio < 0.5 {
				t.Errorf("fastest failed login: unknown email %v, wrong password %v (ratio %.2f): the time tells them apart", mu, mw, ratio)
			}
		})
	}
}
