package tests

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"gatehouse/idp"
)

// Gatehouse as an OpenID Connect provider (contract §10), end to end with
// real relying-party libraries: coreos/go-oidc and x/oauth2 here, zitadel's
// rp and Python's Authlib in apps_clients_test.go, Chromium in
// browser_apps_test.go. The security rules of RFC 9700 are each a test in
// apps_security_test.go.

// TestAppsCodeFlowGoOIDC is the whole life of an application's grant on
// each database: discovery, the consent page, the code exchange with
// PKCE, the ID token verified against the JWKS, UserInfo, the access
// token on Gatehouse's own API, refresh, My sessions and Connected apps,
// the browser's logout (which leaves the app logged in), refresh-token
// reuse (which ends the grant) and disconnecting the app.
func TestAppsCodeFlowGoOIDC(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		a := newApp(t, db)
		u := a.createUser(t, "ada@example.com", goodPassword, withName("Ada Lovelace"))
		reg := a.registerApp(t, idp.Registration{Name: "Notes", RedirectURIs: []string{rpCallback},
			Scopes: "openid profile email offline_access user:read"})
		browser := a.client(t)
		browser.loginForm("ada@example.com", goodPassword)

		ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
		provider, err := oidc.NewProvider(ctx, a.URL) // checks that issuer = BASE_URL
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		cfg := oauth2.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: rpCallback, Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess, "user:read"}}
		verifier, nonce, state := oauth2.GenerateVerifier(), "nonce-"+oauth2.GenerateVerifier()[:10], "state-1"
		authURL := mustParse(t, cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))

		// A third-party app: the consent page names it and what it gets.
		page := browser.get(authURL.RequestURI(), asHTML).wantStatus(t, http.StatusOK).doc(t)
		if h := page.Find("h1").Text(); !strings.Contains(h, "Notes") {
			t.Fatalf("consent page heading %q does not name the app", h)
		}
		if n := page.Find("#consent-scopes li").Length(); n != 5 {
			t.Fatalf("consent page lists %d things, want 5 (openid, profile, email, offline_access, user:read)", n)
		}
		request, _ := page.Find(`input[name="request"]`).Attr("value")
		resp := browser.post("/oauth2/consent", url.Values{"request": {request}, "decision": {"allow"}}, asHTML)
		req := &codeRequest{redirect: rpCallback, state: state}
		code := req.back(t, a, resp).Get("code")
		if len(code) < 43 {
			t.Fatalf("code %q is shorter than 256 bits", code)
		}

		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if tok.TokenType != "Bearer" || tok.RefreshToken == "" {
			t.Fatalf("token type %q, refresh token %q", tok.TokenType, tok.RefreshToken)
		}
		rawID, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&oidc.Config{ClientID: reg.ClientID}).Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Fatalf("at_hash: %v", err)
		}
		var claims struct {
			Email         string   `json:"email"`
			EmailVerified bool     `json:"email_verified"`
			Name          string   `json:"name"`
			AMR           []string `json:"amr"`
			SID           string   `json:"sid"`
			AuthTime      int64    `json:"auth_time"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if idt.Nonce != nonce || idt.Subject != strconv.FormatUint(u.ID, 10) || claims.Email != u.Email || !claims.EmailVerified ||
			claims.Name != "Ada Lovelace" || !slices.Equal(claims.AMR, []string{"pwd"}) || claims.SID == "" || claims.AuthTime == 0 {
			t.Fatalf("ID token: nonce %q sub %q claims %+v", idt.Nonce, idt.Subject, claims)
		}
		if alg := jwtHeader(t, rawID)["alg"]; alg != "RS256" {
			t.Fatalf("ID token alg %v, want RS256 by default", alg)
		}

		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil || info.Email != u.Email || info.Subject != idt.Subject {
			t.Fatalf("userinfo %+v: %v", info, err)
		}

		// The access token works on Gatehouse's API for the scopes given.
		api := a.client(t)
		var me userBody
		api.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &me)
		if me.Email != u.Email {
			t.Fatalf("/api/me with the app's token: %+v", me)
		}
		api.post("/api/posts", map[string]string{"title": "t", "body": "b"}, bearer(tok.AccessToken)).wantStatus(t, http.StatusForbidden)

		// My sessions names the app; Connected apps lists it.
		var sessions struct {
			Items []struct {
				ID  string `json:"id"`
				App *struct {
					ClientID string `json:"client_id"`
					Name     string `json:"name"`
				} `json:"app"`
			} `json:"items"`
		}
		browser.get("/api/me/sessions").wantStatus(t, http.StatusOK).decode(t, &sessions)
		appSessions := 0
		for _, s := range sessions.Items {
			if s.App != nil && s.App.ClientID == reg.ClientID && s.App.Name == "Notes" {
				appSessions++
			}
		}
		if appSessions != 1 || len(sessions.Items) != 2 {
			t.Fatalf("sessions %+v: want the browser's and one of Notes", sessions.Items)
		}
		var apps struct {
			Items []struct {
				ClientID   string   `json:"client_id"`
				Name       string   `json:"name"`
				Scopes     []string `json:"scopes"`
				GrantedAt  string   `json:"granted_at"`
				LastUsedAt *string  `json:"last_used_at"`
			} `json:"items"`
		}
		browser.get("/api/me/apps").wantStatus(t, http.StatusOK).decode(t, &apps)
		if len(apps.Items) != 1 || apps.Items[0].Name != "Notes" || len(apps.Items[0].Scopes) != 5 || apps.Items[0].LastUsedAt == nil {
			t.Fatalf("connected apps %+v", apps.Items)
		}

		// Refresh: a new pair; the old refresh token is spent.
		fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh: %v", err)
		}
		api.get("/api/me", bearer(fresh.AccessToken)).wantStatus(t, http.StatusOK)

		// Logging out of Gatehouse does not log the app out.
		browser.post("/auth/logout", nil, asHTML).wantStatus(t, http.StatusSeeOther)
		api.get("/api/me", bearer(fresh.AccessToken)).wantStatus(t, http.StatusOK)

		// The spent refresh token again: the grant ends (RFC 9700 §4.14).
		reuse := api.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
			basic(reg.ClientID, reg.ClientSecret))
		reuse.oauthError(t, http.StatusBadRequest, "invalid_grant")
		api.get("/api/me", bearer(fresh.AccessToken)).wantStatus(t, http.StatusUnauthorized)
		if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err == nil {
			t.Fatal("userinfo answered a token of an ended grant")
		}

		// A second grant: the consent is remembered, no page.
		browser.loginForm("ada@example.com", goodPassword)
		verifier = oauth2.GenerateVerifier()
		authURL = mustParse(t, cfg.AuthCodeURL("state-2", oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
		code = (&codeRequest{redirect: rpCallback, state: "state-2"}).back(t, a, browser.get(authURL.RequestURI())).Get("code")
		tok, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("second exchange: %v", err)
		}

		// Disconnecting the app ends its tokens and forgets the consent.
		browser.post("/api/me/apps/"+reg.ClientID+"/revoke", nil).wantStatus(t, http.StatusOK)
		api.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
		browser.get(authURL.RequestURI(), asHTML).wantStatus(t, http.StatusOK) // the consent page again
		browser.post("/api/me/apps/"+reg.ClientID+"/revoke", nil).wantStatus(t, http.StatusNotFound)
		var log eventsBody
		browser.get("/api/me/events").wantStatus(t, http.StatusOK).decode(t, &log)
		kinds := eventKinds(log.Items)
		for _, k := range []string{"app_authorized", "app_revoked", "refresh_token_reused"} {
			if !slices.Contains(kinds, k) {
				t.Errorf("security log %v lacks %s", kinds, k)
			}
		}
	})
}
