package tests

import (
	"net/http"
	"net/url"
	"testing"

	"gatehouse/config"
)

// sameDatabaseAs makes an app a second instance of first: the same
// database and the same public URL (the tokens' issuer), as instances
// behind one load balancer are.
func sameDatabaseAs(first *app) option {
	return func(c *config.Config) {
		c.DatabaseURL = first.cfg.DatabaseURL
		c.BaseURL = first.cfg.BaseURL
	}
}

// TestInstancesShareSessions runs two instances on one database: a
// session opened on one works on the other, and ending it on either ends
// it on the other by the very next request — no instance keeps a copy
// that could let an ended session live on (issue 8).
func TestInstancesShareSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		one := newApp(t, db)
		two := newApp(t, db, sameDatabaseAs(one))
		one.createUser(t, "ada@example.com", goodPassword)

		ends := []struct {
			name string
			end  func(t *testing.T, c *client, tok token)
		}{
			{"logout by token on the first", func(t *testing.T, c *client, tok token) {
				c.post("/api/logout", nil, bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
			}},
			{"logout by cookie on the first", func(t *testing.T, c *client, _ token) {
				c.post("/api/logout", nil).wantStatus(t, http.StatusOK)
			}},
		}
		for _, tc := range ends {
			t.Run(tc.name, func(t *testing.T) {
				onOne := one.client(t)
				tok := onOne.loginAPI("ada@example.com", goodPassword)
				onTwo := two.client(t)
				// Used on the second instance first, so anything it might
				// remember of the token is warm.
				onTwo.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
				tc.end(t, onOne, tok)
				onTwo.get("/api/me", bearer(tok.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
				onOne.get("/api/me", bearer(tok.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
			})
		}

		t.Run("a session revoked on the second ends on the first", func(t *testing.T) {
			onOne := one.client(t)
			tok := onOne.loginAPI("ada@example.com", goodPassword)
			onOne.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
			other := two.client(t)
			otherTok := other.loginAPI("ada@example.com", goodPassword)
			other.post("/api/me/sessions/revoke-others", nil, bearer(otherTok.AccessToken)).wantStatus(t, http.StatusOK)
			onOne.get("/api/me", bearer(tok.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
			onOne.get("/api/me").wantProblem(t, http.StatusUnauthorized, "not_authenticated")
		})

		t.Run("a password changed on one ends the sessions on the other", func(t *testing.T) {
			onOne := one.client(t)
			tok := onOne.loginAPI("ada@example.com", goodPassword)
			onTwo := two.client(t)
			tok2 := onTwo.loginAPI("ada@example.com", goodPassword)
			onOne.get("/api/me", bearer(tok2.AccessToken)).wantStatus(t, http.StatusOK)
			newPassword := goodPassword + " and more"
			onOne.post("/api/me/password", url.Values{"current_password": {goodPassword}, "new_password": {newPassword}},
				bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
			onTwo.get("/api/me", bearer(tok2.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
			onOne.post("/api/me/password", url.Values{"current_password": {newPassword}, "new_password": {goodPassword}},
				bearer(onOne.loginAPI("ada@example.com", newPassword).AccessToken)).wantStatus(t, http.StatusOK)
		})
	})
}
