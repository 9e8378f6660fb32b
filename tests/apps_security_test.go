package tests

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/idp"
)

// The rules of OAuth 2.0 Security Best Current Practice (RFC 9700) and of
// contract §10, each as its own test. The rules are the provider's logic,
// so they run on SQLite; those where the database decides (a code used
// twice, a refresh token reused, two instances) run on each database.

// appFixture is an app with a logged-in browser.
type appFixture struct {
	a       *app
	reg     idp.AppView
	browser *client
}

func newAppFixture(t *testing.T, db database, reg idp.Registration, opts ...option) *appFixture {
	t.Helper()
	a := newApp(t, db, opts...)
	a.createUser(t, "ada@example.com", goodPassword)
	if len(reg.RedirectURIs) == 0 {
		reg.RedirectURIs = []string{rpCallback}
	}
	f := &appFixture{a: a, reg: a.registerApp(t, reg), browser: a.client(t)}
	f.browser.loginForm("ada@example.com", goodPassword)
	return f
}

// firstParty is a registration that asks no consent.
var firstParty = idp.Registration{FirstParty: true, Scopes: "openid profile email offline_access user:read"}

func TestAppsRedirectURIs(t *testing.T) {
	f := newAppFixture(t, sqliteDB, idp.Registration{FirstParty: true, RedirectURIs: []string{rpCallback, "http://127.0.0.1/cb"}})
	for _, tc := range []struct{ name, client, redirect string }{
		{"an unregistered redirect URI", f.reg.ClientID, "https://evil.example/callback"},
		{"a registered one with another path", f.reg.ClientID, rpCallback + "x"},
		{"a registered one with a query added", f.reg.ClientID, rpCallback + "?x=1"},
		{"no redirect URI", f.reg.ClientID, ""},
		{"an unknown client", "nobody", rpCallback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newCodeRequest(f.reg, "openid")
			r.app.ClientID, r.redirect = tc.client, tc.redirect
			resp := f.browser.get(r.path(), asHTML).wantStatus(t, http.StatusBadRequest)
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Fatalf("400 with Location %q", loc)
			}
			if msg := resp.doc(t).Find("main").Text(); !strings.Contains(msg, "Tell its developers") {
				t.Fatalf("the page does not say what to do: %q", msg)
			}
		})
	}
	t.Run("an authorization request may come as a POSTed form, from another site", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		form := mustParse(t, r.path()).Query()
		r.back(t, f.a, f.browser.post("/oauth2/authorize", form, header{"Sec-Fetch-Site", "cross-site"}, header{"Origin", "https://notes.example"}))
	})
	t.Run("a loopback redirect URI matches any port (RFC 8252 §7.3)", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		r.redirect = "http://127.0.0.1:49152/cb"
		r.code(t, f.a, f.browser)
	})
	t.Run("production refuses plain http but loopback at registration", func(t *testing.T) {
		cfg := f.a.cfg
		cfg.AppEnv = "production"
		p := idp.New(f.a.store, f.a.auth, cfg, f.a.clock.Now, slog.New(slog.DiscardHandler))
		if _, err := p.Register(t.Context(), idp.Registration{Name: "x", RedirectURIs: []string{"http://notes.example/cb"}}); err == nil {
			t.Fatal("registered http://notes.example in production")
		}
		if _, err := p.Register(t.Context(), idp.Registration{Name: "x", RedirectURIs: []string{"http://127.0.0.1/cb"}}); err != nil {
			t.Fatalf("loopback refused: %v", err)
		}
	})
}

