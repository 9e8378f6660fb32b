// Package oidctest runs a real OpenID Connect provider on loopback for tests.
//
// The provider is the example server of github.com/zitadel/oidc/v3
// (packages example/server/exampleop and example/server/storage), served on an
// httptest listener whose URL is the issuer. It offers discovery, a login page,
// exact redirect-URI checks, PKCE (S256), signed RS256 ID tokens carrying the
// nonce, and a /userinfo endpoint.
//
// Facts about the example provider worth knowing when testing an app with it:
//
//   - The ID token holds no email or profile claims when an access token is
//     issued (the code flow): email and email_verified come only from
//     /userinfo, and only when the "email" scope was asked for. A false
//     email_verified is omitted from the JSON, so treat "absent" as "not
//     verified".
//   - When the authorization request carried a code_challenge, the token
//     request must carry the matching code_verifier; without a challenge a
//     verifier is refused ("code_verifier unexpectedly provided").
//   - The authorization endpoint is <issuer>/auth (not /authorize).
//   - The login form posts the fields username, password and the hidden id.
package oidctest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// DefaultPassword is the password of the demo users and of users added
// without one.
const DefaultPassword = "verysecure"

// User is an account on the provider.
type User struct {
	// Subject is the stable user id sent as the "sub" claim. AddUser makes
	// one from Username when it is empty.
	Subject string
	// Username is the login name typed into the provider's login form.
	Username string
	// Password is the login password; AddUser uses DefaultPassword when empty.
	Password string
	// GivenName and FamilyName make up the "name" claim (scope "profile").
	GivenName, FamilyName string
	// Email and EmailVerified are sent from /userinfo (scope "email").
	Email         string
	EmailVerified bool
}

// Provider is a running OpenID Connect provider with one confidential web
// client registered.
type Provider struct {
	// Issuer is the provider's URL and issuer, e.g. "http://127.0.0.1:41234",
	// without a trailing slash. Discovery is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret identify the registered web client. It
	// authenticates at the token endpoint with HTTP Basic or form fields.
	ClientID, ClientSecret string

	srv          *httptest.Server
	users        *userStore
	demoUsername string

	mu           sync.Mutex
	redirectURIs []string
}

// Start serves a provider on an httptest listener (127.0.0.1:0) whose issuer
// is its own URL, registers one confidential web client allowed to redirect to
// each of redirectURIs (exact match; more can be added with AddRedirectURI),
// and stops it in t.Cleanup.
//
// The provider knows the example's two demo users: "test-user@127.0.0.1"
// (subject "id1", email "test-user@zitadel.ch", verified) and "test-user2"
// (subject "id2", email "test-user2@zitadel.ch", verified), both with
// password DefaultPassword. More can be added with AddUser.
func Start(t testing.TB, redirectURIs ...string) *Provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()

	p := &Provider{
		Issuer:       issuer,
		ClientID:     "gatehouse-test-client",
		ClientSecret: "gatehouse-test-secret",
		srv:          srv,
		users:        newUserStore(issuer),
		redirectURIs: slices.Clone(redirectURIs),
	}
	p.demoUsername = p.users.GetUserByID("id1").Username
	// A private client map, so that parallel providers do not share the
	// package-level map behind storage.RegisterClients.
	clients := map[string]*storage.Client{
		p.ClientID: storage.WebClient(p.ClientID, p.ClientSecret, p.currentRedirectURIs()...),
	}
	st := &providerStorage{Storage: storage.NewStorageWithClients(p.users, clients), p: p}

	// A nil logger keeps exampleop from replacing the process-wide slog default.
	// op.WithAllowInsecure (which allows an http issuer) is always set by exampleop.
	srv.Config.Handler = exampleop.SetupServer(issuer, st, nil, false)
	srv.Start()
	if srv.URL != issuer {
		srv.Close()
		t.Fatalf("oidctest: server URL %q differs from issuer %q", srv.URL, issuer)
	}
	t.Cleanup(p.Close)
	return p
}

// Close stops the provider; later requests to it fail with "connection
// refused", which simulates the provider being down. It is safe to call more
// than once.
func (p *Provider) Close() {
	p.srv.Close()
}

// AddRedirectURI allows the client to redirect to uri as well (exact match).
// Useful when the app's URL is only known after the provider has started.
func (p *Provider) AddRedirectURI(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.redirectURIs, uri) {
		p.redirectURIs = append(p.redirectURIs, uri)
	}
}

func (p *Provider) currentRedirectURIs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.redirectURIs) == 0 {
		// storage.WebClient would otherwise fall back to its own default URI.
		return []string{"http://invalid.invalid/no-redirect-uri-registered"}
	}
	return slices.Clone(p.redirectURIs)
}

// User returns the demo user's login name and password:
// "test-user@127.0.0.1" and "verysecure". Its subject is "id1" and its
// (verified) email "test-user@zitadel.ch"; see LookupUser.
func (p *Provider) User() (username, password string) {
	if u := p.users.GetUserByUsername(p.demoUsername); u != nil {
		return u.Username, u.Password
	}
	return p.demoUsername, DefaultPassword
}

// LookupUser returns the user with the given login name.
func (p *Provider) LookupUser(username string) (User, bool) {
	u := p.users.GetUserByUsername(username)
	if u == nil {
		return User{}, false
	}
	return User{
		Subject:       u.ID,
		Username:      u.Username,
		Password:      u.Password,
		GivenName:     u.FirstName,
		FamilyName:    u.LastName,
		Email:         u.Email,
		EmailVerified: u.EmailVerified,
	}, true
}

