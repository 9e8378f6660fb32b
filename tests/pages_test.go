package tests

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/config"
)

// TestPageWords: the words of issue 24, on the pages (their JSON twins
// keep the contract's details): a throttled login says when to try again
// and is titled for it, re-authentication says nothing of a username, the
// verification page names the address it confirms, and the reset and
// verify pages have a way back.
func TestPageWords(t *testing.T) {
	app := newApp(t, sqliteDB, func(cfg *config.Config) { cfg.ReauthWindow = time.Minute })
	app.createUser(t, "ada@example.com", goodPassword)

	t.Run("a throttled login says in how many minutes to try again", func(t *testing.T) {
		c := app.client(t)
		for range app.cfg.LoginMaxFailures {
			c.post("/auth/token", formOf("username", "carol@example.com", "password", "wrong"), asHTML).wantStatus(t, http.StatusUnauthorized)
		}
		resp := c.post("/auth/token", formOf("username", "carol@example.com", "password", "wrong"), asHTML).wantStatus(t, http.StatusTooManyRequests)
		doc := resp.doc(t)
		msg := doc.Find("#problem").Text()
		if !regexp.MustCompile(`Try again in (1[0-5]) minutes\.$`).MatchString(msg) || strings.Contains(msg, "later") {
			t.Errorf("message = %q, want when to try again, in minutes (Retry-After %s)", msg, resp.Header.Get("Retry-After"))
		}
		if got := doc.Find("title").Text(); !strings.HasPrefix(got, "Too many attempts · ") {
			t.Errorf("title = %q, want it to say too many attempts", got)
		}
		p := c.post("/api/login", map[string]string{"username": "carol@example.com", "password": "wrong"}).wantProblem(t, http.StatusTooManyRequests, "too_many_attempts")
		if strings.Contains(p.Detail, "Try again in") {
			t.Errorf("the JSON detail changed: %q", p.Detail)
		}
	})

	t.Run("re-authentication does not speak of a username", func(t *testing.T) {
		c := app.client(t)
		c.loginForm("ada@example.com", goodPassword)
		app.clock.Advance(2 * time.Minute)
		doc := c.post("/auth/reauth", formOf("password", "wrong", "next", "/admin/me/2fa"), asHTML).wantStatus(t, http.StatusUnauthorized).doc(t)
		if got := doc.Find("#problem").Text(); strings.Contains(strings.ToLower(got), "username") || got == "" {
			t.Errorf("message = %q, want one without a username", got)
		}
		if got, _ := doc.Find("#password").Attr("aria-describedby"); got != "problem" {
			t.Errorf("the password field is described by %q, want the message", got)
		}
	})

	t.Run("the verification page names the address and has a way back", func(t *testing.T) {
		c := app.client(t)
		c.post("/auth/register", formOf("email", "grace@example.com", "full_name", "Grace Hopper", "password", goodPassword), asHTML).
			wantRedirect(t, "/auth/home")
		token := linkToken(t, app)
		doc := c.get("/auth/verify?token="+token, asHTML).wantStatus(t, http.StatusOK).doc(t)
		if got := doc.Find("#address").Text(); !strings.Contains(got, "grace@example.com") {
			t.Errorf("the page says %q, want the address it confirms", got)
		}
		if href, _ := doc.Find("#back").Attr("href"); href != "/admin/me" {
			t.Errorf("way back to %q, want My info (the sign-up logged in)", href)
		}
		doc = app.client(t).get("/auth/verify?token=unknown", asHTML).wantStatus(t, http.StatusBadRequest).doc(t)
		if href, _ := doc.Find("#back").Attr("href"); href != "/auth/login" {
			t.Errorf("a visitor's way back leads to %q, want the login page", href)
		}
	})

	t.Run("the reset page has a way back", func(t *testing.T) {
		doc := app.client(t).get("/auth/reset?token=unknown", asHTML).wantStatus(t, http.StatusBadRequest).doc(t)
		if href, _ := doc.Find("#back").Attr("href"); href != "/auth/login" {
			t.Errorf("way back to %q, want the login page", href)
		}
	})
}

// linkToken delivers the app's mail to its log (no SMTP_URL) and returns
// the token of the last link mailed there.
func linkToken(t *testing.T, app *app) string {
	t.Helper()
	if _, err := app.outbox.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	found := regexp.MustCompile(`/auth/(?:reset|verify)\?token=([A-Za-z0-9_-]+)`).FindAllStringSubmatch(app.logs.String(), -1)
	if len(found) == 0 {
		t.Fatal("no link in the mail log")
	}
	return found[len(found)-1][1]
}