func TestAppsPKCE(t *testing.T) {
	f := newAppFixture(t, sqliteDB, firstParty)
	t.Run("missing: the app hears invalid_request", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		r.extra = url.Values{"code_challenge": {""}, "code_challenge_method": {""}}
		r.redirectError(t, f.a, f.browser.get(r.path()), "invalid_request")
	})
	t.Run("plain is refused", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		r.extra = url.Values{"code_challenge": {r.verifier}, "code_challenge_method": {"plain"}}
		r.redirectError(t, f.a, f.browser.get(r.path()), "invalid_request")
	})
	t.Run("no method means plain: refused", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		r.extra = url.Values{"code_challenge_method": {""}}
		r.redirectError(t, f.a, f.browser.get(r.path()), "invalid_request")
	})
	t.Run("a wrong verifier is invalid_grant and spends nothing", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		code := r.code(t, f.a, f.browser)
		right := r.verifier
		r.verifier = right[:len(right)-1] + "A"
		if right[len(right)-1] == 'A' {
			r.verifier = right[:len(right)-1] + "B"
		}
		r.exchange(f.a.client(t), code).oauthError(t, http.StatusBadRequest, "invalid_grant")
		r.verifier = ""
		r.exchange(f.a.client(t), code).oauthError(t, http.StatusBadRequest, "invalid_request")
		r.verifier = right
		r.exchange(f.a.client(t), code).wantStatus(t, http.StatusOK)
	})
}

func TestAppsCodeReplay(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		f := newAppFixture(t, db, firstParty)
		before := scrape(t, f.a)
		r := newCodeRequest(f.reg, "openid offline_access user:read")
		code := r.code(t, f.a, f.browser)
		api := f.a.client(t)
		var tok appToken
		r.exchange(api, code).wantStatus(t, http.StatusOK).decode(t, &tok)
		api.get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
		r.exchange(api, code).oauthError(t, http.StatusBadRequest, "invalid_grant")
		// Every token issued from the code stops working (RFC 6749 §4.1.2).
		api.get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
		api.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
		api.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
			basic(f.reg.ClientID, f.reg.ClientSecret)).oauthError(t, http.StatusBadRequest, "invalid_grant")
		var log eventsBody
		f.browser.get("/api/me/events").wantStatus(t, http.StatusOK).decode(t, &log)
		if !slices.Contains(eventKinds(log.Items), "code_reused") {
			t.Fatalf("security log %v lacks code_reused", eventKinds(log.Items))
		}
		after := scrape(t, f.a)
		for labels, want := range map[string]float64{"method=code,result=success": 1, "method=code,result=failure": 1} {
			if got := value(after, "gatehouse_logins_total", labels) - value(before, "gatehouse_logins_total", labels); got != want {
				t.Errorf("gatehouse_logins_total{%s} moved by %v, want %v", labels, got, want)
			}
		}
	})
}

