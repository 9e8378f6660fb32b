package oidctest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"gatehouse/tests/oidctest"
)

const redirectURI = "http://127.0.0.1:1/auth/oidc/callback"

func jarClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

type flow struct {
	cfg      *oauth2.Config
	provider *oidc.Provider
	state    string
	nonce    string
	verifier string
	authURL  string
}

// newFlow discovers p with go-oidc and builds an authorization URL with
// state, nonce and a PKCE S256 challenge.
func newFlow(t *testing.T, p *oidctest.Provider, redirect string) *flow {
	t.Helper()
	prov, err := oidc.NewProvider(t.Context(), p.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	f := &flow{
		cfg: &oauth2.Config{
			ClientID:     p.ClientID,
			ClientSecret: p.ClientSecret,
			Endpoint:     prov.Endpoint(),
			RedirectURL:  redirect,
			Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
		},
		provider: prov,
		state:    oauth2.GenerateVerifier(),
		nonce:    oauth2.GenerateVerifier(),
		verifier: oauth2.GenerateVerifier(),
	}
	f.authURL = f.cfg.AuthCodeURL(f.state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))
	return f
}

// callbackCode checks the redirect back to the app and returns its code.
func (f *flow) callbackCode(t *testing.T, back *url.URL) string {
	t.Helper()
	if got, want := back.Scheme+"://"+back.Host+back.Path, f.cfg.RedirectURL; got != want {
		t.Fatalf("redirected to %q, want %q", got, want)
	}
	q := back.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("provider answered error=%s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != f.state {
		t.Fatalf("state = %q, want %q", q.Get("state"), f.state)
	}
	code := q.Get("code")
	if code == "" {
		t.Fatal("no code in callback")
	}
	return code
}

func TestFullCodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, redirectURI)
	if !strings.HasPrefix(p.Issuer, "http://127.0.0.1:") {
		t.Fatalf("issuer = %q", p.Issuer)
	}
	username, password := p.User()
	if want := "test-user@127.0.0.1"; username != want || password != "verysecure" {
		t.Fatalf("User() = %q, %q; want %q, verysecure", username, password, want)
	}

	f := newFlow(t, p, redirectURI)
	if !strings.HasPrefix(f.authURL, p.Issuer+"/auth?") {
		t.Fatalf("authorization URL %q", f.authURL)
	}
	code := f.callbackCode(t, p.Login(t, jarClient(t), f.authURL, username, password))

	ctx := t.Context()
	tok, err := f.cfg.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, ok := tok.Extra("id_token").(string)
	if !ok || rawID == "" {
		t.Fatal("no id_token in token response")
	}
	idt, err := f.provider.Verifier(&oidc.Config{ClientID: p.ClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify id token: %v", err)
	}
	if idt.Issuer != p.Issuer {
		t.Errorf("iss = %q, want %q", idt.Issuer, p.Issuer)
	}
	if idt.Nonce != f.nonce {
		t.Errorf("nonce = %q, want %q", idt.Nonce, f.nonce)
	}
	if idt.Subject != "id1" {
		t.Errorf("sub = %q, want id1", idt.Subject)
	}
	var idClaims map[string]any
	if err := idt.Claims(&idClaims); err != nil {
		t.Fatal(err)
	}
	if _, has := idClaims["email"]; has {
		t.Errorf("ID token unexpectedly carries email: %v", idClaims)
	}
	if _, has := idClaims["email_verified"]; has {
		t.Errorf("ID token unexpectedly carries email_verified: %v", idClaims)
	}

	ui, err := f.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Subject != idt.Subject {
		t.Errorf("userinfo sub = %q, want %q", ui.Subject, idt.Subject)
	}
	if ui.Email != "test-user@zitadel.ch" || !ui.EmailVerified {
		t.Errorf("userinfo email = %q verified=%v, want test-user@zitadel.ch verified", ui.Email, ui.EmailVerified)
	}
	demo, ok := p.LookupUser(username)
	if !ok || demo.Subject != "id1" || demo.Email != ui.Email {
		t.Errorf("LookupUser(%q) = %+v, %v", username, demo, ok)
	}

	// Codes are single-use.
	if _, err := f.cfg.Exchange(ctx, code, oauth2.VerifierOption(f.verifier)); err == nil {
		t.Error("second exchange of the same code succeeded")
	}
}

