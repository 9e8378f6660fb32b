package auth

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	"gatehouse/models"
)

// TestRequireRecentAuth: a session whose user proved who they are (a
// login or a re-authentication, its auth_time) within REAUTH_WINDOW
// passes; when the session was opened does not count.
func TestRequireRecentAuth(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "REAUTH_WINDOW=5m")
	now := f.clock.Now()
	at := func(d time.Duration) sql.NullTime { return sql.NullTime{Time: now.Add(-d), Valid: true} }
	cases := []struct {
		name    string
		session *models.Session
		want    error
	}{
		{"a fresh login", &models.Session{CreatedAt: now.Add(-time.Minute), AuthTime: at(time.Minute)}, nil},
		{"at the window's edge", &models.Session{CreatedAt: now.Add(-5 * time.Minute), AuthTime: at(5 * time.Minute)}, nil},
		{"an older login", &models.Session{CreatedAt: now.Add(-6 * time.Minute), AuthTime: at(5*time.Minute + time.Second)}, ErrReauthRequired},
		{"an old session re-authenticated now", &models.Session{CreatedAt: now.Add(-time.Hour), AuthTime: at(0)}, nil},
		{"a new session without auth_time (made before it existed)", &models.Session{CreatedAt: now}, ErrReauthRequired},
		{"no session", nil, ErrReauthRequired},
	}
	for _, tc := range cases {
		err := f.svc.RequireRecentAuth(&Caller{Session: tc.session})
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}