func TestAppsCodeChecks(t *testing.T) {
	f := newAppFixture(t, sqliteDB, firstParty)
	other := f.a.registerApp(t, idp.Registration{FirstParty: true, RedirectURIs: []string{rpCallback}})
	t.Run("expired on the injected clock", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		code := r.code(t, f.a, f.browser)
		f.a.clock.Advance(f.a.cfg.CodeTTL + time.Second)
		r.exchange(f.a.client(t), code).oauthError(t, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("another client's code", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		code := r.code(t, f.a, f.browser)
		stolen := *r
		stolen.app = other
		stolen.exchange(f.a.client(t), code).oauthError(t, http.StatusBadRequest, "invalid_grant")
		r.exchange(f.a.client(t), code).wantStatus(t, http.StatusOK) // the theft spent nothing
	})
	t.Run("another redirect_uri", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		code := r.code(t, f.a, f.browser)
		r.redirect = "https://notes.example/other"
		r.exchange(f.a.client(t), code).oauthError(t, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("an unknown code", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		r.exchange(f.a.client(t), strings.Repeat("x", 43)).oauthError(t, http.StatusBadRequest, "invalid_grant")
	})
}

func TestAppsClientAuthentication(t *testing.T) {
	f := newAppFixture(t, sqliteDB, firstParty)
	public := f.a.registerApp(t, idp.Registration{FirstParty: true, Public: true, RedirectURIs: []string{rpCallback}})
	api := f.a.client(t)
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("r", 43)}}
	for _, tc := range []struct {
		name    string
		form    url.Values
		headers []header
	}{
		{"a wrong secret by Basic", nil, []header{basic(f.reg.ClientID, "wrong")}},
		{"a wrong secret in the body", url.Values{"client_id": {f.reg.ClientID}, "client_secret": {"wrong"}}, nil},
		{"no secret for a confidential client", url.Values{"client_id": {f.reg.ClientID}}, nil},
		{"a secret for a public client", url.Values{"client_id": {public.ClientID}, "client_secret": {"anything"}}, nil},
		{"an unknown client", url.Values{"client_id": {"nobody"}, "client_secret": {"x"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range refresh {
				form[k] = v
			}
			for k, v := range tc.form {
				form[k] = v
			}
			resp := api.post("/oauth2/token", form, tc.headers...)
			resp.oauthError(t, http.StatusUnauthorized, "invalid_client")
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("Basic and the body at once", func(t *testing.T) {
		form := url.Values{"client_secret": {f.reg.ClientSecret}}
		for k, v := range refresh {
			form[k] = v
		}
		api.post("/oauth2/token", form, basic(f.reg.ClientID, f.reg.ClientSecret)).oauthError(t, http.StatusBadRequest, "invalid_request")
	})
	t.Run("a public client with PKCE alone", func(t *testing.T) {
		r := newCodeRequest(public, "openid")
		r.exchange(api, r.code(t, f.a, f.browser)).wantStatus(t, http.StatusOK)
	})
	t.Run("another grant type", func(t *testing.T) {
		api.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(f.reg.ClientID, f.reg.ClientSecret)).
			oauthError(t, http.StatusBadRequest, "unsupported_grant_type")
	})
	t.Run("a new secret stops the old one at once", func(t *testing.T) {
		p := idp.New(f.a.store, f.a.auth, f.a.cfg, f.a.clock.Now, slog.New(slog.DiscardHandler))
		secret, err := p.NewSecret(t.Context(), f.reg.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		api.post("/oauth2/token", refresh, basic(f.reg.ClientID, f.reg.ClientSecret)).oauthError(t, http.StatusUnauthorized, "invalid_client")
		api.post("/oauth2/token", refresh, basic(f.reg.ClientID, secret)).oauthError(t, http.StatusBadRequest, "invalid_grant")
	})
}

func TestAppsRefreshTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		f := newAppFixture(t, db, firstParty)
		other := f.a.registerApp(t, idp.Registration{FirstParty: true, RedirectURIs: []string{rpCallback}})
		r := newCodeRequest(f.reg, "openid offline_access")
		api := f.a.client(t)
		var tok appToken
		r.exchange(api, r.code(t, f.a, f.browser)).wantStatus(t, http.StatusOK).decode(t, &tok)
		refresh := func(rt string, h header) *response {
			return api.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, h)
		}
		// Another app may not use it, and /api/token takes no app's token.
		refresh(tok.RefreshToken, basic(other.ClientID, other.ClientSecret)).oauthError(t, http.StatusBadRequest, "invalid_grant")
		api.post("/api/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}).wantStatus(t, http.StatusBadRequest)
		var next appToken
		refresh(tok.RefreshToken, basic(f.reg.ClientID, f.reg.ClientSecret)).wantStatus(t, http.StatusOK).decode(t, &next)
		refresh(tok.RefreshToken, basic(f.reg.ClientID, f.reg.ClientSecret)).oauthError(t, http.StatusBadRequest, "invalid_grant")
		refresh(next.RefreshToken, basic(f.reg.ClientID, f.reg.ClientSecret)).oauthError(t, http.StatusBadRequest, "invalid_grant")
		api.get("/oauth2/userinfo", bearer(next.AccessToken)).wantStatus(t, http.StatusUnauthorized)

		// Without offline_access there is no refresh token.
		r = newCodeRequest(f.reg, "openid")
		var short appToken
		r.exchange(api, r.code(t, f.a, f.browser)).wantStatus(t, http.StatusOK).decode(t, &short)
		if short.RefreshToken != "" || short.IDToken == "" {
			t.Fatalf("without offline_access: %+v", short)
		}
	})
}

func TestAppsPromptNoneAndLogin(t *testing.T) {
	f := newAppFixture(t, sqliteDB, idp.Registration{})
	t.Run("prompt=none without a session: login_required", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		r.extra = url.Values{"prompt": {"none"}}
		r.redirectError(t, f.a, f.a.client(t).get(r.path()), "login_required")
	})
	t.Run("prompt=none before consent: consent_required", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		r.extra = url.Values{"prompt": {"none"}}
		r.redirectError(t, f.a, f.browser.get(r.path()), "consent_required")
	})
	t.Run("not logged in: Gatehouse's login, then back, with login_hint", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		r.extra = url.Values{"login_hint": {"ada@example.com"}}
		resp := f.a.client(t).get(r.path(), asHTML).wantStatus(t, http.StatusSeeOther)
		loc := mustParse(t, resp.Header.Get("Location"))
		next := loc.Query().Get("next")
		if loc.Path != "/auth/login" || !strings.HasPrefix(next, "/oauth2/authorize?") {
			t.Fatalf("sent to %s", loc)
		}
		page := f.a.client(t).get(loc.RequestURI(), asHTML).wantStatus(t, http.StatusOK).doc(t)
		if v, _ := page.Find("#username").Attr("value"); v != "ada@example.com" {
			t.Fatalf("login_hint not in the email field: %q", v)
		}
	})
	t.Run("prompt=login asks a logged-in user again", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		r.extra = url.Values{"prompt": {"login"}}
		resp := f.browser.get(r.path(), asHTML).wantStatus(t, http.StatusSeeOther)
		if loc := mustParse(t, resp.Header.Get("Location")); loc.Path != "/auth/reauth" || strings.Contains(loc.Query().Get("next"), "prompt=login") {
			t.Fatalf("sent to %s", loc)
		}
	})
	t.Run("max_age older than the login asks again", func(t *testing.T) {
		f.a.clock.Advance(2 * time.Minute)
		r := newCodeRequest(f.reg, "openid")
		r.extra = url.Values{"max_age": {"60"}}
		resp := f.browser.get(r.path(), asHTML).wantStatus(t, http.StatusSeeOther)
		if loc := mustParse(t, resp.Header.Get("Location")); loc.Path != "/auth/reauth" {
			t.Fatalf("sent to %s", loc)
		}
	})
}

