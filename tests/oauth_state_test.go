package tests

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The state is single-use, expires in 10 minutes and only the browser
// that began the login can finish it (contract §4); anything else is 400
// invalid_state, in both formats.
func TestOAuthState(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		p := startOIDC(t)
		app := newApp(t, db, withOIDCProvider("google", p), withOIDCProvider("oidc", p))
		const user = "test-user@127.0.0.1"

		// These run first: the expiry cases below move the app's clock,
		// which also judges the provider's ID tokens (1 h lifetime).
		t.Run("a state shown to another browser is spent", func(t *testing.T) {
			c := app.client(t)
			back := c.arrive(p, "google", false, user)
			app.client(t).callback(back, false).wantStatus(t, http.StatusBadRequest)
			c.callback(back, false).wantStatus(t, http.StatusBadRequest)
		})
		t.Run("of callbacks racing with one state, one wins", func(t *testing.T) {
			c := app.client(t)
			back := c.arrive(p, "google", true, user)
			const n = 8
			statuses := make(chan int, n)
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					req, _ := http.NewRequest(http.MethodGet, app.URL+"/api/oauth/google/callback?"+back.RawQuery, nil)
					for _, ck := range c.http.Jar.Cookies(req.URL) {
						req.AddCookie(ck)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					statuses <- resp.StatusCode
				})
			}
			wg.Wait()
			close(statuses)
			won := 0
			for s := range statuses {
				switch s {
				case http.StatusOK:
					won++
				case http.StatusBadRequest:
				default:
					t.Errorf("a racing callback answered %d, want 200 or 400", s)
				}
			}
			if won != 1 {
				t.Errorf("%d callbacks won the same state, want exactly 1", won)
			}
		})
		t.Run("just inside 10 minutes", func(t *testing.T) {
			c := app.client(t)
			back := c.arrive(p, "google", true, user)
			app.clock.Advance(9*time.Minute + 50*time.Second)
			c.callback(back, true).wantStatus(t, http.StatusOK)
		})
		cases := []struct {
			name string
			// finish answers the callback of a login begun in c, whose
			// provider sent the browser back to back.
			finish func(t *testing.T, c *client, back *url.URL, json bool) *response
		}{
			{"replayed", func(t *testing.T, c *client, back *url.URL, json bool) *response {
				first := c.callback(back, json)
				if first.StatusCode != http.StatusOK && first.StatusCode != http.StatusSeeOther {
					t.Fatalf("the first callback answered %d", first.StatusCode)
				}
				return c.callback(back, json)
			}},
			{"wrong", func(t *testing.T, c *client, back *url.URL, json bool) *response {
				return c.callback(withQuery(back, "state", "not-the-state-that-was-sent-to-the-provider"), json)
			}},
			{"missing", func(t *testing.T, c *client, back *url.URL, json bool) *response {
				return c.callback(withQuery(back, "state", ""), json)
			}},
			{"from another browser without a binding cookie", func(t *testing.T, c *client, back *url.URL, json bool) *response {
				return c.app.client(t).callback(back, json)
			}},
			{"from another browser that began its own login", func(t *testing.T, c *client, back *url.URL, json bool) *response {
				other := c.app.client(t)
				other.beginOAuth("google", json)
				return other.callback(back, json)
			}},
			{"expired after 10 minutes", func(t *testing.T, c *client, back *url.URL, json bool) *response {
				c.app.clock.Advance(10*time.Minute + time.Second)
				return c.callback(back, json)
			}},
			{"for another provider", func(t *testing.T, c *client, back *url.URL, json bool) *response {
				back.Path = strings.Replace(back.Path, "/google/", "/oidc/", 1)
				return c.callback(back, json)
			}},
		}
		for _, tc := range cases {
			for _, f := range formats {
				t.Run(tc.name+"/"+f.name, func(t *testing.T) {
					c := app.client(t)
					back := c.arrive(p, "google", f.json, user)
					tc.finish(t, c, back, f.json).wantFailure(t, f.json, http.StatusBadRequest, codeInvalidState, msgInvalidState)
				})
			}
		}

	})
}

