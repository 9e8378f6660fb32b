package idp

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"github.com/zitadel/schema"

	"gatehouse/auth"
	"gatehouse/models"
)

// The authorization endpoint (contract §10; OpenID Connect Core §3.1.2,
// RFC 6749 §4.1, RFC 7636, RFC 9207).

// Decision is what an authorization request leads to: the browser goes
// to Redirect (the app, with a code or an error; or Gatehouse's own login
// or re-authentication, which come back), or the user is asked (Consent).
type Decision struct {
	Redirect string
	Consent  *ConsentPage
}

// ConsentPage is what the consent page shows and posts back.
type ConsentPage struct {
	AppName  string
	ClientID string
	Email    string
	Scopes   []string // what the app will get, in plain words
	Request  string   // the authorization request's parameters, posted back
	// RedirectOrigin is where the form ends: the app's origin (for the
	// page's form-action).
	RedirectOrigin string
}

// errBadRequestPage is an authorization request that cannot be answered
// at its redirect URI: no known client, or a redirect URI not registered
// for it. The browser gets a 400 page and goes nowhere (RFC 6749 §4.1.2.1).
func errBadRequestPage(detail string) error {
	return &models.Error{Kind: models.BadRequest, Code: "invalid_request", Detail: detail}
}

// authParams are the parameters an authorization request may send once.
var authParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "prompt",
	"max_age", "login_hint", "code_challenge", "code_challenge_method", "response_mode", "request", "request_uri"}

// freshLogin is the max_age put on a request that sends the user to log in
// or re-authenticate: it comes back within it, and a request sent back
// without logging in (typed by hand) is sent to log in again.
const freshLogin = 10 * time.Minute

