package tests

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gatehouse/internal/testenv"
	"gatehouse/tests/githubtest"
	"gatehouse/tests/oidctest"
)

// Who a provider identity logs in as (contract §4): a verified email links
// to its user; an unverified one never links or creates; the allowlist and
// OAUTH_AUTO_REGISTER decide about strangers; disabled users stay out.
func TestOAuthIdentities(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		t.Run("a verified email links to the user who has it", func(t *testing.T) {
			p := startOIDC(t)
			app := newApp(t, db, withOIDCProvider("google", p), autoRegister(false))
			ada := app.createUser(t, demoEmail, "correct horse battery")
			for _, f := range formats {
				c := app.client(t)
				c.callback(c.arrive(p, "google", f.json, "test-user@127.0.0.1"), f.json)
				if me := c.me(); me.ID != ada.ID || !cmp.Equal(me.Providers, []string{"password", "google"}) {
					t.Errorf("%s: logged in as %+v, want user %d with [password google]", f.name, me, ada.ID)
				}
			}
			app.client(t).loginAPI(demoEmail, "correct horse battery") // the password still works
		})

		t.Run("provider logins, links and unlinks reach the security log", func(t *testing.T) {
			p := startOIDC(t)
			app := newApp(t, db, withOIDCProvider("google", p))
			app.createUser(t, demoEmail, "correct horse battery")
			c := app.client(t)
			c.callback(c.arrive(p, "google", false, "test-user@127.0.0.1"), false).wantRedirect(t, "/auth/home")
			c.post("/api/me/providers/google/unlink", nil).wantStatus(t, http.StatusOK)
			var log eventsBody
			c.get("/api/me/events").wantStatus(t, http.StatusOK).decode(t, &log)
			want := []string{"provider_unlinked", "login_succeeded", "provider_linked"}
			if got := eventKinds(log.Items); !cmp.Equal(got, want) {
				t.Errorf("events = %v, want %v", got, want)
			}
		})

		t.Run("an administrator's change keeps the linked providers in the answer", func(t *testing.T) {
			p := startOIDC(t)
			app := newApp(t, db, withOIDCProvider("google", p))
			app.createUser(t, "root@example.com", "correct horse battery", withScopes("admin:read", "admin:write"))
			c := app.client(t)
			c.callback(c.arrive(p, "google", false, "test-user@127.0.0.1"), false).wantRedirect(t, "/auth/home")
			id := c.me().ID
			admin := bearer(app.client(t).loginAPI("root@example.com", "correct horse battery").AccessToken)
			var u userBody
			app.client(t).do(http.MethodPatch, "/api/users/"+strconv.FormatUint(id, 10), map[string]string{"full_name": "Renamed"}, admin).
				wantStatus(t, http.StatusOK).decode(t, &u)
			if u.FullName != "Renamed" || !cmp.Equal(u.Providers, []string{"google"}) {
				t.Errorf("PATCH answered %+v, want the new name and providers [google]", u)
			}
		})

		t.Run("a self-service sign-up with that email is not linked by email", func(t *testing.T) {
			// Pre-account takeover: someone signs up with the victim's email
			// and a password of theirs; the victim's later provider login
			// must not join that account, or the squatter's password would
			// open it. The owner logs in with the password and connects.
			p := startOIDC(t)
			app := newApp(t, db, withOIDCProvider("google", p))
			var squat userBody
			app.client(t).post("/api/register", map[string]string{"email": demoEmail, "full_name": "Squatter", "password": "squatter password"}).
				wantStatus(t, http.StatusCreated).decode(t, &squat)
			for _, f := range formats {
				c := app.client(t)
				c.callback(c.arrive(p, "google", f.json, "test-user@127.0.0.1"), f.json).
					wantFailure(t, f.json, http.StatusConflict, "account_exists", msgAccountExists)
			}
			c := app.client(t)
			tok := c.loginAPI(demoEmail, "squatter password")
			var start struct {
				URL string `json:"url"`
			}
			c.get("/api/me/providers/google/link", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &start)
			c.callback(c.loginAt(p, start.URL, "test-user@127.0.0.1"), true, bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
			fresh := app.client(t)
			fresh.callback(fresh.arrive(p, "google", true, "test-user@127.0.0.1"), true).wantStatus(t, http.StatusOK)
			if me := fresh.me(); me.ID != squat.ID {
				t.Errorf("after connecting from My info the provider logs in as %d, want %d", me.ID, squat.ID)
			}
		})

		t.Run("a sign-up that confirmed its address through the mailed link is linked", func(t *testing.T) {
			// Both emails verified (contract §6): the provider's, and the
			// account's through its verification link.
			p := startOIDC(t)
			mp := testenv.StartMailpit(t)
			app := newApp(t, db, withOIDCProvider("google", p), withMailpit(mp))
			var owner userBody
			app.client(t).post("/api/register", map[string]string{"email": demoEmail, "full_name": "Owner", "password": "owner's password"}).
				wantStatus(t, http.StatusCreated).decode(t, &owner)
			link := linkIn(t, mp.WaitForMail(t, demoEmail, 1)[0])
			app.client(t).post("/api/email/verify", map[string]string{"token": tokenOf(t, link)}).wantStatus(t, http.StatusOK)
			c := app.client(t)
			c.callback(c.arrive(p, "google", true, "test-user@127.0.0.1"), true).wantStatus(t, http.StatusOK)
			if me := c.me(); me.ID != owner.ID || !cmp.Equal(me.Providers, []string{"password", "google"}) {
				t.Errorf("the provider login is %d with %v, want the verified sign-up %d with password and google", me.ID, me.Providers, owner.ID)
			}
		})

		t.Run("an unverified email never links or creates", func(t *testing.T) {
			p := startOIDC(t)
			app := newApp(t, db, withOIDCProvider("google", p))
			victim := app.createUser(t, "victim@example.com", "correct horse battery")
			p.AddUser(oidctest.User{Username: "mallory", Email: "victim@example.com", EmailVerified: false})
			p.AddUser(oidctest.User{Username: "newbie", Email: "newbie@example.com", EmailVerified: false})
			for _, username := range []string{"mallory", "newbie"} {
				for _, f := range formats {
					c := app.client(t)
					c.callback(c.arrive(p, "google", f.json, username), f.json).
						wantFailure(t, f.json, http.StatusForbidden, codeUnverified, msgUnverified)
				}
			}
			u, err := app.store.UserByID(context.Background(), victim.ID)
			if err != nil || !cmp.Equal(u.View().Providers, []string{"password"}) {
				t.Errorf("the victim's providers = %v (%v), want [password] only", u.View().Providers, err)
			}
			if _, err := app.store.UserByEmail(context.Background(), "newbie@example.com"); err == nil {
				t.Errorf("a user was created for an unverified email")
			}
		})

		t.Run("GitHub: only a verified primary email counts", func(t *testing.T) {
			unverified := githubtest.User{ID: 42, Login: "sneaky", Emails: []githubtest.Email{
				{Email: "victim@example.com", Primary: true, Verified: false},
				{Email: "other@example.com", Verified: true},
			}}
			gh := startGitHub(t, unverified)
			app := newApp(t, db, withGitHub(gh))
			app.createUser(t, "victim@example.com", "correct horse battery")
			for _, f := range formats {
				c := app.client(t)
				c.callback(c.arriveGitHub(gh, f.json), f.json).wantFailure(t, f.json, http.StatusForbidden, codeUnverified, msgUnverified)
			}
		})

		t.Run("with auto-registration off a stranger is not allowed", func(t *testing.T) {
			p := startOIDC(t)
			app := newApp(t, db, withOIDCProvider("oidc", p), autoRegister(false))
			for _, f := range formats {
				c := app.client(t)
				c.callback(c.arrive(p, "oidc", f.json, "test-user@127.0.0.1"), f.json).
					wantFailure(t, f.json, http.StatusForbidden, codeNotAllowed, msgNotRegistered)
			}
			if _, err := app.store.UserByEmail(context.Background(), demoEmail); err == nil {
				t.Errorf("a user was created with auto-registration off")
			}
		})

		t.Run("a user created by a provider has no password", func(t *testing.T) {
			p := startOIDC(t)
			app := newApp(t, db, withOIDCProvider("google", p))
			c := app.client(t)
			c.callback(c.arrive(p, "google", false, "test-user@127.0.0.1"), false).wantRedirect(t, "/auth/home")
			page := c.get("/admin/me", asHTML).wantStatus(t, http.StatusOK).doc(t)
			if page.Find(`form[action="/admin/me/password"]`).Length() != 0 || page.Find("#no-password").Length() != 1 {
				t.Errorf("My info offers a password change to an account without a password")
			}
			for _, password := range []string{"", "verysecure"} {
				resp := app.client(t).post("/api/login", url.Values{"username": {demoEmail}, "password": {password}})
				if resp.StatusCode == http.StatusOK {
					t.Errorf("a password login with %q worked for a provider-only user", password)
				}
			}
		})

		t.Run("disabled users stay out", func(t *testing.T) {
			p := startOIDC(t)
			gh := startGitHub(t, octocat)
			app := newApp(t, db, withOIDCProvider("google", p), withGitHub(gh))
			c := app.client(t)
			c.callback(c.arrive(p, "google", false, "test-user@127.0.0.1"), false).wantRedirect(t, "/auth/home")
			app.createUser(t, "octocat@github.com", "correct horse battery", disabled)
			if err := app.auth.SetDisabled(context.Background(), demoEmail, true); err != nil {
				t.Fatal(err)
			}
			for _, f := range formats {
				c := app.client(t)
				// A known identity…
				c.callback(c.arrive(p, "google", f.json, "test-user@127.0.0.1"), f.json).
					wantFailure(t, f.json, http.StatusForbidden, codeInactive, msgInactive)
				// …and a verified email of a disabled user.
				c.callback(c.arriveGitHub(gh, f.json), f.json).
					wantFailure(t, f.json, http.StatusForbidden, codeInactive, msgInactive)
			}
		})
	})
}

