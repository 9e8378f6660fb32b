// Package githubtest is a small fake of GitHub's OAuth App web flow and of the
// two REST endpoints a login needs, served on an httptest listener.
//
// Its URL serves as both the web base (GITHUB_URL: /login/oauth/authorize,
// /login/oauth/access_token) and the API base (GITHUB_API_URL: /user,
// /user/emails). It follows GitHub's documented behaviour where it matters
// for a login:
//
//   - /login/oauth/authorize checks client_id (404 when unknown) and
//     redirect_uri, accepts a PKCE code_challenge (method S256 only), and
//     redirects back at once with code and state, or with
//     error=access_denied when set to deny.
//   - /login/oauth/access_token answers JSON when asked with
//     "Accept: application/json" and a form-encoded body otherwise; errors
//     come with status 200 and an "error" field (incorrect_client_credentials,
//     redirect_uri_mismatch, bad_verification_code), as GitHub does. Codes are
//     single-use and expire after 10 minutes. Client credentials may come as
//     form fields or HTTP Basic.
//   - /user and /user/emails need "Authorization: Bearer <token>" (or
//     "token <token>"); /user/emails answers 404 unless the token was granted
//     the "user:email" or "user" scope.
package githubtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Email is one of a user's email addresses as listed by GET /user/emails.
type Email struct {
	// Email is the address.
	Email string
	// Primary marks the account's primary address.
	Primary bool
	// Verified tells whether GitHub has verified the address.
	Verified bool
	// Visibility is "public", "private", or "" (sent as null).
	Visibility string
}

// User is the GitHub account that authorizes the app.
type User struct {
	// ID is the account's stable numeric id.
	ID int64
	// Login is the account's user name.
	Login string
	// Name is the display name; "" is sent as null.
	Name string
	// Emails are the account's addresses. GET /user shows as "email" the
	// public primary address, else the first public one, else null.
	Emails []Email
}

// Server is a running fake GitHub.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234", for both the web
	// and the API endpoints.
	URL string
	// ClientID and ClientSecret are the OAuth App's credentials.
	ClientID, ClientSecret string

	srv *httptest.Server

	mu            sync.Mutex
	user          User
	deny          bool
	callbackURL   string
	lastAuthorize url.Values
	codes         map[string]grant
	tokens        map[string]grant
}

type grant struct {
	user        User
	redirectURI string
	challenge   string
	scopes      []string
	expires     time.Time
}

// Start serves a fake GitHub on an httptest listener (127.0.0.1:0) with one
// OAuth App (clientID, clientSecret) whose authorization is approved at once
// as user, and stops it in t.Cleanup.
func Start(t testing.TB, clientID, clientSecret string, user User) *Server {
	t.Helper()
	s := &Server{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		user:         user,
		codes:        map[string]grant{},
		tokens:       map[string]grant{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", s.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", s.accessToken)
	mux.HandleFunc("GET /user", s.getUser)
	mux.HandleFunc("GET /user/emails", s.getEmails)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the server; later requests fail with "connection refused",
// which simulates GitHub being down. It is safe to call more than once.
func (s *Server) Close() {
	s.srv.Close()
}

// SetUser makes u the account that approves later authorizations. Tokens
// already issued keep answering for the account they were issued to.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = u
}

// SetDeny makes later authorizations redirect back with error=access_denied
// (deny true) or be approved (deny false), as if the user clicked "Cancel" or
// "Authorize".
func (s *Server) SetDeny(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = deny
}

// SetCallbackURL registers the OAuth App's callback URL. When set, a
// redirect_uri sent to /login/oauth/authorize must equal it exactly (GitHub
// also allows subpaths; this fake is stricter) and an omitted one defaults to
// it. When unset (the default), any absolute http(s) redirect_uri is
// accepted and one is required.
func (s *Server) SetCallbackURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbackURL = u
}

// LastAuthorize returns the query parameters of the latest request to
// /login/oauth/authorize (nil if none), e.g. to check that the app sent
// state, scope and a code_challenge.
func (s *Server) LastAuthorize() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastAuthorize == nil {
		return nil
	}
	return cloneValues(s.lastAuthorize)
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = slices.Clone(vs)
	}
	return c
}

// Authorize plays the browser's part: it GETs authURL (the app's redirect to
// /login/oauth/authorize) and returns the URL the fake redirects back to,
// with code and state (or error), without requesting it. It fails t unless
// the answer is a redirect.
func (s *Server) Authorize(t testing.TB, authURL string) *url.URL {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("githubtest: authorize: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("githubtest: authorize: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("githubtest: authorize: %v", err)
	}
	return loc
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastAuthorize = cloneValues(q)

	if q.Get("client_id") != s.ClientID {
		http.Error(w, "Not Found: unknown client_id", http.StatusNotFound)
		return
	}
	redirect := q.Get("redirect_uri")
	switch {
	case s.callbackURL != "" && redirect == "":
		redirect = s.callbackURL
	case s.callbackURL != "" && redirect != s.callbackURL:
		back(w, r, s.callbackURL, url.Values{
			"error":             {"redirect_uri_mismatch"},
			"error_description": {"The redirect_uri MUST match the registered callback URL for this application."},
			"state":             {q.Get("state")},
		})
		return
	case s.callbackURL == "":
		u, err := url.Parse(redirect)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			http.Error(w, "redirect_uri missing or not an absolute http(s) URL", http.StatusBadRequest)
			return
		}
	}
	challenge := q.Get("code_challenge")
	if challenge != "" && q.Get("code_challenge_method") != "S256" {
		http.Error(w, "code_challenge_method must be S256", http.StatusBadRequest)
		return
	}
	if s.deny {
		back(w, r, redirect, url.Values{
			"error":             {"access_denied"},
			"error_description": {"The user has denied your application access."},
			"error_uri":         {"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied"},
			"state":             {q.Get("state")},
		})
		return
	}
	code := randomString(10)
	s.codes[code] = grant{
		user:        s.user,
		redirectURI: q.Get("redirect_uri"),
		challenge:   challenge,
		scopes:      strings.FieldsFunc(q.Get("scope"), func(r rune) bool { return r == ' ' || r == ',' }),
		expires:     time.Now().Add(10 * time.Minute),
	}
	back(w, r, redirect, url.Values{"code": {code}, "state": {q.Get("state")}})
}