// PKCE S256: the authorization URL carries a challenge, and a code is
// worth nothing without the verifier, which never leaves the server.
func TestOAuthPKCE(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		p := startOIDC(t)
		app := newApp(t, db, withOIDCProvider("google", p))
		ctx := t.Context()
		op, err := oidc.NewProvider(ctx, p.Issuer)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("a stolen code cannot be redeemed without the verifier", func(t *testing.T) {
			c := app.client(t)
			back := c.arrive(p, "google", false, "test-user@127.0.0.1")
			thief := &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: op.Endpoint(),
				RedirectURL: app.URL + "/auth/oauth/google/callback"}
			_, err := thief.Exchange(ctx, back.Query().Get("code"))
			if err == nil || !strings.Contains(err.Error(), "code_verifier required") {
				t.Fatalf("exchange without the verifier: err = %v, want the provider to refuse (code_verifier required)", err)
			}
		})
		for _, f := range formats {
			t.Run("the app always sends its verifier/"+f.name, func(t *testing.T) {
				// A browser that strips the challenge gets a code the app
				// cannot redeem: its verifier is refused, and the login fails
				// closed.
				c := app.client(t)
				authURL, _ := url.Parse(c.beginOAuth("google", f.json))
				q := authURL.Query()
				q.Del("code_challenge")
				q.Del("code_challenge_method")
				authURL.RawQuery = q.Encode()
				back := c.loginAt(p, authURL.String(), "test-user@127.0.0.1")
				c.callback(back, f.json).wantFailure(t, f.json, http.StatusUnauthorized, codeOAuthFailed, msgOAuthFailed)
			})
		}
	})
}

// The ID token must carry the nonce of the login it answers.
func TestOAuthNonce(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		p := startOIDC(t)
		app := newApp(t, db, withOIDCProvider("oidc", p))
		for _, f := range formats {
			t.Run(f.name, func(t *testing.T) {
				c := app.client(t)
				authURL, _ := url.Parse(c.beginOAuth("oidc", f.json))
				back := c.loginAt(p, withQuery(authURL, "nonce", "another-nonce-than-the-app-expects").String(), "test-user@127.0.0.1")
				c.callback(back, f.json).wantFailure(t, f.json, http.StatusUnauthorized, codeOAuthFailed, msgOAuthFailed)
			})
		}
	})
}

// A forged code, and answers from the provider that are refusals.
func TestOAuthProviderAnswers(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		p := startOIDC(t)
		gh := startGitHub(t, octocat)
		app := newApp(t, db, withOIDCProvider("google", p), withGitHub(gh))
		for _, f := range formats {
			t.Run("forged code/"+f.name, func(t *testing.T) {
				c := app.client(t)
				back := c.arrive(p, "google", f.json, "test-user@127.0.0.1")
				c.callback(withQuery(back, "code", "forged"), f.json).wantFailure(t, f.json, http.StatusUnauthorized, codeOAuthFailed, msgOAuthFailed)
			})
			t.Run("no code/"+f.name, func(t *testing.T) {
				c := app.client(t)
				back := c.arrive(p, "google", f.json, "test-user@127.0.0.1")
				c.callback(withQuery(back, "code", ""), f.json).wantFailure(t, f.json, http.StatusUnauthorized, codeOAuthFailed, msgOAuthFailed)
			})
			t.Run("cancelled at GitHub/"+f.name, func(t *testing.T) {
				gh.SetDeny(true)
				defer gh.SetDeny(false)
				c := app.client(t)
				back := c.arriveGitHub(gh, f.json)
				if back.Query().Get("error") != "access_denied" {
					t.Fatalf("GitHub answered %s, want error=access_denied", back)
				}
				c.callback(back, f.json).wantFailure(t, f.json, http.StatusUnauthorized, codeDenied, msgCancelled)
			})
			t.Run("another provider error/"+f.name, func(t *testing.T) {
				c := app.client(t)
				back := c.arrive(p, "google", f.json, "test-user@127.0.0.1")
				back = withQuery(withQuery(back, "code", ""), "error", "temporarily_unavailable")
				back = withQuery(back, "error_description", "<script>words chosen by whoever made the link</script>")
				resp := c.callback(back, f.json)
				resp.wantFailure(t, f.json, http.StatusUnauthorized, codeDenied, msgDenied)
				if strings.Contains(string(resp.Body), "words chosen") {
					t.Errorf("the provider's error_description reached the page")
				}
			})
			t.Run("an error without a state is an invalid state/"+f.name, func(t *testing.T) {
				back, _ := url.Parse(app.URL + "/auth/oauth/github/callback?error=access_denied")
				app.client(t).callback(back, f.json).wantFailure(t, f.json, http.StatusBadRequest, codeInvalidState, msgInvalidState)
			})
		}
		t.Run("iss naming another issuer (mix-up)", func(t *testing.T) {
			c := app.client(t)
			back := c.arrive(p, "google", true, "test-user@127.0.0.1")
			c.callback(withQuery(back, "iss", "https://evil.example"), true).wantFailure(t, true, http.StatusUnauthorized, codeOAuthFailed, msgOAuthFailed)
		})
	})
}

// withQuery returns u with its query parameter name set to value (removed
// when value is empty).
func withQuery(u *url.URL, name, value string) *url.URL {
	c := *u
	q := c.Query()
	if value == "" {
		q.Del(name)
	} else {
		q.Set(name, value)
	}
	c.RawQuery = q.Encode()
	return &c
}
