package tests

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gatehouse/config"
	"gatehouse/tests/githubtest"
)

// The same real provider serves as Google (GOOGLE_ISSUER) and as a
// company's own issuer (OIDC_ISSUER): a browser-like client goes login
// page → provider login form → callback → home.
func TestOAuthBrowserLogin(t *testing.T) {
	for _, tc := range []struct{ name, button string }{{"google", "Continue with Google"}, {"oidc", "Continue with Acme SSO"}} {
		t.Run(tc.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, db database) {
				p := startOIDC(t)
				app := newApp(t, db, withOIDCProvider(tc.name, p))
				c := app.client(t)

				page := c.get("/auth/login?next=%2Fadmin%2Fme", asHTML).wantStatus(t, http.StatusOK).doc(t)
				button := page.Find(".providers a")
				if got := strings.TrimSpace(button.Text()); got != tc.button {
					t.Fatalf("provider button = %q, want %q", got, tc.button)
				}
				href, _ := button.Attr("href")
				if want := "/auth/oauth/" + tc.name + "/login?next=%2Fadmin%2Fme"; href != want {
					t.Fatalf("button href = %q, want %q", href, want)
				}

				start := c.get(href, asHTML).wantStatus(t, http.StatusFound)
				authURL, err := url.Parse(start.Header.Get("Location"))
				if err != nil || !strings.HasPrefix(authURL.String(), p.Issuer+"/auth?") {
					t.Fatalf("the login start sent the browser to %q, want the provider's authorization endpoint", authURL)
				}
				q := authURL.Query()
				if got, want := q.Get("redirect_uri"), app.URL+"/auth/oauth/"+tc.name+"/callback"; got != want {
					t.Errorf("redirect_uri = %q, want %q", got, want)
				}
				if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
					t.Errorf("PKCE: code_challenge_method=%q code_challenge=%q, want S256 and a SHA-256", q.Get("code_challenge_method"), q.Get("code_challenge"))
				}
				if len(q.Get("state")) < 22 || len(q.Get("nonce")) < 22 || q.Get("state") == q.Get("nonce") {
					t.Errorf("state %q and nonce %q must be distinct random values of at least 128 bits", q.Get("state"), q.Get("nonce"))
				}
				if !slices.Contains(strings.Fields(q.Get("scope")), "openid") || !slices.Contains(strings.Fields(q.Get("scope")), "email") {
					t.Errorf("scope = %q, want openid and email", q.Get("scope"))
				}
				if got := bindingCookie(t, start.Response); got == nil || !got.HttpOnly || got.SameSite != http.SameSiteLaxMode || got.Path != "/" || got.MaxAge != 600 {
					t.Errorf("binding cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, Max-Age=600", got)
				}

				back := c.loginAt(p, authURL.String(), "test-user@127.0.0.1")
				c.callback(back, false).wantRedirect(t, "/admin/me")
				home := c.get("/auth/home", asHTML).wantStatus(t, http.StatusOK).doc(t)
				if got := home.Find("h1").Text(); !strings.Contains(got, "Test User") {
					t.Errorf("home greets %q, want the provider's name for the user", got)
				}
				me := c.me()
				if me.Email != demoEmail || !cmp.Equal(me.Providers, []string{tc.name}) || !cmp.Equal(me.Scopes, []string{"user:read", "user:write"}) {
					t.Errorf("the new user = %+v, want %s with providers [%s] and the default scopes", me, demoEmail, tc.name)
				}
			})
		})
	}
}

func TestOAuthJSONLogin(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		p := startOIDC(t)
		app := newApp(t, db, withOIDCProvider("google", p))
		c := app.client(t)

		back := c.arrive(p, "google", true, "test-user@127.0.0.1")
		resp := c.callback(back, true).wantStatus(t, http.StatusOK)
		var got oauthTokenBody
		resp.decode(t, &got)
		if got.AccessToken == "" || got.TokenType != "bearer" || got.ExpiresIn != 1800 || got.Scope != "user:read user:write" {
			t.Errorf("token response = %+v", got.token)
		}
		if got.User.Email != demoEmail || got.User.ID == 0 || !cmp.Equal(got.User.Providers, []string{"google"}) {
			t.Errorf("user = %+v, want %s linked to google", got.User, demoEmail)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
		}
		// The access token works on its own, from a client without cookies.
		if me := app.client(t).me(bearer(got.AccessToken)); me.ID != got.User.ID {
			t.Errorf("/api/me with the token = %+v, want user %d", me, got.User.ID)
		}
		// It opened a session with its cookie too, as /api/login does.
		if me := c.me(); me.ID != got.User.ID {
			t.Errorf("/api/me with the cookie = %+v, want user %d", me, got.User.ID)
		}
		// Its refresh token buys new tokens for the same session (§7).
		next := app.client(t).refreshOK(got.RefreshToken)
		if me := app.client(t).me(bearer(next.AccessToken)); me.ID != got.User.ID {
			t.Errorf("/api/me with the refreshed token = %+v, want user %d", me, got.User.ID)
		}
	})
}

