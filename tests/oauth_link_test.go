package tests

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gatehouse/tests/githubtest"
)

// A logged-in user connects another provider from My info, and can then
// log in with it.
func TestOAuthLinkWhileLoggedIn(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		gh := startGitHub(t, octocat) // octocat@github.com: not ada's email
		p := startOIDC(t)
		app := newApp(t, db, withGitHub(gh), withOIDCProvider("google", p))
		ada := app.createUser(t, "ada@example.com", "correct horse battery")

		t.Run("HTML", func(t *testing.T) {
			c := app.client(t)
			c.loginForm("ada@example.com", "correct horse battery")
			page := c.get("/admin/me", asHTML).wantStatus(t, http.StatusOK).doc(t)
			connect := page.Find("#connection-github a")
			if href, _ := connect.Attr("href"); href != "/admin/me/providers/github/link" || strings.TrimSpace(connect.Text()) != "Connect GitHub" {
				t.Fatalf("My info offers %q → %q, want Connect GitHub", connect.Text(), href)
			}
			start := c.get("/admin/me/providers/github/link", asHTML).wantStatus(t, http.StatusFound)
			back := gh.Authorize(t, start.Header.Get("Location"))
			c.callback(back, false).wantRedirect(t, "/admin/me?flash=provider_linked")
			page = c.get("/admin/me?flash=provider_linked", asHTML).wantStatus(t, http.StatusOK).doc(t)
			if got := page.Find(".flash").Text(); got != "The provider is now connected: you can log in with it." {
				t.Errorf("flash = %q", got)
			}
			if page.Find(`#connection-github form[action="/admin/me/providers/github/unlink"] button`).Length() != 1 {
				t.Errorf("My info offers no Disconnect GitHub after connecting it")
			}
			if me := c.me(); me.ID != ada.ID || !cmp.Equal(me.Providers, []string{"password", "github"}) {
				t.Errorf("still logged in as %+v, want ada with [password github]", me)
			}
			// Another browser logs in as ada through GitHub now.
			other := app.client(t)
			other.callback(other.arriveGitHub(gh, false), false).wantRedirect(t, "/auth/home")
			if me := other.me(); me.ID != ada.ID {
				t.Errorf("GitHub logs in as %s, want ada", me.Email)
			}
		})

		t.Run("JSON with a bearer token", func(t *testing.T) {
			c := app.client(t)
			tok := c.loginAPI("ada@example.com", "correct horse battery")
			var start struct {
				URL string `json:"url"`
			}
			c.get("/api/me/providers/google/link", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &start)
			back := c.loginAt(p, start.URL, "test-user@127.0.0.1")
			var got struct {
				Detail string   `json:"detail"`
				User   userBody `json:"user"`
			}
			c.callback(back, true, bearer(tok.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &got)
			if got.Detail != "Connected Google" || got.User.ID != ada.ID || !cmp.Equal(got.User.Providers, []string{"password", "github", "google"}) {
				t.Errorf("link answer = %+v, want ada with [password github google]", got)
			}
		})

		t.Run("only the user who began it can finish it", func(t *testing.T) {
			app.createUser(t, "eve@example.com", "correct horse battery")
			for _, f := range formats {
				c := app.client(t)
				tok := c.loginAPI("ada@example.com", "correct horse battery")
				var start struct {
					URL string `json:"url"`
				}
				c.get("/api/me/providers/google/link", bearer(tok.AccessToken)).decode(t, &start)
				back := c.loginAt(p, start.URL, "test-user@127.0.0.1")
				c.post("/api/logout", nil, bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
				c.loginAPI("eve@example.com", "correct horse battery") // same browser, now eve
				c.callback(back, f.json).wantFailure(t, f.json, http.StatusBadRequest, codeInvalidState, msgInvalidState)
			}
		})

		t.Run("a provider account linked to someone else", func(t *testing.T) {
			bob := app.createUser(t, "bob@example.com", "correct horse battery")
			for _, f := range formats {
				c := app.client(t)
				c.loginForm("bob@example.com", "correct horse battery")
				back := gh.Authorize(t, c.beginLink("github", f.json))
				c.callback(back, f.json).wantFailure(t, f.json, http.StatusConflict, codeIdentityTaken, msgIdentityTaken)
			}
			if me := app.client(t).me(bearer(app.client(t).loginAPI("bob@example.com", "correct horse battery").AccessToken)); me.ID != bob.ID || !cmp.Equal(me.Providers, []string{"password"}) {
				t.Errorf("bob = %+v, want [password] only", me)
			}
		})

		t.Run("a second account at the same provider", func(t *testing.T) {
			gh.SetUser(githubtest.User{ID: 7, Login: "ada-alt", Emails: []githubtest.Email{{Email: "alt@example.com", Primary: true, Verified: true}}})
			defer gh.SetUser(octocat)
			for _, f := range formats {
				c := app.client(t)
				c.loginForm("ada@example.com", "correct horse battery")
				back := gh.Authorize(t, c.beginLink("github", f.json))
				c.callback(back, f.json).wantFailure(t, f.json, http.StatusConflict, codeIdentityTaken, msgAlreadyLinked)
			}
		})

		t.Run("linking needs user:write", func(t *testing.T) {
			c := app.client(t)
			tok := c.loginAPI("ada@example.com", "correct horse battery", "user:read")
			c.get("/api/me/providers/github/link", bearer(tok.AccessToken)).wantStatus(t, http.StatusForbidden)
			app.client(t).get("/admin/me/providers/github/link", asHTML).
				wantRedirect(t, "/auth/login?next=%2Fadmin%2Fme%2Fproviders%2Fgithub%2Flink&state=2")
		})
	})
}

