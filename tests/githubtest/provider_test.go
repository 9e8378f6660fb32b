package githubtest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"gatehouse/tests/githubtest"
)

const (
	clientID     = "gh-client"
	clientSecret = "gh-secret"
	redirectURI  = "http://127.0.0.1:1/auth/github/callback"
)

var octocat = githubtest.User{
	ID:    583231,
	Login: "octocat",
	Name:  "The Octocat",
	Emails: []githubtest.Email{
		{Email: "octocat@github.com", Primary: true, Verified: true, Visibility: "public"},
		{Email: "octo@example.com", Primary: false, Verified: false},
	},
}

func config(s *githubtest.Server) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     s.ClientID,
		ClientSecret: s.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:  s.URL + "/login/oauth/authorize",
			TokenURL: s.URL + "/login/oauth/access_token",
		},
		RedirectURL: redirectURI,
		Scopes:      []string{"read:user", "user:email"},
	}
}

// authorize runs the browser part with PKCE and returns the code.
func authorize(t *testing.T, s *githubtest.Server, cfg *oauth2.Config, verifier string) string {
	t.Helper()
	state := oauth2.GenerateVerifier()
	back := s.Authorize(t, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirectURI {
		t.Fatalf("redirected to %q, want %q", got, redirectURI)
	}
	if back.Query().Get("state") != state {
		t.Fatalf("state = %q, want %q", back.Query().Get("state"), state)
	}
	code := back.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", back)
	}
	return code
}

func getJSON(t *testing.T, c *http.Client, u string, v any) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: Content-Type %q", u, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", u, err, body)
	}
	return resp.StatusCode
}

func TestFullFlowWithPKCE(t *testing.T) {
	t.Parallel()
	s := githubtest.Start(t, clientID, clientSecret, octocat)
	cfg := config(s)
	verifier := oauth2.GenerateVerifier()
	code := authorize(t, s, cfg, verifier)

	last := s.LastAuthorize()
	if last.Get("code_challenge") != oauth2.S256ChallengeFromVerifier(verifier) || last.Get("code_challenge_method") != "S256" {
		t.Errorf("recorded authorize request %v lacks the S256 challenge", last)
	}
	if last.Get("scope") != "read:user user:email" {
		t.Errorf("scope = %q", last.Get("scope"))
	}

	ctx := t.Context()
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if !strings.HasPrefix(tok.AccessToken, "gho_") || tok.Extra("scope") != "read:user,user:email" {
		t.Errorf("token = %q scope %v", tok.AccessToken, tok.Extra("scope"))
	}
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Error("second exchange of the same code succeeded")
	}

	api := cfg.Client(ctx, tok)
	var user map[string]any
	if st := getJSON(t, api, s.URL+"/user", &user); st != http.StatusOK {
		t.Fatalf("/user: status %d", st)
	}
	if user["id"] != float64(583231) || user["login"] != "octocat" || user["name"] != "The Octocat" || user["email"] != "octocat@github.com" {
		t.Errorf("/user = %v", user)
	}

	var emails []struct {
		Email      string  `json:"email"`
		Primary    bool    `json:"primary"`
		Verified   bool    `json:"verified"`
		Visibility *string `json:"visibility"`
	}
	if st := getJSON(t, api, s.URL+"/user/emails", &emails); st != http.StatusOK {
		t.Fatalf("/user/emails: status %d", st)
	}
	if len(emails) != 2 || emails[0].Email != "octocat@github.com" || !emails[0].Primary || !emails[0].Verified ||
		emails[0].Visibility == nil || *emails[0].Visibility != "public" ||
		emails[1].Verified || emails[1].Visibility != nil {
		t.Errorf("/user/emails = %+v", emails)
	}
}

func TestPKCEVerifierIsChecked(t *testing.T) {
	t.Parallel()
	s := githubtest.Start(t, clientID, clientSecret, octocat)
	cfg := config(s)
	ctx := t.Context()

	code := authorize(t, s, cfg, oauth2.GenerateVerifier())
	_, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "bad_verification_code" {
		t.Fatalf("wrong verifier: err = %v, want bad_verification_code", err)
	}

	code = authorize(t, s, cfg, oauth2.GenerateVerifier())
	if _, err := cfg.Exchange(ctx, code); err == nil {
		t.Fatal("missing verifier accepted")
	}
}

