package tests

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSessionLifetime: a session ends after SESSION_IDLE_TIMEOUT of
// inactivity or SESSION_MAX_AGE in all; its cookie then sends a page to
// state=5 and gets 401 not_authenticated as JSON, its tokens invalid_token.
func TestSessionLifetime(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		cases := []struct {
			name  string
			steps []time.Duration // clock moves, with a request after each
			alive bool
		}{
			{"activity within the idle timeout keeps it", []time.Duration{20 * time.Minute, 20 * time.Minute, 20 * time.Minute}, true},
			{"31 idle minutes end it", []time.Duration{31 * time.Minute}, false},
			{"activity never stretches it past the max age", []time.Duration{25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute}, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				app := newApp(t, db)
				app.createUser(t, "ada@example.com", "correct horse battery")
				c := app.client(t)
				c.loginForm("ada@example.com", "correct horse battery")
				var last *response
				for _, d := range tc.steps {
					app.clock.Advance(d)
					last = c.get("/api/me")
					if last.StatusCode != http.StatusOK {
						break
					}
				}
				if tc.alive {
					last.wantStatus(t, http.StatusOK)
					return
				}
				last.wantStatus(t, http.StatusUnauthorized)
				if p := last.problem(t); p.Error != "not_authenticated" {
					t.Errorf("error = %q, want not_authenticated", p.Error)
				}
			})
		}
		t.Run("an expired cookie on a page goes to state=5", func(t *testing.T) {
			app := newApp(t, db)
			app.createUser(t, "ada@example.com", "correct horse battery")
			c := app.client(t)
			c.loginForm("ada@example.com", "correct horse battery")
			app.clock.Advance(31 * time.Minute)
			resp := c.get("/admin/me", asHTML)
			resp.wantRedirect(t, "/auth/login?next=%2Fadmin%2Fme&state=5")
			if !clearsCookie(resp, "session") {
				t.Errorf("the dead cookie is not cleared: %v", resp.Header["Set-Cookie"])
			}
			msg := c.get("/auth/login?state=5", asHTML).wantStatus(t, http.StatusOK).doc(t).Find("#message").Text()
			if msg != "Your session has expired" {
				t.Errorf("message = %q", msg)
			}
		})
	})
}

func clearsCookie(r *response, name string) bool {
	for _, c := range r.Cookies() {
		if c.Name == name && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// TestTokenBoundToSession: a token is valid only while its session exists;
// logout by cookie or by the token alone ends both.
func TestTokenBoundToSession(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", "correct horse battery")

		t.Run("logout by cookie ends the token", func(t *testing.T) {
			c := app.client(t)
			tok := c.loginAPI("ada@example.com", "correct horse battery") // sets the cookie too
			c.get("/api/me").wantStatus(t, http.StatusOK)                 // by cookie
			c.post("/auth/logout", nil, asHTML).wantRedirect(t, "/auth/login?state=4")
			resp := app.client(t).get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
			if p := resp.problem(t); p.Error != "invalid_token" {
				t.Errorf("error = %q, want invalid_token", p.Error)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", got)
			}
		})
		t.Run("logout by the token alone ends the cookie", func(t *testing.T) {
			c := app.client(t)
			tok := c.loginAPI("ada@example.com", "correct horse battery")
			var out map[string]string
			app.client(t).post("/api/logout", nil, bearer(tok.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &out)
			if out["detail"] != "Logged out" {
				t.Errorf("logout said %v", out)
			}
			c.get("/auth/home", asHTML).wantRedirect(t, "/auth/login?next=%2Fauth%2Fhome&state=5")
			c.get("/api/me").wantStatus(t, http.StatusUnauthorized) // the dead cookie was cleared above
		})
		t.Run("a bad bearer loses even with a good cookie", func(t *testing.T) {
			c := app.client(t)
			c.loginForm("ada@example.com", "correct horse battery")
			c.get("/api/me", bearer("not.a.token")).wantStatus(t, http.StatusUnauthorized)
			page := c.get("/admin/me", asHTML, bearer("not.a.token")).wantStatus(t, http.StatusUnauthorized)
			page.doc(t) // a 401 error page, not a redirect
			c.get("/api/me").wantStatus(t, http.StatusOK)
		})
		t.Run("a new login from a logged-in browser ends the old session", func(t *testing.T) {
			c := app.client(t)
			old := c.loginAPI("ada@example.com", "correct horse battery")
			oldCookie := sessionCookie(t, c)
			fresh := c.loginAPI("ada@example.com", "correct horse battery")
			if sessionCookie(t, c) == oldCookie {
				t.Errorf("the session cookie was reused")
			}
			app.client(t).get("/api/me", bearer(old.AccessToken)).wantStatus(t, http.StatusUnauthorized)
			app.client(t).get("/api/me", bearer(fresh.AccessToken)).wantStatus(t, http.StatusOK)
		})
		t.Run("disabling a user ends their cookie and token", func(t *testing.T) {
			app.createUser(t, "bob@example.com", "correct horse battery")
			c := app.client(t)
			tok := c.loginAPI("bob@example.com", "correct horse battery")
			if err := app.auth.SetDisabled(t.Context(), "bob@example.com", true); err != nil {
				t.Fatal(err)
			}
			c.get("/auth/home", asHTML).wantRedirect(t, "/auth/login?next=%2Fauth%2Fhome&state=5")
			app.client(t).get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
		})
	})
}

func sessionCookie(t *testing.T, c *client) string {
	t.Helper()
	u := mustParse(t, c.app.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "session" {
			return ck.Value
		}
	}
	t.Fatalf("no session cookie")
	return ""
}

func TestSessionCookie(t *testing.T) {
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", "correct horse battery")
	resp := app.client(t).post("/auth/token", formOf("username", "ada@example.com", "password", "correct horse battery"), asHTML)
	resp.wantRedirect(t, "/auth/home")
	raw := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"session=", "Path=/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(raw, want) {
			t.Errorf("Set-Cookie %q lacks %q", raw, want)
		}
	}
	if strings.Contains(raw, "Secure") {
		t.Errorf("Secure cookie over http: %q", raw)
	}
}

