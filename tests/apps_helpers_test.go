package tests

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"gatehouse/idp"
)

// Helpers of the tests of Gatehouse as an OpenID Connect provider
// (contract §10).

// registerApp registers an application as `gatehouse client add` does.
func (a *app) registerApp(t *testing.T, reg idp.Registration) idp.AppView {
	t.Helper()
	if reg.Name == "" {
		reg.Name = "Notes"
	}
	if len(reg.RedirectURIs) == 0 {
		reg.RedirectURIs = []string{rpCallback}
	}
	v, err := idp.New(a.store, a.auth, a.cfg, a.clock.Now, slog.New(slog.DiscardHandler)).Register(context.Background(), reg)
	if err != nil {
		t.Fatalf("register app: %v", err)
	}
	return v
}

// rpCallback is where the tests' applications want their codes: nothing
// listens there, the tests read the Location.
const rpCallback = "https://notes.example/callback"

// codeRequest is one authorization request of a test application.
type codeRequest struct {
	app       idp.AppView
	redirect  string
	scope     string
	state     string
	nonce     string
	verifier  string
	challenge string
	extra     url.Values
}

func newCodeRequest(app idp.AppView, scope string) *codeRequest {
	v := oauth2.GenerateVerifier()
	redirect := rpCallback
	if len(app.RedirectURIs) > 0 {
		redirect = app.RedirectURIs[0]
	}
	return &codeRequest{app: app, redirect: redirect, scope: scope, state: "st-" + oauth2.GenerateVerifier()[:8],
		nonce: "n-" + oauth2.GenerateVerifier()[:8], verifier: v, challenge: oauth2.S256ChallengeFromVerifier(v)}
}

// path is the request's /oauth2/authorize URL.
func (r *codeRequest) path() string {
	q := url.Values{"response_type": {"code"}, "client_id": {r.app.ClientID}, "redirect_uri": {r.redirect},
		"scope": {r.scope}, "state": {r.state}, "nonce": {r.nonce},
		"code_challenge": {r.challenge}, "code_challenge_method": {"S256"}}
	for k, v := range r.extra {
		if len(v) == 0 || v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return "/oauth2/authorize?" + q.Encode()
}

// back reads the app's redirect: its query, after checking it goes to the
// redirect URI with the request's state and Gatehouse's iss (RFC 9207).
func (r *codeRequest) back(t *testing.T, a *app, resp *response) url.Values {
	t.Helper()
	resp.wantStatus(t, http.StatusFound)
	loc := mustParse(t, resp.Header.Get("Location"))
	want := mustParse(t, r.redirect)
	if loc.Scheme != want.Scheme || loc.Host != want.Host || loc.Path != want.Path {
		t.Fatalf("redirected to %s, want %s", loc, r.redirect)
	}
	q := loc.Query()
	if q.Get("state") != r.state || q.Get("iss") != a.URL {
		t.Fatalf("redirect %s: state %q iss %q, want %q and %q", loc, q.Get("state"), q.Get("iss"), r.state, a.URL)
	}
	return q
}

// code runs the request in browser c (logged in, the app allowed) and
// returns the code.
func (r *codeRequest) code(t *testing.T, a *app, c *client) string {
	t.Helper()
	q := r.back(t, a, c.get(r.path()))
	if q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	return q.Get("code")
}

// basic is HTTP Basic client authentication (RFC 6749 §2.3.1).
func basic(id, secret string) header {
	return header{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}
}

// appToken is a token response of the provider.
type appToken struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
}

// exchange posts a code to the token endpoint as the request's app.
func (r *codeRequest) exchange(c *client, code string, headers ...header) *response {
	c.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {r.redirect}, "code_verifier": {r.verifier}}
	if r.app.ClientSecret != "" {
		headers = append(headers, basic(r.app.ClientID, r.app.ClientSecret))
	} else {
		form.Set("client_id", r.app.ClientID)
	}
	return c.post("/oauth2/token", form, headers...)
}

// oauthError is RFC 6749 §5.2's error body (with the contract's detail).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func (r *response) oauthError(t *testing.T, status int, code string) oauthError {
	t.Helper()
	r.wantStatus(t, status)
	var e oauthError
	r.decode(t, &e)
	if e.Error != code || e.Description == "" {
		t.Fatalf("error %+v, want %s with a description", e, code)
	}
	return e
}

// redirectError checks an authorization error sent back to the app.
func (r *codeRequest) redirectError(t *testing.T, a *app, resp *response, code string) {
	t.Helper()
	q := r.back(t, a, resp)
	if q.Get("error") != code || q.Get("error_description") == "" || q.Get("code") != "" {
		t.Fatalf("redirect query %v, want error=%s with a description and no code", q, code)
	}
}

// jwtHeader decodes a JWT's header.
func jwtHeader(t *testing.T, raw string) map[string]any {
	t.Helper()
	head, _, _ := strings.Cut(raw, ".")
	data, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(data, &h); err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	return h
}

// decodeJWTPayload decodes a JWT's claims into v, without verifying it.
func decodeJWTPayload(t *testing.T, raw string, v any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40s", raw)
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
}
