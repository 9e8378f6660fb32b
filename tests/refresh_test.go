package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/config"
	"gatehouse/internal/testenv"
)

// refresh exchanges a refresh token at POST /api/token (a form, as RFC
// 6749 has it) and returns the response; scope, when given, narrows.
func (c *client) refresh(refreshToken string, scope ...string) *response {
	c.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	if len(scope) > 0 {
		form.Set("scope", strings.Join(scope, " "))
	}
	return c.post("/api/token", form)
}

// refreshOK is refresh that must succeed; it returns the new tokens.
func (c *client) refreshOK(refreshToken string, scope ...string) token {
	c.t.Helper()
	var tok token
	c.refresh(refreshToken, scope...).wantStatus(c.t, http.StatusOK).decode(c.t, &tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "bearer" {
		c.t.Fatalf("refresh answered %+v, want a new access token and a new refresh token", tok)
	}
	return tok
}

// refreshDenied is refresh that must fail with 400 invalid_grant.
func (c *client) refreshDenied(refreshToken string) {
	c.t.Helper()
	c.refresh(refreshToken).wantProblem(c.t, http.StatusBadRequest, "invalid_grant")
}

// currentSession is the id of the session an access token rides on.
func currentSession(t *testing.T, c *client, accessToken string) string {
	t.Helper()
	for _, s := range c.sessions(bearer(accessToken)) {
		if s.Current {
			return s.ID
		}
	}
	t.Fatalf("no current session for the token")
	return ""
}

// securityLog is the kinds of the user's security log, newest first, read
// from a fresh login.
func securityLog(t *testing.T, a *app, email, password string) []string {
	t.Helper()
	c := a.client(t)
	tok := c.loginAPI(email, password)
	var log eventsBody
	c.get("/api/me/events?limit=100", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &log)
	return eventKinds(log.Items)
}

func TestRefreshToken(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)

		t.Run("a login answers a refresh token of 256 bits", func(t *testing.T) {
			tok := app.client(t).loginAPI("ada@example.com", goodPassword)
			if len(tok.RefreshToken) != 43 { // 32 bytes, base64url without padding
				t.Errorf("refresh_token = %q, want 43 characters (256 bits)", tok.RefreshToken)
			}
			other := app.client(t).loginAPI("ada@example.com", goodPassword)
			if other.RefreshToken == tok.RefreshToken {
				t.Errorf("two logins got the same refresh token")
			}
		})

		t.Run("a refresh rotates both tokens and spends the old refresh token", func(t *testing.T) {
			c := app.client(t)
			login := c.loginAPI("ada@example.com", goodPassword)
			api := app.client(t) // no cookie: only the tokens speak
			resp := api.refresh(login.RefreshToken).wantStatus(t, http.StatusOK)
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("a refresh set a cookie: %q", resp.Header.Get("Set-Cookie"))
			}
			var next token
			resp.decode(t, &next)
			if next.AccessToken == login.AccessToken || next.RefreshToken == login.RefreshToken || next.RefreshToken == "" {
				t.Fatalf("refresh answered %+v, want new tokens", next)
			}
			if next.Scope != login.Scope || next.ExpiresIn != login.ExpiresIn {
				t.Errorf("refresh answered scope %q, expires_in %d; want %q, %d as the login", next.Scope, next.ExpiresIn, login.Scope, login.ExpiresIn)
			}
			if me := api.me(bearer(next.AccessToken)); me.Email != "ada@example.com" {
				t.Errorf("the new access token is %+v, want ada", me)
			}
			// The new refresh token goes on; the login's one is spent.
			third := api.refreshOK(next.RefreshToken)
			api.get("/api/me", bearer(third.AccessToken)).wantStatus(t, http.StatusOK)
			// The same session all along: a refresh opens none.
			if got, want := currentSession(t, api, third.AccessToken), currentSession(t, api, login.AccessToken); got != want {
				t.Errorf("the refreshed token rides on session %q, want the login's %q", got, want)
			}
		})

		t.Run("JSON bodies are read as well as forms", func(t *testing.T) {
			login := app.client(t).loginAPI("ada@example.com", goodPassword)
			var next token
			app.client(t).post("/api/token", map[string]string{"grant_type": "refresh_token", "refresh_token": login.RefreshToken}).
				wantStatus(t, http.StatusOK).decode(t, &next)
			app.client(t).post("/api/token", multipartForm(map[string]string{"grant_type": "refresh_token", "refresh_token": next.RefreshToken})).
				wantStatus(t, http.StatusOK)
		})

		t.Run("a narrower scope narrows the access token, never the session", func(t *testing.T) {
			c := app.client(t)
			login := c.loginAPI("ada@example.com", goodPassword)
			narrow := c.refreshOK(login.RefreshToken, "user:read")
			if narrow.Scope != "user:read" {
				t.Errorf("scope = %q, want user:read", narrow.Scope)
			}
			c.post("/api/posts", map[string]string{"title": "t", "body": "b"}, bearer(narrow.AccessToken)).
				wantProblem(t, http.StatusForbidden, "insufficient_scope")
			wider := c.refreshOK(narrow.RefreshToken, "user:read", "admin:write")
			if wider.Scope != "user:read" {
				t.Errorf("asking for a scope the session lacks: scope = %q, want user:read", wider.Scope)
			}
			// Without scope, the session's whole grant again (RFC 6749 §6).
			if again := c.refreshOK(wider.RefreshToken); again.Scope != "user:read user:write" {
				t.Errorf("scope = %q, want the session's user:read user:write", again.Scope)
			}
		})

		t.Run("a scope that leaves the token with none is invalid_scope, and spends nothing", func(t *testing.T) {
			c := app.client(t)
			login := c.loginAPI("ada@example.com", goodPassword, "user:read")
			for _, scope := range []string{"no:such", "admin:write", "openid"} {
				c.refresh(login.RefreshToken, scope).wantProblem(t, http.StatusBadRequest, "invalid_scope")
			}
			c.refreshOK(login.RefreshToken) // still unspent
		})

		t.Run("a login with fewer scopes cannot refresh into more", func(t *testing.T) {
			c := app.client(t)
			login := c.loginAPI("ada@example.com", goodPassword, "user:read")
			if got := c.refreshOK(login.RefreshToken, "user:read", "user:write").Scope; got != "user:read" {
				t.Errorf("scope = %q, want user:read (the session's)", got)
			}
		})
	})
}