func TestAppsConsent(t *testing.T) {
	f := newAppFixture(t, sqliteDB, idp.Registration{})
	consentForm := func(t *testing.T, r *codeRequest) string {
		t.Helper()
		page := f.browser.get(r.path(), asHTML).wantStatus(t, http.StatusOK).doc(t)
		v, ok := page.Find(`form[action="/oauth2/consent"] input[name="request"]`).Attr("value")
		if !ok {
			t.Fatal("no consent form")
		}
		return v
	}
	t.Run("deny: access_denied", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid email")
		req := consentForm(t, r)
		r.redirectError(t, f.a, f.browser.post("/oauth2/consent", url.Values{"request": {req}, "decision": {"deny"}}, asHTML), "access_denied")
	})
	t.Run("the form is refused from another site", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid email")
		req := consentForm(t, r)
		f.browser.post("/oauth2/consent", url.Values{"request": {req}, "decision": {"allow"}}, asHTML,
			header{"Sec-Fetch-Site", "cross-site"}).wantStatus(t, http.StatusForbidden)
	})
	t.Run("allow is remembered for those scopes, not for more", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid email")
		req := consentForm(t, r)
		r.back(t, f.a, f.browser.post("/oauth2/consent", url.Values{"request": {req}, "decision": {"allow"}}, asHTML))
		r = newCodeRequest(f.reg, "openid email")
		r.code(t, f.a, f.browser)
		r = newCodeRequest(f.reg, "openid email profile")
		consentForm(t, r)
		r = newCodeRequest(f.reg, "openid email")
		r.extra = url.Values{"prompt": {"consent"}}
		consentForm(t, r)
	})
	t.Run("a scope the app may not ask for: invalid_scope", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid admin:write")
		r.redirectError(t, f.a, f.browser.get(r.path()), "invalid_scope")
	})
	t.Run("another response type", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		r.extra = url.Values{"response_type": {"token"}}
		r.redirectError(t, f.a, f.browser.get(r.path()), "unsupported_response_type")
	})
}

