// Package idp makes Gatehouse an OpenID Connect provider for a team's
// other applications (contract §10, "Log in with Gatehouse"): the
// registered applications (clients), the authorization-code flow with
// PKCE, consent, the token endpoint's grants, ID tokens, UserInfo,
// revocation and RP-initiated logout.
//
// The protocol's parsing and rules come from github.com/zitadel/oidc/v3
// (its oidc package: the request and claim types, PKCE and claim hashes;
// its op package's checks of prompt and code_challenge_method), while
// Gatehouse decides what its own contract says: who is logged in (auth),
// which session a grant opens, which key signs. The library's HTTP
// handlers are not mounted — see docs/apps.md for why — so every route
// goes through Echo's middleware and the one error path of handlers.
//
// idp uses auth (sessions, tokens, keys) and models (its tables); auth
// never imports it. It knows nothing of HTTP beyond URLs and forms.
package idp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/zitadel/schema"

	"gatehouse/auth"
	"gatehouse/config"
	"gatehouse/models"
)

// Provider is Gatehouse as an OpenID Connect provider.
type Provider struct {
	store  *models.Store
	auth   *auth.Service
	cfg    config.Config
	now    func() time.Time
	log    *slog.Logger
	issuer string
	// decoder reads authorization requests (the library's schema
	// decoder, as its op package uses it).
	decoder *schema.Decoder
}

// New returns the provider of cfg's BASE_URL (the issuer).
func New(store *models.Store, a *auth.Service, cfg config.Config, now func() time.Time, log *slog.Logger) *Provider {
	return &Provider{store: store, auth: a, cfg: cfg, now: now, log: log, issuer: a.Issuer(), decoder: newDecoder()}
}

// The paths of the provider's routes (contract §10).
const (
	AuthorizePath = "/oauth2/authorize"
	ConsentPath   = "/oauth2/consent"
	TokenPath     = "/oauth2/token"
	UserInfoPath  = "/oauth2/userinfo"
	RevokePath    = "/oauth2/revoke"
	LogoutPath    = "/oauth2/logout"
	DiscoveryPath = "/.well-known/openid-configuration"
)

// The token endpoint's errors (RFC 6749 §5.2), in the contract's shape.
var (
	ErrInvalidClient = &models.Error{Kind: models.Unauthenticated, Code: "invalid_client",
		Detail: "Client authentication failed: check the client id and secret."}
	errInvalidGrant = &models.Error{Kind: models.BadRequest, Code: "invalid_grant",
		Detail: "The authorization code is invalid, expired, already used, or was issued to another client or redirect URI, or the code_verifier does not match."}
	errUnsupportedGrant = &models.Error{Kind: models.BadRequest, Code: "unsupported_grant_type",
		Detail: "Use grant_type authorization_code, refresh_token or password."}
)

// invalidRequest is RFC 6749's invalid_request with what was wrong.
func invalidRequest(detail string) error {
	return &models.Error{Kind: models.BadRequest, Code: "invalid_request", Detail: detail}
}

// randomValue returns n random bytes, base64url-encoded.
func randomValue(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// digest is the SHA-256 of a secret value, as stored.
func digest(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}