func TestRefreshTokenReuse(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		login := c.loginAPI("ada@example.com", goodPassword)
		next := c.refreshOK(login.RefreshToken)
		c.get("/api/me", bearer(next.AccessToken)).wantStatus(t, http.StatusOK)

		thief := app.client(t)
		thief.refreshDenied(login.RefreshToken)

		// The whole session ended: the new access token, the new refresh
		// token, the login's access token and its cookie.
		c.get("/api/me", bearer(next.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		c.get("/api/me", bearer(login.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		c.get("/api/me").wantProblem(t, http.StatusUnauthorized, "not_authenticated")
		c.refreshDenied(next.RefreshToken)

		kinds := securityLog(t, app, "ada@example.com", goodPassword)
		if n := countOf(kinds, "refresh_token_reused"); n != 1 {
			t.Errorf("security log = %v, want one refresh_token_reused", kinds)
		}
		// Presenting it yet again, with the session gone, writes nothing more.
		thief.refreshDenied(login.RefreshToken)
		if n := countOf(securityLog(t, app, "ada@example.com", goodPassword), "refresh_token_reused"); n != 1 {
			t.Errorf("a second reuse after the session ended logged again: %d events", n)
		}
		if !strings.Contains(app.logs.String(), "refresh token reused") {
			t.Errorf("the server log does not mention the reuse")
		}
		if strings.Contains(app.logs.String(), login.RefreshToken) {
			t.Errorf("the server log holds a refresh token")
		}
	})
}

func countOf(kinds []string, kind string) int {
	n := 0
	for _, k := range kinds {
		if k == kind {
			n++
		}
	}
	return n
}

// Several clients presenting one refresh token at once: exactly one gets
// new tokens. The others have presented a token that is, by then, spent —
// which is what a thief racing its owner looks like — so the session
// ends, and the winner's new tokens with it (docs/behaviour.md: "Refresh tokens").
func TestRefreshTokenRace(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		const n = 8
		for round := range 3 {
			login := app.client(t).loginAPI("ada@example.com", goodPassword)
			var won, lost atomic.Int32
			var winner atomic.Value
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {login.RefreshToken}}.Encode()
			testenv.FanOut(n, func(int) {
				resp, err := http.Post(app.URL+"/api/token", "application/x-www-form-urlencoded", strings.NewReader(form))
				if err != nil {
					t.Errorf("POST /api/token: %v", err)
					return
				}
				defer resp.Body.Close()
				var body struct {
					Error       string `json:"error"`
					AccessToken string `json:"access_token"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&body)
				switch {
				case resp.StatusCode == http.StatusOK:
					won.Add(1)
					winner.Store(body.AccessToken)
				case resp.StatusCode == http.StatusBadRequest && body.Error == "invalid_grant":
					lost.Add(1)
				default:
					t.Errorf("round %d: status %d, error %q; want 200 or 400 invalid_grant", round, resp.StatusCode, body.Error)
				}
			})
			if won.Load() != 1 || lost.Load() != n-1 {
				t.Fatalf("round %d: %d won, %d lost; want exactly 1 and %d", round, won.Load(), lost.Load(), n-1)
			}
			app.client(t).get("/api/me", bearer(winner.Load().(string))).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		}
		if got := countOf(securityLog(t, app, "ada@example.com", goodPassword), "refresh_token_reused"); got != 3 {
			t.Errorf("%d refresh_token_reused events, want one per race (3)", got)
		}
	})
}

// A refresh token dies with its session, however the session ends.
func TestRefreshTokenEndsWithSession(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		app.createUser(t, "bob@example.com", goodPassword)

		t.Run("logout", func(t *testing.T) {
			c := app.client(t)
			login := c.loginAPI("ada@example.com", goodPassword)
			app.client(t).post("/api/logout", nil, bearer(login.AccessToken)).wantStatus(t, http.StatusOK)
			c.refreshDenied(login.RefreshToken)
		})

		t.Run("revoking the session", func(t *testing.T) {
			target := app.client(t).loginAPI("ada@example.com", goodPassword)
			other := app.client(t)
			otherTok := other.loginAPI("ada@example.com", goodPassword)
			id := currentSession(t, app.client(t), target.AccessToken)
			other.post("/api/me/sessions/"+id+"/revoke", nil, bearer(otherTok.AccessToken)).wantStatus(t, http.StatusOK)
			other.refreshDenied(target.RefreshToken)
			other.refreshOK(otherTok.RefreshToken)
		})

		t.Run("revoking the others", func(t *testing.T) {
			target := app.client(t).loginAPI("ada@example.com", goodPassword)
			other := app.client(t)
			otherTok := other.loginAPI("ada@example.com", goodPassword)
			other.post("/api/me/sessions/revoke-others", nil, bearer(otherTok.AccessToken)).wantStatus(t, http.StatusOK)
			other.refreshDenied(target.RefreshToken)
		})

		t.Run("disabling the user", func(t *testing.T) {
			c := app.client(t)
			login := c.loginAPI("bob@example.com", goodPassword)
			if err := app.auth.SetDisabled(context.Background(), "bob@example.com", true); err != nil {
				t.Fatal(err)
			}
			c.refreshDenied(login.RefreshToken)
			// Enabled again, the old token stays dead: its session ended.
			if err := app.auth.SetDisabled(context.Background(), "bob@example.com", false); err != nil {
				t.Fatal(err)
			}
			c.refreshDenied(login.RefreshToken)
		})

		t.Run("a password change", func(t *testing.T) {
			c := app.client(t)
			login := c.loginAPI("ada@example.com", goodPassword)
			elsewhere := app.client(t).loginAPI("ada@example.com", goodPassword)
			var changed struct {
				Detail string `json:"detail"`
				token
			}
			app.client(t).post("/api/me/password", map[string]string{"current_password": goodPassword, "new_password": newPassword},
				bearer(login.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &changed)
			c.refreshDenied(login.RefreshToken)     // the caller's session moved to a new id
			c.refreshDenied(elsewhere.RefreshToken) // every other session ended
			if changed.RefreshToken == "" {
				t.Fatalf("the password change answered %+v, want a new refresh token for the moved session", changed)
			}
			c.refreshOK(changed.RefreshToken)
		})
	})
}

// The injected clock moves; a refresh token lives REFRESH_TOKEN_TTL and
// never past its session's SESSION_MAX_AGE or idle timeout.
func TestRefreshTokenExpiry(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		t.Run("REFRESH_TOKEN_TTL", func(t *testing.T) {
			app := newApp(t, db, func(c *config.Config) {
				c.RefreshTokenTTL = time.Hour
				c.SessionIdleTimeout = 4 * time.Hour
			})
			app.createUser(t, "ada@example.com", goodPassword)
			browser := app.client(t)
			login := browser.loginAPI("ada@example.com", goodPassword)
			c := app.client(t) // no cookie: only the tokens speak
			app.clock.Advance(59 * time.Minute)
			next := c.refreshOK(login.RefreshToken) // lives another hour from now
			app.clock.Advance(59 * time.Minute)
			last := c.refreshOK(next.RefreshToken)
			app.clock.Advance(time.Hour)
			c.refreshDenied(last.RefreshToken)
			// Expired is not reuse: the session lives on.
			browser.get("/api/me").wantStatus(t, http.StatusOK)
		})

		t.Run("SESSION_MAX_AGE caps the tokens and is never extended", func(t *testing.T) {
			app := newApp(t, db, func(c *config.Config) {
				c.SessionMaxAge = 2 * time.Hour
				c.SessionIdleTimeout = 2 * time.Hour
				c.RefreshTokenTTL = 12 * time.Hour
			})
			app.createUser(t, "ada@example.com", goodPassword)
			login := app.client(t).loginAPI("ada@example.com", goodPassword)
			c := app.client(t) // no cookie: only the tokens speak
			app.clock.Advance(time.Hour + 50*time.Minute)
			next := c.refreshOK(login.RefreshToken)
			if next.ExpiresIn != int((10 * time.Minute).Seconds()) {
				t.Errorf("expires_in = %d, want 600: the access token ends with its session", next.ExpiresIn)
			}
			app.clock.Advance(10 * time.Minute)
			c.refreshDenied(next.RefreshToken)
		})

		t.Run("the idle timeout: a refresh is activity", func(t *testing.T) {
			app := newApp(t, db, func(c *config.Config) {
				c.SessionIdleTimeout = 30 * time.Minute
			})
			app.createUser(t, "ada@example.com", goodPassword)
			tok := app.client(t).loginAPI("ada@example.com", goodPassword)
			c := app.client(t) // no cookie: only the tokens speak
			// Two hours, refreshing every 25 minutes: never idle.
			for range 4 {
				app.clock.Advance(25 * time.Minute)
				tok = c.refreshOK(tok.RefreshToken)
			}
			app.clock.Advance(31 * time.Minute)
			c.refreshDenied(tok.RefreshToken)
		})
	})
}

func TestRefreshTokenBadInput(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		login := app.client(t).loginAPI("ada@example.com", goodPassword)
		unknown := strings.Repeat("A", 43)

		cases := []struct {
			name   string
			body   any
			status int
			code   string
			field  string
		}{
			{"no body at all", nil, http.StatusUnprocessableEntity, "invalid_input", "grant_type"},
			{"no grant_type", formOf("refresh_token", login.RefreshToken), http.StatusUnprocessableEntity, "invalid_input", "grant_type"},
			{"no refresh_token", formOf("grant_type", "refresh_token"), http.StatusUnprocessableEntity, "invalid_input", "refresh_token"},
			{"no refresh_token in JSON", `{"grant_type": "refresh_token"}`, http.StatusUnprocessableEntity, "invalid_input", "refresh_token"},
			{"the password grant", formOf("grant_type", "password", "username", "ada@example.com", "password", goodPassword), http.StatusBadRequest, "unsupported_grant_type", ""},
			{"another grant in JSON", `{"grant_type": "authorization_code", "code": "x"}`, http.StatusBadRequest, "unsupported_grant_type", ""},
			{"a grant type in other case", formOf("grant_type", "REFRESH_TOKEN", "refresh_token", login.RefreshToken), http.StatusBadRequest, "unsupported_grant_type", ""},
			{"an unknown token", formOf("grant_type", "refresh_token", "refresh_token", unknown), http.StatusBadRequest, "invalid_grant", ""},
			{"a token too short", formOf("grant_type", "refresh_token", "refresh_token", "abc"), http.StatusBadRequest, "invalid_grant", ""},
			{"a token that is not base64url", formOf("grant_type", "refresh_token", "refresh_token", strings.Repeat("*", 43)), http.StatusBadRequest, "invalid_grant", ""},
			{"a huge token", formOf("grant_type", "refresh_token", "refresh_token", strings.Repeat("A", 60000)), http.StatusBadRequest, "invalid_grant", ""},
			{"the access token instead", formOf("grant_type", "refresh_token", "refresh_token", login.AccessToken), http.StatusBadRequest, "invalid_grant", ""},
			{"a token that is a number", `{"grant_type": "refresh_token", "refresh_token": 5}`, http.StatusBadRequest, "bad_request", ""},
			{"malformed JSON", `{"grant_type": "refresh_token", "refresh_token": "`, http.StatusBadRequest, "bad_request", ""},
			{"trailing data after the JSON", `{"grant_type": "refresh_token", "refresh_token": "` + unknown + `"} {}`, http.StatusBadRequest, "bad_request", ""},
			{"a body over 64 KiB", formOf("grant_type", "refresh_token", "refresh_token", strings.Repeat("A", 70_000)), http.StatusRequestEntityTooLarge, "payload_too_large", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := app.client(t).post("/api/token", tc.body).wantProblem(t, tc.status, tc.code)
				if tc.field != "" && p.Fields[tc.field] == "" {
					t.Errorf("fields = %v, want a message for %s", p.Fields, tc.field)
				}
			})
		}
		t.Run("a body type it does not read", func(t *testing.T) {
			resp := app.client(t).do(http.MethodPost, "/api/token", multipartBody{reader: strings.NewReader("x"), contentType: "text/plain"})
			resp.wantProblem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		})
		t.Run("GET is not allowed", func(t *testing.T) {
			resp := app.client(t).get("/api/token")
			resp.wantProblem(t, http.StatusMethodNotAllowed, "method_not_allowed")
		})
		t.Run("from another site", func(t *testing.T) {
			app.client(t).post("/api/token", formOf("grant_type", "refresh_token", "refresh_token", login.RefreshToken),
				header{"Sec-Fetch-Site", "cross-site"}).wantProblem(t, http.StatusForbidden, "cross_site_request")
		})
		// None of it spent the login's refresh token or ended its session.
		app.client(t).refreshOK(login.RefreshToken)
		if kinds := securityLog(t, app, "ada@example.com", goodPassword); slices.Contains(kinds, "refresh_token_reused") {
			t.Errorf("bad input was taken for reuse: %v", kinds)
		}
	})
}

// A token that cannot be one Gatehouse issued is refused without asking
// the database: a flood of junk costs no queries. With the database gone,
// junk still gets 400 while a well-formed token needs the database (503).
func TestRefreshTokenJunkCostsNoQuery(t *testing.T) {
	app := newApp(t, sqliteDB)
	if err := app.store.Close(); err != nil {
		t.Fatal(err)
	}
	c := app.client(t)
	c.refreshDenied("not-a-token")
	c.refresh(strings.Repeat("A", 43)).wantProblem(t, http.StatusServiceUnavailable, "unavailable")
}

// The server metadata names /api/login the token endpoint for both of its
// grants, so an RFC 8414 client sends the refresh grant there: it is
// served as /api/token serves it.
func TestRefreshTokenAtTheLoginEndpoint(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		login := app.client(t).loginAPI("ada@example.com", goodPassword)
		api := app.client(t)
		var next token
		resp := api.post("/api/login", formOf("grant_type", "refresh_token", "refresh_token", login.RefreshToken)).wantStatus(t, http.StatusOK)
		resp.decode(t, &next)
		if next.RefreshToken == "" || next.RefreshToken == login.RefreshToken || resp.Header.Get("Set-Cookie") != "" {
			t.Fatalf("refresh at /api/login answered %+v (Set-Cookie %q), want new tokens and no cookie", next, resp.Header.Get("Set-Cookie"))
		}
		api.post("/api/login", map[string]string{"grant_type": "refresh_token", "refresh_token": next.RefreshToken}).wantStatus(t, http.StatusOK)
		api.post("/api/login", formOf("grant_type", "refresh_token", "refresh_token", login.RefreshToken)).
			wantProblem(t, http.StatusBadRequest, "invalid_grant")
		// That was reuse: the session has ended.
		api.get("/api/me", bearer(next.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
	})
}