func TestAppsLogout(t *testing.T) {
	f := newAppFixture(t, sqliteDB, idp.Registration{FirstParty: true, PostLogoutURIs: []string{"https://notes.example/bye"},
		Scopes: "openid offline_access"})
	r := newCodeRequest(f.reg, "openid offline_access")
	api := f.a.client(t)
	var tok appToken
	r.exchange(api, r.code(t, f.a, f.browser)).wantStatus(t, http.StatusOK).decode(t, &tok)

	t.Run("without id_token_hint: a question, and nothing ends", func(t *testing.T) {
		page := f.browser.get("/oauth2/logout?post_logout_redirect_uri="+url.QueryEscape("https://notes.example/bye")+"&client_id="+f.reg.ClientID, asHTML).
			wantStatus(t, http.StatusOK).doc(t)
		if page.Find("#confirm-logout").Length() != 1 {
			t.Fatal("no confirmation button")
		}
		f.browser.get("/api/me").wantStatus(t, http.StatusOK)
	})
	t.Run("a forged hint is no hint", func(t *testing.T) {
		forged := tok.IDToken[:len(tok.IDToken)-4] + "AAAA"
		f.browser.get("/oauth2/logout?id_token_hint="+forged, asHTML).wantStatus(t, http.StatusOK)
		f.browser.get("/api/me").wantStatus(t, http.StatusOK)
	})
	t.Run("with the hint: the browser's session ends, the app's does not", func(t *testing.T) {
		q := url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {"https://notes.example/bye"}, "state": {"s1"}}
		resp := f.browser.get("/oauth2/logout?"+q.Encode(), asHTML).wantStatus(t, http.StatusFound)
		if loc := resp.Header.Get("Location"); loc != "https://notes.example/bye?state=s1" {
			t.Fatalf("Location %q", loc)
		}
		f.browser.get("/api/me").wantStatus(t, http.StatusUnauthorized)
		api.get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
	})
	t.Run("an unregistered post-logout URI is not followed", func(t *testing.T) {
		f.browser.loginForm("ada@example.com", goodPassword)
		page := f.browser.get("/oauth2/logout?client_id="+f.reg.ClientID+"&post_logout_redirect_uri="+url.QueryEscape("https://evil.example/"), asHTML).
			wantStatus(t, http.StatusOK).doc(t)
		if page.Find(`form[action="/oauth2/logout"]`).Length() != 1 {
			t.Fatal("no confirmation form")
		}
		f.browser.post("/oauth2/logout", url.Values{"client_id": {f.reg.ClientID}, "post_logout_redirect_uri": {"https://evil.example/"}}, asHTML).
			wantStatus(t, http.StatusOK)
		f.browser.get("/api/me").wantStatus(t, http.StatusUnauthorized)
	})
}