// {PROVIDER}_REDIRECT_URL points the provider back at a single-page app's
// own page, which passes the same code and state to the JSON callback.
func TestOAuthSinglePageAppRedirect(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		p := startOIDC(t)
		var spa string
		app := newApp(t, db, withOIDCProvider("oidc", p), func(cfg *config.Config) {
			spa = cfg.BaseURL.String() + "/spa/callback"
			p.AddRedirectURI(spa)
			cfg.OIDC.RedirectURL = spa
		})
		c := app.client(t)
		authURL := c.beginOAuth("oidc", true)
		u, _ := url.Parse(authURL)
		if got := u.Query().Get("redirect_uri"); got != spa {
			t.Fatalf("redirect_uri = %q, want the app's page %q", got, spa)
		}
		back := c.loginAt(p, authURL, "test-user@127.0.0.1")
		if back.Path != "/spa/callback" {
			t.Fatalf("the provider sent the browser to %s, want /spa/callback", back)
		}
		var got oauthTokenBody
		c.get("/api/oauth/oidc/callback?"+back.RawQuery).wantStatus(t, http.StatusOK).decode(t, &got)
		if me := app.client(t).me(bearer(got.AccessToken)); me.Email != demoEmail {
			t.Errorf("/api/me = %+v, want %s", me, demoEmail)
		}
	})
}

// The callback logs in exactly like a password login: a new session id,
// and the browser's old session ends.
func TestOAuthLoginReplacesTheSession(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		p := startOIDC(t)
		app := newApp(t, db, withOIDCProvider("google", p))
		app.createUser(t, "ada@example.com", "correct horse battery")
		c := app.client(t)
		c.loginForm("ada@example.com", "correct horse battery")
		old := sessionCookie(t, c)

		c.callback(c.arrive(p, "google", false, "test-user@127.0.0.1"), false).wantRedirect(t, "/auth/home")
		if now := sessionCookie(t, c); now == old {
			t.Fatalf("the session cookie was not replaced")
		}
		if me := c.me(); me.Email != demoEmail {
			t.Errorf("logged in as %s, want %s", me.Email, demoEmail)
		}
		stale := app.client(t)
		stale.setCookie("session", old)
		stale.get("/auth/home", asHTML).wantRedirect(t, "/auth/login?next=%2Fauth%2Fhome&state=5")
	})
}

func TestOAuthGitHubLogin(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		gh := startGitHub(t, octocat)
		app := newApp(t, db, withGitHub(gh))

		for _, f := range formats {
			t.Run(f.name, func(t *testing.T) {
				c := app.client(t)
				back := c.arriveGitHub(gh, f.json)
				sent := gh.LastAuthorize()
				if sent.Get("code_challenge_method") != "S256" || sent.Get("code_challenge") == "" || sent.Get("state") == "" {
					t.Errorf("authorize got %v, want state and a PKCE S256 challenge", sent)
				}
				if got := sent.Get("scope"); got != "read:user user:email" {
					t.Errorf("scope = %q, want read:user user:email", got)
				}
				resp := c.callback(back, f.json)
				if !f.json {
					resp.wantRedirect(t, "/auth/home")
				} else {
					resp.wantStatus(t, http.StatusOK)
				}
				me := c.me()
				if me.Email != "octocat@github.com" || me.FullName != "The Octocat" || !cmp.Equal(me.Providers, []string{"github"}) {
					t.Errorf("user = %+v, want octocat@github.com, The Octocat, [github]", me)
				}
			})
		}

		// The account is found by GitHub's numeric id, not by login or
		// email, which can change hands.
		renamed := octocat
		renamed.Login, renamed.Name = "octo-renamed", "Renamed"
		renamed.Emails = []githubtest.Email{{Email: "new@example.net", Primary: true, Verified: true}}
		gh.SetUser(renamed)
		c := app.client(t)
		c.callback(c.arriveGitHub(gh, false), false).wantRedirect(t, "/auth/home")
		if me := c.me(); me.Email != "octocat@github.com" {
			t.Errorf("after a rename at GitHub the login is %s, want the same user octocat@github.com", me.Email)
		}
	})
}

func TestOAuthUnknownProvider(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		p := startOIDC(t)
		app := newApp(t, db, withOIDCProvider("google", p)) // GitHub and OIDC are off
		for name, path := range map[string]string{"unknown": "/oauth/facebook/login", "switched off": "/oauth/github/login",
			"callback of one switched off": "/oauth/oidc/callback?code=x&state=y"} {
			for _, f := range formats {
				t.Run(name+"/"+f.name, func(t *testing.T) {
					c := app.client(t)
					if f.json {
						c.get("/api"+path).wantFailure(t, true, http.StatusNotFound, codeNotFound, msgNotFound)
					} else {
						c.get("/auth"+path, asHTML).wantStatus(t, http.StatusNotFound)
					}
				})
			}
		}
		page := app.client(t).get("/auth/login", asHTML).doc(t)
		if got := page.Find(".providers a").Length(); got != 1 {
			t.Errorf("the login page shows %d provider buttons, want 1 (only Google is on)", got)
		}
	})
}