// Disconnecting a provider, but never the last way to log in (409).
func TestOAuthUnlink(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		gh := startGitHub(t, octocat)
		p := startOIDC(t)
		app := newApp(t, db, withGitHub(gh), withOIDCProvider("google", p))

		t.Run("a password user disconnects GitHub", func(t *testing.T) {
			app.createUser(t, "ada@example.com", "correct horse battery")
			c := app.client(t)
			c.loginForm("ada@example.com", "correct horse battery")
			c.callback(gh.Authorize(t, c.beginLink("github", false)), false).wantRedirect(t, "/admin/me?flash=provider_linked")
			c.post("/admin/me/providers/github/unlink", nil, asHTML).wantRedirect(t, "/admin/me?flash=provider_unlinked")
			if me := c.me(); !cmp.Equal(me.Providers, []string{"password"}) {
				t.Errorf("providers = %v, want [password]", me.Providers)
			}
			c.post("/api/me/providers/github/unlink", nil).wantFailure(t, true, http.StatusNotFound, codeNotFound, msgNotFound)
			c.post("/api/me/providers/password/unlink", nil).wantFailure(t, true, http.StatusNotFound, codeNotFound, msgNotFound)
		})

		t.Run("the last way to log in stays", func(t *testing.T) {
			c := app.client(t)
			c.callback(c.arrive(p, "google", false, "test-user@127.0.0.1"), false).wantRedirect(t, "/auth/home")
			c.callback(gh.Authorize(t, c.beginLink("github", false)), false).wantRedirect(t, "/admin/me?flash=provider_linked")
			if me := c.me(); !cmp.Equal(me.Providers, []string{"github", "google"}) {
				t.Fatalf("providers = %v, want [github google]", me.Providers)
			}
			var done struct {
				Detail string `json:"detail"`
			}
			c.post("/api/me/providers/github/unlink", nil).wantStatus(t, http.StatusOK).decode(t, &done)
			if done.Detail != "Disconnected GitHub" {
				t.Errorf("detail = %q", done.Detail)
			}
			c.post("/api/me/providers/google/unlink", nil).wantFailure(t, true, http.StatusConflict, codeLastMethod, msgLastMethod)
			page := c.post("/admin/me/providers/google/unlink", nil, asHTML)
			page.wantFailure(t, false, http.StatusConflict, codeLastMethod, msgLastMethod)
			if got := page.doc(t).Find("#email").Text(); got != demoEmail {
				t.Errorf("the 409 page is not My info (email %q)", got)
			}
			if me := c.me(); !cmp.Equal(me.Providers, []string{"google"}) {
				t.Errorf("providers = %v, want [google] kept", me.Providers)
			}
		})

		t.Run("unlinking needs user:write and a same-site form", func(t *testing.T) {
			app.createUser(t, "bob@example.com", "correct horse battery", withScopes("user:read"))
			c := app.client(t)
			tok := c.loginAPI("bob@example.com", "correct horse battery")
			c.post("/api/me/providers/github/unlink", nil, bearer(tok.AccessToken)).wantStatus(t, http.StatusForbidden)
			c.post("/admin/me/providers/github/unlink", nil, asHTML, header{"Sec-Fetch-Site", "cross-site"}).wantStatus(t, http.StatusForbidden)
		})
	})
}

// beginLink begins connecting provider name to the logged-in browser's
// user and returns the provider's authorization URL.
func (c *client) beginLink(name string, json bool) string {
	c.t.Helper()
	if json {
		var out struct {
			URL string `json:"url"`
		}
		c.get("/api/me/providers/"+name+"/link").wantStatus(c.t, http.StatusOK).decode(c.t, &out)
		return out.URL
	}
	return c.get("/admin/me/providers/"+name+"/link", asHTML).wantStatus(c.t, http.StatusFound).Header.Get("Location")
}