func TestAppsUserInfoAndRevocation(t *testing.T) {
	f := newAppFixture(t, sqliteDB, idp.Registration{FirstParty: true, Scopes: "openid email offline_access user:read"})
	api := f.a.client(t)
	t.Run("no openid: 403 insufficient_scope", func(t *testing.T) {
		r := newCodeRequest(f.reg, "user:read")
		var tok appToken
		r.exchange(api, r.code(t, f.a, f.browser)).wantStatus(t, http.StatusOK).decode(t, &tok)
		if tok.IDToken != "" {
			t.Fatal("an ID token without openid")
		}
		api.get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusForbidden)
	})
	t.Run("a bad token: 401 invalid_token", func(t *testing.T) {
		resp := api.get("/oauth2/userinfo", bearer("nonsense")).wantStatus(t, http.StatusUnauthorized)
		if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
		}
		// Gatehouse's own token is no app's.
		own := api.loginAPI("ada@example.com", goodPassword)
		api.get("/oauth2/userinfo", bearer(own.AccessToken)).wantStatus(t, http.StatusUnauthorized)
	})
	t.Run("revoking a refresh token ends its grant; unknown tokens are 200", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid offline_access")
		var tok appToken
		r.exchange(api, r.code(t, f.a, f.browser)).wantStatus(t, http.StatusOK).decode(t, &tok)
		auth := basic(f.reg.ClientID, f.reg.ClientSecret)
		api.post("/oauth2/revoke", url.Values{"token": {"unknown"}}, auth).wantStatus(t, http.StatusOK)
		api.get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
		api.post("/oauth2/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, auth).wantStatus(t, http.StatusOK)
		api.get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
		api.post("/oauth2/revoke", url.Values{"token": {"x"}}, basic(f.reg.ClientID, "wrong")).oauthError(t, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("revoking an access token ends its grant", func(t *testing.T) {
		r := newCodeRequest(f.reg, "openid")
		var tok appToken
		r.exchange(api, r.code(t, f.a, f.browser)).wantStatus(t, http.StatusOK).decode(t, &tok)
		api.post("/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, basic(f.reg.ClientID, f.reg.ClientSecret)).wantStatus(t, http.StatusOK)
		api.get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
	})
}

func TestAppsPasswordGrantAndDiscovery(t *testing.T) {
	f := newAppFixture(t, sqliteDB, firstParty)
	api := f.a.client(t)
	var tok token
	api.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {goodPassword}}).
		wantStatus(t, http.StatusOK).decode(t, &tok)
	api.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
	api.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {"wrong"}}).
		wantProblem(t, http.StatusUnauthorized, "invalid_credentials")

	// …but not from a page of another site: its answer sets the cookie.
	api.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {goodPassword}},
		header{"Sec-Fetch-Site", "cross-site"}, header{"Origin", "https://evil.example"}).wantProblem(t, http.StatusForbidden, "cross_site_request")

	resp := api.get("/.well-known/openid-configuration").wantStatus(t, http.StatusOK)
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Fatalf("Cache-Control %q", cc)
	}
	var m map[string]any
	resp.decode(t, &m)
	if m["issuer"] != f.a.URL || m["token_endpoint"] != f.a.URL+"/oauth2/token" || m["authorization_response_iss_parameter_supported"] != true {
		t.Fatalf("discovery %v", m)
	}
	if s, _ := m["code_challenge_methods_supported"].([]any); len(s) != 1 || s[0] != "S256" {
		t.Fatalf("code_challenge_methods_supported %v", m["code_challenge_methods_supported"])
	}
	// A single-page app on another origin may call the token endpoint.
	pre := api.do(http.MethodOptions, "/oauth2/token", nil, header{"Origin", "https://spa.example"},
		header{"Access-Control-Request-Method", "POST"}, header{"Access-Control-Request-Headers", "content-type"})
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %d, Access-Control-Allow-Origin %q", pre.StatusCode, pre.Header.Get("Access-Control-Allow-Origin"))
	}
	cross := api.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {f.reg.ClientID}},
		header{"Origin", "https://spa.example"}, header{"Sec-Fetch-Site", "cross-site"})
	cross.oauthError(t, http.StatusUnauthorized, "invalid_client") // judged by the client's credentials, not refused as cross-site
	if cross.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("Access-Control-Allow-Origin %q", cross.Header.Get("Access-Control-Allow-Origin"))
	}

	var rfc8414 map[string]any
	api.get("/.well-known/oauth-authorization-server").wantStatus(t, http.StatusOK).decode(t, &rfc8414)
	if rfc8414["token_endpoint"] != f.a.URL+"/oauth2/token" {
		t.Fatalf("RFC 8414 metadata %v", rfc8414)
	}
}

func TestAppsDisabledUserAndRemovedApp(t *testing.T) {
	f := newAppFixture(t, sqliteDB, firstParty)
	api := f.a.client(t)
	r := newCodeRequest(f.reg, "openid offline_access")
	var tok appToken
	r.exchange(api, r.code(t, f.a, f.browser)).wantStatus(t, http.StatusOK).decode(t, &tok)
	code := newCodeRequest(f.reg, "openid")
	pending := code.code(t, f.a, f.browser)

	p := idp.New(f.a.store, f.a.auth, f.a.cfg, f.a.clock.Now, slog.New(slog.DiscardHandler))
	// A password change ends the apps' sessions too, like every other.
	f.browser.post("/api/me/password", map[string]string{"current_password": goodPassword, "new_password": "a brand new passphrase"}).
		wantStatus(t, http.StatusOK)
	api.get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
	r = newCodeRequest(f.reg, "openid offline_access")
	r.exchange(api, r.code(t, f.a, f.browser)).wantStatus(t, http.StatusOK).decode(t, &tok)
	if err := f.a.auth.SetDisabled(t.Context(), "ada@example.com", true); err != nil {
		t.Fatal(err)
	}
	api.get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
	code.exchange(api, pending).wantStatus(t, http.StatusForbidden) // a disabled user gets no tokens
	f.browser.get(newCodeRequest(f.reg, "openid").path(), asHTML).wantStatus(t, http.StatusSeeOther)

	if err := f.a.auth.SetDisabled(t.Context(), "ada@example.com", false); err != nil {
		t.Fatal(err)
	}
	f.browser.loginForm("ada@example.com", "a brand new passphrase")
	r = newCodeRequest(f.reg, "openid")
	r.exchange(api, r.code(t, f.a, f.browser)).wantStatus(t, http.StatusOK).decode(t, &tok)
	if err := p.Remove(t.Context(), f.reg.ClientID); err != nil {
		t.Fatal(err)
	}
	api.get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
	f.browser.get(newCodeRequest(f.reg, "openid").path(), asHTML).wantStatus(t, http.StatusBadRequest)
}

