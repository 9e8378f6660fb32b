package tests

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/config"
	"gatehouse/tests/githubtest"
	"gatehouse/tests/oidctest"
)

// withOIDCProvider configures the running provider p as Google
// (GOOGLE_ISSUER, name "google") or as the generic provider (OIDC_ISSUER,
// name "oidc", shown as "Acme SSO"), and registers the app's callback
// with it.
func withOIDCProvider(name string, p *oidctest.Provider) option {
	return func(cfg *config.Config) {
		p.AddRedirectURI(cfg.BaseURL.String() + "/auth/oauth/" + name + "/callback")
		prov := config.Provider{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Issuer: p.Issuer}
		switch name {
		case "google":
			prov.Name = "Google"
			cfg.Google = prov
		case "oidc":
			prov.Name = "Acme SSO"
			cfg.OIDC = prov
		default:
			panic("withOIDCProvider: google or oidc, not " + name)
		}
	}
}

// withGitHub configures the fake GitHub gh (web and API) and registers the
// app's callback as the OAuth App's callback URL.
func withGitHub(gh *githubtest.Server) option {
	return func(cfg *config.Config) {
		gh.SetCallbackURL(cfg.BaseURL.String() + "/auth/oauth/github/callback")
		cfg.GitHub = config.Provider{ClientID: gh.ClientID, ClientSecret: gh.ClientSecret,
			URL: gh.URL, APIURL: gh.URL, Name: "GitHub"}
	}
}

func autoRegister(on bool) option {
	return func(cfg *config.Config) { cfg.OAuthAutoRegister = on }
}

func allowEmails(emails ...string) option {
	return func(cfg *config.Config) { cfg.OAuthAllowedEmails = emails }
}

func allowDomains(domains ...string) option {
	return func(cfg *config.Config) { cfg.OAuthAllowedDomains = domains }
}

// startOIDC starts a real OpenID Connect provider with no redirect URI
// yet: withOIDCProvider registers the app's.
func startOIDC(t *testing.T) *oidctest.Provider {
	t.Helper()
	return oidctest.Start(t)
}

// octocat is the fake GitHub's default account: a verified primary email.
var octocat = githubtest.User{
	ID: 583231, Login: "octocat", Name: "The Octocat",
	Emails: []githubtest.Email{
		{Email: "octocat@github.com", Primary: true, Verified: true, Visibility: "public"},
		{Email: "octo@example.com"},
	},
}

func startGitHub(t *testing.T, u githubtest.User) *githubtest.Server {
	t.Helper()
	return githubtest.Start(t, "gh-client", "gh-secret", u)
}

// demoEmail is the oidctest demo user's verified email.
const demoEmail = "test-user@zitadel.ch"

// format is one of the two ways a client drives the flow.
type format struct {
	name string
	json bool
}

var formats = []format{{"HTML", false}, {"JSON", true}}

// beginOAuth begins a login through provider name in the browser c: the
// login start's 302 (HTML) or the url of its /api twin (JSON), and returns
// the provider's authorization URL. Either way the jar gets the binding
// cookie.
func (c *client) beginOAuth(name string, json bool) string {
	c.t.Helper()
	if json {
		var out struct {
			URL string `json:"url"`
		}
		c.get("/api/oauth/"+name+"/login").wantStatus(c.t, http.StatusOK).decode(c.t, &out)
		if out.URL == "" {
			c.t.Fatalf("no url in the login start's answer")
		}
		return out.URL
	}
	return c.get("/auth/oauth/"+name+"/login", asHTML).wantStatus(c.t, http.StatusFound).Header.Get("Location")
}

// loginAt plays the browser at the OIDC provider p: it logs in as username
// and returns the URL p sends the browser back to (code and state).
func (c *client) loginAt(p *oidctest.Provider, authURL, username string) *url.URL {
	c.t.Helper()
	return p.Login(c.t, c.http, authURL, username, oidctest.DefaultPassword)
}

// arrive begins a login through the OIDC provider p configured as name
// and logs in there as username; it returns the callback URL.
func (c *client) arrive(p *oidctest.Provider, name string, json bool, username string) *url.URL {
	c.t.Helper()
	return c.loginAt(p, c.beginOAuth(name, json), username)
}

// arriveGitHub begins a login through the fake GitHub; it returns the
// callback URL.
func (c *client) arriveGitHub(gh *githubtest.Server, json bool) *url.URL {
	c.t.Helper()
	return gh.Authorize(c.t, c.beginOAuth("github", json))
}

// callback delivers the provider's answer to the app: to the callback
// page, or (JSON) to its /api twin with the same query, as a single-page
// app does.
func (c *client) callback(back *url.URL, json bool, headers ...header) *response {
	c.t.Helper()
	path := back.Path
	h := asHTML
	if json {
		path, h = "/api"+strings.TrimPrefix(path, "/auth"), asJSON
	}
	return c.get(path+"?"+back.RawQuery, append([]header{h}, headers...)...)
}

// wantFailure checks a refusal: its status, and the JSON error code or the
// message the page shows.
func (r *response) wantFailure(t *testing.T, json bool, status int, code, message string) {
	t.Helper()
	r.wantStatus(t, status)
	if json {
		p := r.problem(t)
		if p.Error != code || p.Detail != message {
			t.Errorf("error = %q %q, want %q %q", p.Error, p.Detail, code, message)
		}
		return
	}
	if got := strings.TrimSpace(r.doc(t).Find("#problem").Text()); got != message {
		t.Errorf("page message = %q, want %q", got, message)
	}
}

// oauthTokenBody is the JSON callback's answer.
type oauthTokenBody struct {
	token
	User userBody `json:"user"`
}

// me returns /api/me as the client's cookie session (or headers) sees it.
func (c *client) me(headers ...header) userBody {
	c.t.Helper()
	var u userBody
	c.get("/api/me", headers...).wantStatus(c.t, http.StatusOK).decode(c.t, &u)
	return u
}

// Messages of the OAuth refusals, as the contract's people read them.
const (
	msgInvalidState   = "This login has expired or was already used. Please start again."
	msgOAuthFailed    = "The provider's answer could not be verified. Please try again."
	msgUnavailable    = "The login provider is not answering. Please try again in a moment."
	msgNotAllowed     = "This account is not allowed to log in here."
	msgNotRegistered  = "There is no account for this login, and new accounts cannot be created this way."
	msgUnverified     = "Your email address at the provider is not verified. Verify it there and try again."
	msgLastMethod     = "This is your only way to log in. Add another before you disconnect it."
	msgCancelled      = "Login was cancelled"
	msgDenied         = "The provider did not allow the login."
	msgInactive       = "Inactive user"
	msgAccountExists  = "An account with this email already exists. Log in with its password, then connect this provider from My info."
	msgNotFound       = "Not found"
	msgIdentityTaken  = "This account at the provider is already connected to another user."
	msgAlreadyLinked  = "Your account is already connected to another account at this provider. Disconnect it first."
	codeInvalidState  = "invalid_state"
	codeOAuthFailed   = "oauth_failed"
	codeUnavailable   = "provider_unavailable"
	codeNotAllowed    = "not_allowed"
	codeUnverified    = "unverified_email"
	codeLastMethod    = "last_login_method"
	codeDenied        = "oauth_denied"
	codeInactive      = "inactive_user"
	codeNotFound      = "not_found"
	codeIdentityTaken = "identity_taken"
)

// setCookie puts a cookie for the app in the browser's jar.
func (c *client) setCookie(name, value string) {
	u, _ := url.Parse(c.app.URL)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}