// OAUTH_ALLOWED_EMAILS and OAUTH_ALLOWED_DOMAINS combine with OR; both
// empty lets everyone in; only a verified email can be on a list.
func TestOAuthAllowlist(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		p := startOIDC(t)
		p.AddUser(oidctest.User{Username: "unverified", Email: "someone@zitadel.ch", EmailVerified: false})
		cases := []struct {
			name     string
			opts     []option
			username string
			status   int // 0: let in
			code     string
			message  string
		}{
			{"outside the domains", []option{allowDomains("example.org")}, "test-user@127.0.0.1", http.StatusForbidden, codeNotAllowed, msgNotAllowed},
			{"outside the emails", []option{allowEmails("boss@example.org")}, "test-user@127.0.0.1", http.StatusForbidden, codeNotAllowed, msgNotAllowed},
			{"in the domains", []option{allowDomains("example.org", "zitadel.ch")}, "test-user@127.0.0.1", 0, "", ""},
			{"in the emails, outside the domains", []option{allowEmails(demoEmail), allowDomains("example.org")}, "test-user@127.0.0.1", 0, "", ""},
			{"a subdomain is another domain", []option{allowDomains("ch")}, "test-user@127.0.0.1", http.StatusForbidden, codeNotAllowed, msgNotAllowed},
			{"an unverified email cannot prove its domain", []option{allowDomains("zitadel.ch")}, "unverified", http.StatusForbidden, codeUnverified, msgUnverified},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				app := newApp(t, db, append(tc.opts, withOIDCProvider("google", p))...)
				for _, f := range formats {
					c := app.client(t)
					resp := c.callback(c.arrive(p, "google", f.json, tc.username), f.json)
					if tc.status == 0 {
						if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
							t.Errorf("%s: status %d, want let in; body %.300s", f.name, resp.StatusCode, resp.Body)
						}
						continue
					}
					resp.wantFailure(t, f.json, tc.status, tc.code, tc.message)
				}
			})
		}

		t.Run("an existing account does not get around it", func(t *testing.T) {
			app := newApp(t, db, withOIDCProvider("google", p), allowDomains("example.org"))
			app.createUser(t, demoEmail, "correct horse battery")
			c := app.client(t)
			c.callback(c.arrive(p, "google", true, "test-user@127.0.0.1"), true).
				wantFailure(t, true, http.StatusForbidden, codeNotAllowed, msgNotAllowed)
		})
	})
}