// A provider that is down does not stop Gatehouse from starting; logins
// through it answer 502 until it is back.
func TestOAuthProviderDown(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		t.Run("down at start-up", func(t *testing.T) {
			p := startOIDC(t)
			p.Close()
			app := newApp(t, db, withOIDCProvider("google", p))
			if app.client(t).get("/auth/login", asHTML).doc(t).Find(".providers a").Length() != 1 {
				t.Errorf("the login page lost its Google button")
			}
			for _, f := range formats {
				c := app.client(t)
				var resp *response
				if f.json {
					resp = c.get("/api/oauth/google/login")
				} else {
					resp = c.get("/auth/oauth/google/login", asHTML)
				}
				resp.wantFailure(t, f.json, http.StatusBadGateway, codeUnavailable, msgUnavailable)
			}
		})
		t.Run("down at the callback", func(t *testing.T) {
			p := startOIDC(t)
			app := newApp(t, db, withOIDCProvider("google", p))
			var backs []*url.URL
			var clients []*client
			for _, f := range formats {
				c := app.client(t)
				clients = append(clients, c)
				backs = append(backs, c.arrive(p, "google", f.json, "test-user@127.0.0.1"))
			}
			p.Close()
			// Discovery is cached: the start still works and sends the browser on.
			app.client(t).get("/auth/oauth/google/login", asHTML).wantStatus(t, http.StatusFound)
			for i, f := range formats {
				clients[i].callback(backs[i], f.json).wantFailure(t, f.json, http.StatusBadGateway, codeUnavailable, msgUnavailable)
			}
		})
		t.Run("GitHub down", func(t *testing.T) {
			gh := startGitHub(t, octocat)
			app := newApp(t, db, withGitHub(gh))
			var backs []*url.URL
			var clients []*client
			for _, f := range formats {
				c := app.client(t)
				clients = append(clients, c)
				backs = append(backs, c.arriveGitHub(gh, f.json))
			}
			gh.Close()
			for i, f := range formats {
				clients[i].callback(backs[i], f.json).wantFailure(t, f.json, http.StatusBadGateway, codeUnavailable, msgUnavailable)
			}
		})
	})
}

// Codes, tokens and states never reach the log, on success or failure.
func TestOAuthLogsNoSecrets(t *testing.T) {
	p := startOIDC(t)
	app := newApp(t, sqliteDB, withOIDCProvider("google", p))
	c := app.client(t)
	back := c.arrive(p, "google", true, "test-user@127.0.0.1")
	var got oauthTokenBody
	c.callback(back, true).wantStatus(t, http.StatusOK).decode(t, &got)
	c.callback(back, true).wantStatus(t, http.StatusBadRequest) // replayed
	failing := c.arrive(p, "google", true, "test-user@127.0.0.1")
	q := failing.Query()
	q.Set("code", "forged-"+q.Get("code"))
	failing.RawQuery = q.Encode()
	c.callback(failing, true).wantStatus(t, http.StatusUnauthorized)
	logs := app.logs.String()
	if !strings.Contains(logs, "oauth login failed") {
		t.Errorf("the failed exchange was not logged for the operator:\n%s", logs)
	}
	for name, secret := range map[string]string{"code": back.Query().Get("code"), "state": back.Query().Get("state"),
		"access token": got.AccessToken, "failing state": q.Get("state")} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds the %s:\n%s", name, logs)
		}
	}
}

// bindingCookie returns the binding cookie a response sets, or nil.
func bindingCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "oauth_binding" || c.Name == "__Host-oauth_binding" {
			return c
		}
	}
	return nil
}

// Under https the binding cookie is __Host-oauth_binding and Secure, like
// the session cookie.
func TestOAuthBindingCookieUnderHTTPS(t *testing.T) {
	p := startOIDC(t)
	app := newApp(t, sqliteDB, func(cfg *config.Config) { cfg.BaseURL.Scheme = "https" }, withOIDCProvider("google", p))
	start := app.client(t).get("/auth/oauth/google/login", asHTML).wantStatus(t, http.StatusFound)
	got := bindingCookie(t, start.Response)
	if got == nil || got.Name != "__Host-oauth_binding" || !got.Secure || got.Path != "/" || got.Domain != "" || !got.HttpOnly {
		t.Errorf("binding cookie = %+v, want __Host-oauth_binding, Secure, HttpOnly, Path=/, no Domain", got)
	}
	if u, _ := url.Parse(start.Header.Get("Location")); u.Query().Get("redirect_uri") != "https://"+app.Listener.Addr().String()+"/auth/oauth/google/callback" {
		t.Errorf("redirect_uri = %q, want BASE_URL's https URL", u.Query().Get("redirect_uri"))
	}
}
