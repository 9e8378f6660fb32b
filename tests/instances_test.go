package tests

import (
	"net/http"
	"net/url"
	"strconv"
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
		sessionsEndEverywhere(t, one, two)
	})
}

// sessionsEndEverywhere checks that a session opened on one instance works
// on the other, and that ending it — logout, revocation, a password
// change, the account disabled — on either ends it on the other by the
// very next request.
func sessionsEndEverywhere(t *testing.T, one, two *app) {
	t.Helper()
	one.createUser(t, "ada@example.com", goodPassword)
	one.createUser(t, "root@example.com", goodPassword, withScopes("user:read", "admin:read", "admin:write"))

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
			// Its refresh token died with it, on the other too (§7).
			onTwo.post("/api/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}).
				wantProblem(t, http.StatusBadRequest, "invalid_grant")
		})
	}

	t.Run("a refresh token spent on one is reuse on the other", func(t *testing.T) {
		onOne := one.client(t)
		tok := onOne.loginAPI("ada@example.com", goodPassword)
		grant := func(refresh string) url.Values {
			return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
		}
		var next token
		onOne.post("/api/token", grant(tok.RefreshToken)).wantStatus(t, http.StatusOK).decode(t, &next)
		onTwo := two.client(t)
		onTwo.get("/api/me", bearer(next.AccessToken)).wantStatus(t, http.StatusOK)
		onTwo.post("/api/token", grant(tok.RefreshToken)).wantProblem(t, http.StatusBadRequest, "invalid_grant")
		// Reuse ended the whole session, on both.
		onOne.get("/api/me", bearer(next.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		onTwo.post("/api/token", grant(next.RefreshToken)).wantProblem(t, http.StatusBadRequest, "invalid_grant")
	})

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

	t.Run("an account disabled on one cannot log in or use its sessions on the other", func(t *testing.T) {
		bob := one.createUser(t, "bob@example.com", goodPassword)
		onTwo := two.client(t)
		tok := onTwo.loginAPI("bob@example.com", goodPassword)
		onTwo.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
		root := one.client(t).loginAPI("root@example.com", goodPassword)
		one.client(t).patch("/api/users/"+strconv.FormatUint(bob.ID, 10), map[string]any{"disabled": true},
			bearer(root.AccessToken)).wantStatus(t, http.StatusOK)
		onTwo.get("/api/me", bearer(tok.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		two.client(t).post("/api/login", url.Values{"username": {"bob@example.com"}, "password": {goodPassword}}).
			wantProblem(t, http.StatusForbidden, "inactive_user")
	})
}