// Authorize decides an authorization request, sent as form (a GET's
// query or a POST's form), from the browser of caller (nil: not logged
// in). consent is the consent page's answer: "allow", "deny", or "" when
// the request comes from the app.
func (p *Provider) Authorize(ctx context.Context, form url.Values, caller *auth.Caller, consent string, client auth.Client) (Decision, error) {
	for _, k := range authParams {
		if len(form[k]) > 1 {
			return Decision{}, errBadRequestPage("The parameter " + k + " was sent more than once.")
		}
	}
	var req oidc.AuthRequest
	if err := p.decoder.Decode(&req, form); err != nil {
		return Decision{}, errBadRequestPage("The authorization request could not be read.")
	}
	if req.ClientID == "" || len(req.ClientID) > 64 {
		return Decision{}, errBadRequestPage("The authorization request names no client_id.")
	}
	app, err := p.store.AppByClientID(ctx, req.ClientID)
	if errors.Is(err, models.ErrNotFound) {
		return Decision{}, errBadRequestPage("The application that sent you here is not registered with Gatehouse. Tell its developers.")
	}
	if err != nil {
		return Decision{}, err
	}
	if req.RedirectURI == "" || !redirectMatches(app.Redirects(), req.RedirectURI) {
		return Decision{}, errBadRequestPage("The application sent a redirect URI that is not registered for it, so Gatehouse will not send you there. Tell its developers.")
	}
	// From here on, every error goes back to the app.
	back := func(code, desc string) (Decision, error) {
		return Decision{Redirect: p.responseURL(req.RedirectURI, url.Values{"error": {code}, "error_description": {desc}}, req.State)}, nil
	}
	switch {
	case req.RequestParam != "" || form.Get("request_uri") != "":
		return back("request_not_supported", "Request objects are not supported.")
	case req.ResponseType != oidc.ResponseTypeCode:
		return back("unsupported_response_type", "Only response_type=code is supported.")
	case req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery:
		return back("invalid_request", "Only response_mode=query is supported.")
	case req.CodeChallenge == "":
		return back("invalid_request", "PKCE is required: send code_challenge and code_challenge_method=S256.")
	case req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return back("invalid_request", "Only code_challenge_method=S256 is supported.")
	case op.ValidateAuthReqCodeChallengeMethod(req.CodeChallenge, req.CodeChallengeMethod) != nil || !wellFormedChallenge(req.CodeChallenge):
		return back("invalid_request", "The code_challenge is not a base64url SHA-256.")
	case len(req.Nonce) > 512 || len(req.State) > 1024 || len(req.LoginHint) > models.MaxEmail:
		return back("invalid_request", "nonce, state or login_hint is too long.")
	}
	for _, pr := range req.Prompt {
		if pr != oidc.PromptNone && pr != oidc.PromptLogin && pr != oidc.PromptConsent && pr != oidc.PromptSelectAccount {
			return back("invalid_request", "Unknown prompt value.")
		}
	}
	maxAge, err := op.ValidateAuthReqPrompt(req.Prompt, req.MaxAge)
	if err != nil {
		return back("invalid_request", "prompt=none must be the only prompt.")
	}
	allowed := auth.SplitScopes(app.Scopes)
	asked := []string(req.Scopes)
	if len(asked) == 0 {
		return back("invalid_scope", "Ask for at least one scope, such as openid.")
	}
	for _, sc := range asked {
		if !slices.Contains(allowed, sc) {
			return back("invalid_scope", "This application may not ask for the scope "+strconv.Quote(sc)+".")
		}
	}
	none := slices.Contains(req.Prompt, oidc.PromptNone)

	// Who is logged in, and how recently.
	if caller == nil || caller.Bearer {
		if none {
			return back("login_required", "Nobody is logged in to Gatehouse in this browser.")
		}
		return Decision{Redirect: "/auth/login?" + p.loginQuery(form, req.LoginHint).Encode()}, nil
	}
	if caller.User.Disabled {
		return back("access_denied", "This account is disabled.")
	}
	authTime := time.Time{}
	if caller.Session.AuthTime.Valid {
		authTime = caller.Session.AuthTime.Time
	}
	// prompt=login (max_age 0 to the library) always asks again.
	if maxAge != nil && (*maxAge == 0 || p.now().Sub(authTime) > time.Duration(*maxAge)*time.Second) {
		if none {
			return back("login_required", "The login is older than max_age allows.")
		}
		return Decision{Redirect: "/auth/reauth?" + url.Values{"next": {AuthorizePath + "?" + continued(form).Encode()}}.Encode()}, nil
	}

	// What the app gets: the OpenID Connect scopes asked for, and those of
	// Gatehouse's that the user has.
	granted := make([]string, 0, len(asked))
	for _, sc := range asked {
		if slices.Contains(auth.OIDCScopes, sc) || slices.Contains(caller.User.ScopeList(), sc) {
			granted = append(granted, sc)
		}
	}
	if !app.FirstParty {
		switch consent {
		case "deny":
			return back("access_denied", "The user did not allow the application.")
		case "allow":
			if err := p.store.SaveConsent(ctx, &models.Consent{UserID: caller.User.ID, ClientID: app.ClientID,
				Scopes: strings.Join(granted, " "), GrantedAt: p.now().UTC()}); err != nil {
				return Decision{}, err
			}
			p.auth.Record(ctx, caller.User.ID, models.EventAppAuthorized, client, models.Truncate(app.Name+": "+strings.Join(granted, " "), 255))
		default:
			given, err := p.store.ConsentFor(ctx, caller.User.ID, app.ClientID)
			if err != nil && !errors.Is(err, models.ErrNotFound) {
				return Decision{}, err
			}
			covered := err == nil && containsAll(auth.SplitScopes(given.Scopes), granted)
			if !covered || slices.Contains(req.Prompt, oidc.PromptConsent) {
				if none {
					return back("consent_required", "The user has not allowed this application yet.")
				}
				return Decision{Consent: &ConsentPage{AppName: app.Name, ClientID: app.ClientID, Email: caller.User.Email,
					Scopes: scopeWords(granted), Request: withoutPrompt(form, oidc.PromptConsent).Encode(),
					RedirectOrigin: originOf(req.RedirectURI)}}, nil
			}
		}
	}

	code := randomValue(32)
	row := &models.AuthCode{CodeHash: digest(code), ClientID: app.ClientID, UserID: caller.User.ID,
		RedirectURI: req.RedirectURI, Challenge: req.CodeChallenge, Nonce: req.Nonce, Scopes: strings.Join(granted, " "),
		SID: caller.Session.PublicID, AuthTime: authTime.UTC(), AMR: caller.Session.AMR,
		ExpiresAt: p.now().Add(p.cfg.CodeTTL).UTC()}
	if err := p.store.CreateAuthCode(ctx, row); err != nil {
		return Decision{}, err
	}
	return Decision{Redirect: p.responseURL(req.RedirectURI, url.Values{"code": {code}}, req.State)}, nil
}