func TestTokenErrorsAndFormEncoding(t *testing.T) {
	t.Parallel()
	s := githubtest.Start(t, clientID, clientSecret, octocat)
	cfg := config(s)
	ctx := t.Context()

	bad := *cfg
	bad.ClientSecret = "nope"
	verifier := oauth2.GenerateVerifier()
	code := authorize(t, s, cfg, verifier)
	_, err := bad.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "incorrect_client_credentials" {
		t.Fatalf("bad secret: err = %v", err)
	}

	// A plain POST without Accept: application/json gets a form-encoded body.
	form := url.Values{
		"client_id": {clientID}, "client_secret": {clientSecret},
		"code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier},
	}
	resp, err := http.PostForm(s.URL+"/login/oauth/access_token", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	vals, err := url.ParseQuery(string(body))
	if err != nil || resp.StatusCode != http.StatusOK || vals.Get("token_type") != "bearer" || vals.Get("access_token") == "" {
		t.Fatalf("form answer %s %q (%v)", resp.Status, body, err)
	}

	// The token works with the "token" scheme too; a bad one gets 401.
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/user", nil)
	req.Header.Set("Authorization", "token "+vals.Get("access_token"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/user with token scheme: %s", resp.Status)
	}
	var msg map[string]any
	if st := getJSON(t, http.DefaultClient, s.URL+"/user", &msg); st != http.StatusUnauthorized || msg["message"] != "Bad credentials" {
		t.Errorf("/user without token: %d %v", st, msg)
	}
}

func TestDenyUserChangeAndScopes(t *testing.T) {
	t.Parallel()
	s := githubtest.Start(t, clientID, clientSecret, octocat)
	cfg := config(s)
	ctx := t.Context()

	s.SetDeny(true)
	back := s.Authorize(t, cfg.AuthCodeURL("st"))
	if q := back.Query(); q.Get("error") != "access_denied" || q.Get("state") != "st" || q.Get("code") != "" {
		t.Fatalf("deny: redirected to %s", back)
	}
	s.SetDeny(false)

	// A user without a public email and only an unverified address, who
	// grants no email scope.
	s.SetUser(githubtest.User{ID: 7, Login: "hidden", Emails: []githubtest.Email{
		{Email: "hidden@example.com", Primary: true, Verified: false, Visibility: "private"},
	}})
	noEmail := *cfg
	noEmail.Scopes = []string{"read:user"}
	verifier := oauth2.GenerateVerifier()
	code := authorize(t, s, &noEmail, verifier)
	tok, err := noEmail.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	api := noEmail.Client(ctx, tok)
	var user map[string]any
	getJSON(t, api, s.URL+"/user", &user)
	if user["id"] != float64(7) || user["email"] != nil || user["name"] != nil {
		t.Errorf("/user = %v, want id 7 with null email and name", user)
	}
	var msg map[string]any
	if st := getJSON(t, api, s.URL+"/user/emails", &msg); st != http.StatusNotFound {
		t.Errorf("/user/emails without user:email scope: status %d, want 404", st)
	}
}

func TestRedirectURIValidation(t *testing.T) {
	t.Parallel()
	s := githubtest.Start(t, clientID, clientSecret, octocat)
	cfg := config(s)

	resp, err := http.Get(strings.Replace(cfg.AuthCodeURL("st"), "client_id=gh-client", "client_id=other", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown client_id: %s, want 404", resp.Status)
	}

	s.SetCallbackURL(redirectURI)
	other := *cfg
	other.RedirectURL = "http://127.0.0.1:1/elsewhere"
	back := s.Authorize(t, other.AuthCodeURL("st"))
	if back.Query().Get("error") != "redirect_uri_mismatch" || back.Path != "/auth/github/callback" {
		t.Errorf("mismatched redirect_uri: redirected to %s", back)
	}
	authorize(t, s, cfg, oauth2.GenerateVerifier())
}

func TestClose(t *testing.T) {
	t.Parallel()
	s := githubtest.Start(t, clientID, clientSecret, octocat)
	s.Close()
	if _, err := http.Get(s.URL + "/user"); err == nil {
		t.Fatal("request after Close succeeded")
	}
}
