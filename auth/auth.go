// Package auth owns identity: argon2id passwords, login throttling,
// server-side sessions behind a gorilla/sessions Store, JWT access tokens
// bound to those sessions, logins through OAuth 2 / OpenID Connect
// providers, and scopes. It is the only way into users, sessions,
// identities and the security log for the handlers and the CLI alike, so
// each rule about them is written once, here or in the models method it
// calls. It returns models.Error values for every failure a client can
// act on. It must not import Echo or templates;
// it uses net/http only for cookies (and provider calls).
//
// Its leaves know nothing of it: auth/token signs and verifies the JWTs
// and keeps the signing keys, auth/seal keeps secrets at rest under
// ENCRYPTION_KEY, auth/provider talks to Google, GitHub and OpenID Connect
// providers, auth/passkey runs the WebAuthn ceremonies of passkeys. auth ties them to sessions and users: who may log in, and
// what a login, a token or a provider's word is worth.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"gatehouse/auth/passkey"
	"gatehouse/auth/provider"
	"gatehouse/auth/token"
	"gatehouse/config"
	"gatehouse/models"
)

// Identity failures, worded for people (contract §4 and §5).
var (
	// ErrInvalidCredentials is the single answer for an unknown email and a
	// wrong password: no account oracle.
	ErrInvalidCredentials = &models.Error{Kind: models.Unauthenticated, Code: "invalid_credentials", Detail: "Incorrect username or password"}
	ErrInactiveUser       = &models.Error{Kind: models.Forbidden, Code: "inactive_user", Detail: "Inactive user"}
	ErrNotAuthenticated   = &models.Error{Kind: models.Unauthenticated, Code: "not_authenticated", Detail: "Not authenticated"}
	// ErrSessionEnded is a cookie whose session expired, was revoked or
	// logged out: still not_authenticated (errors.Is matches
	// ErrNotAuthenticated), but a page says so (state=5). It is a value of
	// its own, compared by identity, because its Code is the same.
	ErrSessionEnded error = &sessionEnded{&models.Error{Kind: models.Unauthenticated, Code: "not_authenticated", Detail: "Your session has expired"}}
	// ErrInvalidToken is an access token that does not verify (the token
	// package's answer) or whose session or key is no longer live.
	ErrInvalidToken = token.ErrInvalid
	// ErrInsufficientScope is the answer when the caller lacks a scope;
	// MissingScope names which.
	ErrInsufficientScope = &models.Error{Kind: models.Forbidden, Code: "insufficient_scope", Detail: "This needs a scope you do not have"}
	ErrBusy              = &models.Error{Kind: models.Unavailable, Code: "busy", Detail: "The server is busy; try again in a moment.", RetryAfter: 2 * time.Second}
	errTooMany           = &models.Error{Kind: models.TooManyRequests, Code: "too_many_attempts", Detail: "Too many failed logins; try again later."}
	errTooManySignups    = &models.Error{Kind: models.TooManyRequests, Code: "too_many_attempts", Detail: "Too many sign-ups from this address; try again later."}
	errTooManyCodes      = &models.Error{Kind: models.TooManyRequests, Code: "too_many_attempts", Detail: "Too many wrong codes for this account; try again later."}
)

// sessionEnded is ErrSessionEnded's type: a not_authenticated Error that
// errors.Is tells apart from ErrNotAuthenticated.
type sessionEnded struct{ err *models.Error }

func (e *sessionEnded) Error() string { return e.err.Error() }
func (e *sessionEnded) Unwrap() error { return e.err }

// MissingScope is ErrInsufficientScope naming scope, the one the caller lacks.
func MissingScope(scope string) error {
	e := *ErrInsufficientScope
	e.Detail = fmt.Sprintf("This needs the %s scope", scope)
	e.Scope = scope
	return &e
}

// Service is the identity service used by the handlers and the CLI.
type Service struct {
	store    *models.Store
	cfg      config.Config
	now      func() time.Time
	log      *slog.Logger
	hasher   *hasher
	sessions *SessionStore
	tokens   *token.Tokens

	providers *provider.Set // logins through Google, GitHub, OIDC: those switched on
	passkeys  *passkey.RP   // the WebAuthn relying party; nil while passkeys are off
	mfa       *secondFactor
	metrics   Metrics // noMetrics unless SetMetrics
}

// New builds the service. now is the clock every expiry is judged by.
// It imports config (a leaf) rather than copying its fields into options.
func New(store *models.Store, cfg config.Config, now func() time.Time, log *slog.Logger) (*Service, error) {
	h, err := newHasher(cfg.Argon2, store, log)
	if err != nil {
		return nil, err
	}
	s := &Service{store: store, cfg: cfg, now: now, log: log, hasher: h, metrics: noMetrics{}}
	s.sessions = newSessionStore(s)
	if s.tokens, err = token.New(store, cfg, now); err != nil {
		return nil, err
	}
	s.providers = provider.New(cfg, now)
	if s.passkeys, err = newPasskeys(cfg.Passkeys()); err != nil {
		return nil, err
	}
	if s.mfa, err = newSecondFactor(cfg.EncryptionKey); err != nil {
		return nil, err
	}
	return s, nil
}

// Caller is who makes a request: the user, the session the request rides
// on, and the scopes it may use there.
type Caller struct {
	User    *models.User
	Session *models.Session
	Scopes  []string
	// Granted is, on the session of an application's grant (contract
	// §10), every scope granted — OpenID Connect's too — as far as the
	// token presented carries them; Scopes are the Gatehouse ones of them.
	Granted []string
	Bearer  bool   // authenticated by an access token rather than the cookie
	token   string // the cookie token of a session just opened, for SaveCookie
}

// Has reports whether the caller may use scope.
func (c *Caller) Has(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// randomID returns n random bytes, base64url-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// EventRetention is how long the security log keeps an event.
const EventRetention = 90 * 24 * time.Hour