// back redirects to redirect with params added to its query; an empty state
// is left out.
func back(w http.ResponseWriter, r *http.Request, redirect string, params url.Values) {
	u, err := url.Parse(redirect)
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for k, vs := range params {
		if k == "state" && vs[0] == "" {
			continue
		}
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answer := func(v url.Values) {
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			m := map[string]string{}
			for k := range v {
				m[k] = v.Get(k)
			}
			writeJSON(w, http.StatusOK, m)
			return
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		io.WriteString(w, v.Encode())
	}
	fail := func(code, description string) {
		answer(url.Values{
			"error":             {code},
			"error_description": {description},
			"error_uri":         {"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/"},
		})
	}

	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.ClientSecret)) != 1 {
		fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	code := r.PostForm.Get("code")
	g, found := s.codes[code]
	delete(s.codes, code) // single-use, whatever happens next
	if !found || time.Now().After(g.expires) {
		fail("bad_verification_code", "The code passed is incorrect or expired.")
		return
	}
	if ru := r.PostForm.Get("redirect_uri"); ru != "" && g.redirectURI != "" && ru != g.redirectURI {
		fail("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
		return
	}
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			fail("bad_verification_code", "The code_verifier does not match the code_challenge.")
			return
		}
	}
	token := "gho_" + randomString(27)
	s.tokens[token] = g
	answer(url.Values{
		"access_token": {token},
		"token_type":   {"bearer"},
		"scope":        {strings.Join(g.scopes, ",")},
	})
}

// tokenGrant returns the grant behind the request's access token, or answers
// 401 as GitHub does.
func (s *Server) tokenGrant(w http.ResponseWriter, r *http.Request) (grant, bool) {
	auth := r.Header.Get("Authorization")
	var token string
	for _, prefix := range []string{"Bearer ", "bearer ", "token "} {
		if t, ok := strings.CutPrefix(auth, prefix); ok {
			token = t
		}
	}
	s.mu.Lock()
	g, ok := s.tokens[token]
	s.mu.Unlock()
	if token == "" || !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"message":           "Bad credentials",
			"documentation_url": "https://docs.github.com/rest",
			"status":            "401",
		})
		return grant{}, false
	}
	w.Header().Set("X-OAuth-Scopes", strings.Join(g.scopes, ", "))
	return g, true
}

type userJSON struct {
	Login     string  `json:"login"`
	ID        int64   `json:"id"`
	NodeID    string  `json:"node_id"`
	AvatarURL string  `json:"avatar_url"`
	HTMLURL   string  `json:"html_url"`
	Type      string  `json:"type"`
	SiteAdmin bool    `json:"site_admin"`
	Name      *string `json:"name"`
	Email     *string `json:"email"`
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	g, ok := s.tokenGrant(w, r)
	if !ok {
		return
	}
	u := g.user
	out := userJSON{
		Login:     u.Login,
		ID:        u.ID,
		NodeID:    base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "04:User%d", u.ID)),
		AvatarURL: fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", u.ID),
		HTMLURL:   "https://github.com/" + u.Login,
		Type:      "User",
		Name:      nullable(u.Name),
		Email:     nullable(publicEmail(u.Emails)),
	}
	writeJSON(w, http.StatusOK, out)
}

type emailJSON struct {
	Email      string  `json:"email"`
	Primary    bool    `json:"primary"`
	Verified   bool    `json:"verified"`
	Visibility *string `json:"visibility"`
}

func (s *Server) getEmails(w http.ResponseWriter, r *http.Request) {
	g, ok := s.tokenGrant(w, r)
	if !ok {
		return
	}
	w.Header().Set("X-Accepted-OAuth-Scopes", "user, user:email")
	if !slices.Contains(g.scopes, "user:email") && !slices.Contains(g.scopes, "user") {
		writeJSON(w, http.StatusNotFound, map[string]string{
			"message":           "Not Found",
			"documentation_url": "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user",
			"status":            "404",
		})
		return
	}
	out := make([]emailJSON, 0, len(g.user.Emails))
	for _, e := range g.user.Emails {
		out = append(out, emailJSON{Email: e.Email, Primary: e.Primary, Verified: e.Verified, Visibility: nullable(e.Visibility)})
	}
	writeJSON(w, http.StatusOK, out)
}

func publicEmail(emails []Email) string {
	first := ""
	for _, e := range emails {
		if e.Visibility != "public" {
			continue
		}
		if e.Primary {
			return e.Email
		}
		if first == "" {
			first = e.Email
		}
	}
	return first
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}