// AddUser adds u, or replaces the user with the same Subject or Username, and
// returns it as stored. An empty Subject becomes "sub-" + Username and an
// empty Password becomes DefaultPassword. It panics if Username is empty.
// Changes apply to later logins and to /userinfo answers for existing tokens.
func (p *Provider) AddUser(u User) User {
	if u.Username == "" {
		panic("oidctest: AddUser needs a Username")
	}
	if u.Subject == "" {
		u.Subject = "sub-" + u.Username
	}
	if u.Password == "" {
		u.Password = DefaultPassword
	}
	p.users.put(&storage.User{
		ID:                u.Subject,
		Username:          u.Username,
		Password:          u.Password,
		FirstName:         u.GivenName,
		LastName:          u.FamilyName,
		Email:             u.Email,
		EmailVerified:     u.EmailVerified,
		PreferredLanguage: language.English,
	})
	return u
}

// Login plays a browser's part of the flow. Given the authorization URL the
// app redirected to, it GETs it with client (whose cookie jar, if any, is
// used; its redirect policy is not), follows redirects within the provider,
// fills in and submits the login form with username and password, follows
// redirects again, and returns the first redirect URL that leaves the
// provider, i.e. the app's redirect URI with code and state (or with error),
// without requesting it. client may be nil. It fails t on any other outcome,
// including a refused login.
func (p *Provider) Login(t testing.TB, client *http.Client, authURL, username, password string) *url.URL {
	t.Helper()
	u, err := p.TryLogin(client, authURL, username, password)
	if err != nil {
		t.Fatalf("oidctest: login: %v", err)
	}
	return u
}

// ErrLoginRefused is returned (wrapped) by TryLogin when the provider shows
// the login form again after it was submitted, e.g. for a wrong password.
var ErrLoginRefused = errors.New("login refused")

var (
	formActionRE = regexp.MustCompile(`<form[^>]*\saction="([^"]*)"`)
	hiddenIDRE   = regexp.MustCompile(`<input type="hidden" name="id" value="([^"]*)"`)
	loginErrorRE = regexp.MustCompile(`(?s)<p style="color:red[^"]*">(.*?)</p>`)
)

// TryLogin is Login returning an error instead of failing a test. The error
// wraps ErrLoginRefused when the credentials were refused.
func (p *Provider) TryLogin(client *http.Client, authURL, username, password string) (*url.URL, error) {
	if client == nil {
		jar, _ := cookiejar.New(nil)
		client = &http.Client{Jar: jar}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	issuer, err := url.Parse(p.Issuer)
	if err != nil {
		return nil, err
	}
	next, err := http.NewRequest(http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	submitted := false
	for range 20 {
		resp, err := c.Do(next)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return nil, fmt.Errorf("%s %s: redirect without location: %w", next.Method, next.URL, err)
			}
			if loc.Scheme != issuer.Scheme || loc.Host != issuer.Host {
				return loc, nil
			}
			next, err = http.NewRequest(http.MethodGet, loc.String(), nil)
			if err != nil {
				return nil, err
			}
		case resp.StatusCode == http.StatusOK && formActionRE.Match(body):
			if submitted {
				msg := "no message"
				if m := loginErrorRE.FindSubmatch(body); m != nil {
					msg = strings.TrimSpace(html.UnescapeString(string(m[1])))
				}
				return nil, fmt.Errorf("%w: %s", ErrLoginRefused, msg)
			}
			action := formActionRE.FindSubmatch(body)
			id := hiddenIDRE.FindSubmatch(body)
			if id == nil {
				return nil, fmt.Errorf("login page %s has no hidden id field", next.URL)
			}
			target, err := next.URL.Parse(html.UnescapeString(string(action[1])))
			if err != nil {
				return nil, err
			}
			form := url.Values{
				"username": {username},
				"password": {password},
				"id":       {html.UnescapeString(string(id[1]))},
			}
			next, err = http.NewRequest(http.MethodPost, target.String(), strings.NewReader(form.Encode()))
			if err != nil {
				return nil, err
			}
			next.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			submitted = true
		default:
			return nil, fmt.Errorf("%s %s: unexpected %s: %s", next.Method, next.URL, resp.Status, strings.TrimSpace(string(body)))
		}
	}
	return nil, errors.New("too many redirects")
}

// providerStorage is the example storage with the client looked up afresh on
// each request, so that AddRedirectURI takes effect.
type providerStorage struct {
	*storage.Storage
	p *Provider
}

// GetClientByClientID implements op.Storage.
func (s *providerStorage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	if clientID != s.p.ClientID {
		return s.Storage.GetClientByClientID(ctx, clientID)
	}
	c := storage.WebClient(s.p.ClientID, s.p.ClientSecret, s.p.currentRedirectURIs()...)
	return storage.RedirectGlobsClient(c), nil
}

// userStore implements storage.UserStore and allows changes while serving.
type userStore struct {
	mu    sync.Mutex
	users map[string]*storage.User // by ID
}

func newUserStore(issuer string) *userStore {
	demo := storage.NewUserStore(issuer)
	s := &userStore{users: map[string]*storage.User{}}
	for _, id := range []string{"id1", "id2"} {
		if u := demo.GetUserByID(id); u != nil {
			c := *u
			s.users[id] = &c
		}
	}
	return s
}

func (s *userStore) put(u *storage.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, old := range s.users {
		if old.Username == u.Username {
			delete(s.users, id)
		}
	}
	s.users[u.ID] = u
}

// GetUserByID implements storage.UserStore.
func (s *userStore) GetUserByID(id string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[id]; ok {
		c := *u
		return &c
	}
	return nil
}

// GetUserByUsername implements storage.UserStore.
func (s *userStore) GetUserByUsername(username string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Username == username {
			c := *u
			return &c
		}
	}
	return nil
}

// ExampleClientID implements storage.UserStore.
func (s *userStore) ExampleClientID() string {
	return storage.ServiceUserID
}