// TestAppsTwoInstances starts the authorization on one instance and
// finishes it — code, refresh, userinfo — on another over one database.
func TestAppsTwoInstances(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		one := newApp(t, db)
		two := newApp(t, db, sameDatabaseAs(one))
		one.createUser(t, "ada@example.com", goodPassword)
		reg := one.registerApp(t, firstParty)
		browser := one.client(t)
		browser.loginForm("ada@example.com", goodPassword)
		r := newCodeRequest(reg, "openid offline_access")
		code := r.code(t, one, browser)
		api := two.client(t)
		var tok appToken
		r.exchange(api, code).wantStatus(t, http.StatusOK).decode(t, &tok)
		one.client(t).get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
		one.client(t).post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
			basic(reg.ClientID, reg.ClientSecret)).wantStatus(t, http.StatusOK)
		r.exchange(one.client(t), code).oauthError(t, http.StatusBadRequest, "invalid_grant")
		two.client(t).get("/oauth2/userinfo", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
	})
}

// TestAppsIDTokenKeys: ID tokens are signed RS256 beside JWT_ALG's EdDSA
// key, both in the JWKS; `keys rotate --alg RS256` gives ID tokens a new
// key while the old one stays published; retiring the current RS256 key
// makes its successor first.
func TestAppsIDTokenKeys(t *testing.T) {
	f := newAppFixture(t, sqliteDB, firstParty)
	api := f.a.client(t)
	idToken := func() string {
		r := newCodeRequest(f.reg, "openid")
		var tok appToken
		r.exchange(api, r.code(t, f.a, f.browser)).wantStatus(t, http.StatusOK).decode(t, &tok)
		return tok.IDToken
	}
	jwks := func() map[string]string {
		var doc struct {
			Keys []struct{ Kid, Alg string } `json:"keys"`
		}
		api.get("/.well-known/jwks.json").wantStatus(t, http.StatusOK).decode(t, &doc)
		out := map[string]string{}
		for _, k := range doc.Keys {
			out[k.Kid] = k.Alg
		}
		return out
	}
	if algs := jwks(); len(algs) != 1 {
		t.Fatalf("before any ID token the JWKS holds %v, want JWT_ALG's key alone", algs)
	}
	first, _ := jwtHeader(t, idToken())["kid"].(string)
	if algs := jwks(); algs[first] != "RS256" || len(algs) != 2 {
		t.Fatalf("JWKS %v, want the EdDSA key and the RS256 key %s", algs, first)
	}
	rotated, err := f.a.auth.RotateKey(t.Context(), "RS256")
	if err != nil {
		t.Fatal(err)
	}
	if kid, _ := jwtHeader(t, idToken())["kid"].(string); kid != rotated {
		t.Fatalf("after rotate --alg RS256 the ID token's kid is %s, want %s", kid, rotated)
	}
	if algs := jwks(); algs[first] != "RS256" || algs[rotated] != "RS256" {
		t.Fatalf("JWKS %v: want the old and the new RS256 key", algs)
	}
	next, err := f.a.auth.RetireKey(t.Context(), rotated)
	if err != nil || next == "" {
		t.Fatalf("retire the current RS256 key: next %q, %v", next, err)
	}
	if kid, _ := jwtHeader(t, idToken())["kid"].(string); kid != next {
		t.Fatalf("after retiring, the ID token's kid is %s, want the successor %s", kid, next)
	}
	if _, ok := jwks()[rotated]; ok {
		t.Fatal("a retired ID-token key is still in the JWKS")
	}
}