func TestPKCEIsEnforced(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, redirectURI)
	username, password := p.User()
	ctx := t.Context()

	t.Run("missing verifier", func(t *testing.T) {
		f := newFlow(t, p, redirectURI)
		code := f.callbackCode(t, p.Login(t, jarClient(t), f.authURL, username, password))
		if _, err := f.cfg.Exchange(ctx, code); err == nil || !strings.Contains(err.Error(), "code_verifier required") {
			t.Fatalf("exchange without verifier: err = %v, want code_verifier required", err)
		}
	})
	t.Run("wrong verifier", func(t *testing.T) {
		f := newFlow(t, p, redirectURI)
		code := f.callbackCode(t, p.Login(t, jarClient(t), f.authURL, username, password))
		_, err := f.cfg.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("exchange with wrong verifier: err = %v, want invalid_grant", err)
		}
	})
	t.Run("verifier without challenge", func(t *testing.T) {
		f := newFlow(t, p, redirectURI)
		authURL := f.cfg.AuthCodeURL(f.state, oidc.Nonce(f.nonce)) // no challenge
		code := f.callbackCode(t, p.Login(t, jarClient(t), authURL, username, password))
		if _, err := f.cfg.Exchange(ctx, code, oauth2.VerifierOption(f.verifier)); err == nil {
			t.Fatal("exchange with an unexpected verifier succeeded")
		}
	})
	t.Run("no PKCE at all, secret in form", func(t *testing.T) {
		f := newFlow(t, p, redirectURI)
		f.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		authURL := f.cfg.AuthCodeURL(f.state, oidc.Nonce(f.nonce))
		code := f.callbackCode(t, p.Login(t, jarClient(t), authURL, username, password))
		if _, err := f.cfg.Exchange(ctx, code); err != nil {
			t.Fatalf("exchange without PKCE: %v", err)
		}
	})
}

func TestRedirectURIMustMatchExactly(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, redirectURI)
	username, password := p.User()

	f := newFlow(t, p, redirectURI+"/")
	if _, err := p.TryLogin(jarClient(t), f.authURL, username, password); err == nil {
		t.Fatal("login with an unregistered redirect URI succeeded")
	}

	// A redirect URI registered after Start works.
	late := "http://127.0.0.1:2/late/callback"
	p.AddRedirectURI(late)
	f = newFlow(t, p, late)
	f.callbackCode(t, p.Login(t, nil, f.authURL, username, password))
}

func TestWrongPasswordIsRefused(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, redirectURI)
	username, _ := p.User()
	f := newFlow(t, p, redirectURI)
	_, err := p.TryLogin(jarClient(t), f.authURL, username, "wrong")
	if !errors.Is(err, oidctest.ErrLoginRefused) {
		t.Fatalf("err = %v, want ErrLoginRefused", err)
	}
}

func TestAddUserWithUnverifiedEmail(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, redirectURI)
	u := p.AddUser(oidctest.User{Username: "mallory", Email: "victim@example.com", EmailVerified: false})
	if u.Subject != "sub-mallory" || u.Password != oidctest.DefaultPassword {
		t.Fatalf("AddUser returned %+v", u)
	}

	f := newFlow(t, p, redirectURI)
	code := f.callbackCode(t, p.Login(t, jarClient(t), f.authURL, u.Username, u.Password))
	ctx := t.Context()
	tok, err := f.cfg.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idt, err := f.provider.Verifier(&oidc.Config{ClientID: p.ClientID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if idt.Subject != u.Subject {
		t.Errorf("sub = %q, want %q", idt.Subject, u.Subject)
	}
	ui, err := f.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var claims map[string]any
	if err := ui.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	// The provider omits email_verified when it is false (omitempty).
	if _, has := claims["email_verified"]; ui.Email != "victim@example.com" || ui.EmailVerified || has {
		t.Errorf("userinfo = %v, want victim@example.com without email_verified", claims)
	}

	// Replacing the user changes later /userinfo answers.
	u.EmailVerified = true
	p.AddUser(u)
	ui, err = f.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if !ui.EmailVerified {
		t.Error("email_verified still false after AddUser replaced the user")
	}
}

func TestCloseSimulatesOutage(t *testing.T) {
	t.Parallel()
	p := oidctest.Start(t, redirectURI)
	if _, err := oidc.NewProvider(context.Background(), p.Issuer); err != nil {
		t.Fatalf("discovery before Close: %v", err)
	}
	p.Close()
	if _, err := oidc.NewProvider(context.Background(), p.Issuer); err == nil {
		t.Fatal("discovery after Close succeeded")
	}
	p.Close() // idempotent; Cleanup calls it again too
}