func TestNextRedirect(t *testing.T) {
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", "correct horse battery")
	cases := []struct{ name, next, want string }{
		{"a local path", "/admin/me", "/admin/me"},
		{"a local path with a query", "/admin/me?tab=1", "/admin/me?tab=1"},
		{"scheme-relative", "//evil.example", "/auth/home"},
		{"absolute", "https://evil.example/", "/auth/home"},
		{"backslash", `/\evil.example`, "/auth/home"},
		{"backslash first", `\\evil.example`, "/auth/home"},
		{"javascript", "javascript:alert(1)", "/auth/home"},
		{"relative", "admin/me", "/auth/home"},
		{"a header injection", "/ok\r\nSet-Cookie: x=1", "/auth/home"},
		{"a tab to fool parsers", "/\t/evil.example", "/auth/home"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := formOf("username", "ada@example.com", "password", "correct horse battery", "next", tc.next)
			app.client(t).post("/auth/token", form, asHTML).wantRedirect(t, tc.want)
		})
	}
	t.Run("a protected page sends the browser back after login", func(t *testing.T) {
		c := app.client(t)
		resp := c.get("/admin/me", asHTML)
		resp.wantRedirect(t, "/auth/login?next=%2Fadmin%2Fme&state=2")
		login := c.get(resp.Header.Get("Location"), asHTML).wantStatus(t, http.StatusOK).doc(t)
		if msg := login.Find("#message").Text(); msg != "Please log in to continue" {
			t.Errorf("message = %q", msg)
		}
		next, _ := login.Find(`input[name=next]`).Attr("value")
		c.post("/auth/token", formOf("username", "ada@example.com", "password", "correct horse battery", "next", next), asHTML).
			wantRedirect(t, "/admin/me")
	})
}

func TestLoginPageMessages(t *testing.T) {
	app := newApp(t, sqliteDB)
	c := app.client(t)
	want := map[string]string{
		"1": "This session has not been logged in before",
		"2": "Please log in to continue",
		"3": "Incorrect username or password",
		"4": "You have been logged out",
		"5": "Your session has expired",
		"6": "If that address has an account, we have sent it a link to reset the password",
		"7": "Your password has been changed. Log in with the new one.",
		"8": "Your email address is verified",
		"9": "", "x": "", "<script>": "",
	}
	for state, msg := range want {
		got := c.get("/auth/login?state="+state, asHTML).wantStatus(t, http.StatusOK).doc(t).Find("#message").Text()
		if got != msg {
			t.Errorf("state=%s: message %q, want %q", state, got, msg)
		}
	}
}