// FormTarget is the origin of the app an authorization request (next, a
// local path) would send the browser to at the end, if it is one with a
// registered redirect URI; "" otherwise.
func (p *Provider) FormTarget(ctx context.Context, next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Path != AuthorizePath || u.Host != "" {
		return ""
	}
	q := u.Query()
	clientID, redirect := q.Get("client_id"), q.Get("redirect_uri")
	if clientID == "" || len(clientID) > 64 || redirect == "" {
		return ""
	}
	app, err := p.store.AppByClientID(ctx, clientID)
	if err != nil || !redirectMatches(app.Redirects(), redirect) {
		return ""
	}
	return originOf(redirect)
}

// originOf is a redirect URI's origin as a CSP source: scheme://host[:port]
// for the web, scheme: for a native app's own scheme.
func originOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return ""
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}

// responseURL is redirectURI with params, state (when sent) and iss
// (RFC 9207) added to its query.
func (p *Provider) responseURL(redirectURI string, params url.Values, state string) string {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return redirectURI // registered URIs parse; checked at registration
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", p.issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// loginQuery sends the user to Gatehouse's login and back to the request
// (continued), with the login page's email filled from login_hint.
func (p *Provider) loginQuery(form url.Values, hint string) url.Values {
	q := url.Values{"next": {AuthorizePath + "?" + continued(form).Encode()}}
	if hint != "" {
		q.Set("login_hint", hint)
	}
	return q
}

// continued is the request as it comes back after a login or
// re-authentication: prompt=login has been honoured (it would ask again
// forever), and max_age is at most freshLogin, which the login just met.
func continued(form url.Values) url.Values {
	q := withoutPrompt(form, oidc.PromptLogin)
	limit := int(freshLogin / time.Second)
	if ma, err := strconv.Atoi(q.Get("max_age")); err != nil || ma < limit {
		q.Set("max_age", strconv.Itoa(limit))
	}
	return q
}

// withoutPrompt is form without the prompt value drop.
func withoutPrompt(form url.Values, drop string) url.Values {
	q := url.Values{}
	for k, v := range form {
		q[k] = slices.Clone(v)
	}
	if pr := q.Get("prompt"); pr != "" {
		kept := slices.DeleteFunc(strings.Fields(pr), func(s string) bool { return s == drop })
		if len(kept) == 0 {
			q.Del("prompt")
		} else {
			q.Set("prompt", strings.Join(kept, " "))
		}
	}
	return q
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// wellFormedChallenge reports whether c is what S256 makes: 43
// characters of base64url.
func wellFormedChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// scopeWord says in plain words what each scope lets an app do.
var scopeWord = map[string]string{
	"openid":             "Know who you are when you log in with Gatehouse",
	"profile":            "See your name",
	"email":              "See your email address, and whether it is confirmed",
	"offline_access":     "Stay connected while you are away, until you disconnect it",
	auth.ScopeUserRead:   "See your Gatehouse account",
	auth.ScopeUserWrite:  "Change your Gatehouse account",
	auth.ScopeAdminRead:  "See other people's Gatehouse accounts",
	auth.ScopeAdminWrite: "Change other people's Gatehouse accounts",
}

func scopeWords(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if w, ok := scopeWord[s]; ok {
			out = append(out, w)
		}
	}
	return out
}

// newDecoder reads authorization requests into the library's type.
func newDecoder() *schema.Decoder {
	d := schema.NewDecoder()
	d.IgnoreUnknownKeys(true)
	return d
}
