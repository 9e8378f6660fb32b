// Package token signs and verifies Gatehouse's access tokens (JWTs,
// contract §4) and keeps the keys they are signed with: the ring of
// signing keys in the database, the JWKS, and listing, rotating and
// retiring keys (contract §8). It knows nothing of sessions or users
// beyond what a token says: whether the session a token names still
// lives, and whether its key was retired since it was verified, is the
// caller's to check on every request.
package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/config"
	"gatehouse/models"
)

// ErrInvalid is every token that does not verify: a bad signature, an
// algorithm or key other than the configured ones, a wrong issuer, a
// missing claim, or an expired token.
var ErrInvalid = &models.Error{Kind: models.Unauthenticated, Code: "invalid_token", Detail: "The access token is invalid or has expired"}

// Response is the RFC 6749 §5.1 token response. Issue leaves
// RefreshToken empty: a refresh token is the caller's to add.
type Response struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// Subject is whom a token is issued to: a user, in one session, with the
// scopes the token grants.
type Subject struct {
	UserID uint64
	Email  string
	Scopes []string
	// SID is the session's public id, and SessionExpires when it ends:
	// a token never outlives its session.
	SID            string
	SessionExpires time.Time
	// ClientID is the application whose grant the session is (contract
	// §10): its tokens name it as their audience and client_id.
	ClientID string
}

// Claims are an access token's claims (contract §4).
type Claims struct {
	Email string `json:"email"`
	Scope string `json:"scope"`
	SID   string `json:"sid"`
	// ClientID is the application a token was issued to (contract §10).
	ClientID string `json:"client_id,omitempty"`
	jwt.RegisteredClaims
	kid string // the header's key id, kept with the claims in the cache
}

// KID is the key id the token's header named; empty under HS256.
func (c *Claims) KID() string { return c.kid }

// Tokens signs and checks access tokens with the one algorithm JWT_ALG
// names: EdDSA or RS256 with the ring's keys (each token's header names
// its key in kid), or HS256 with JWT_SECRET (keys is nil).
type Tokens struct {
	store    *models.Store
	method   jwt.SigningMethod
	alg      string
	secret   []byte
	keys     *keyRing
	issuer   string
	ttl      time.Duration
	now      func() time.Time
	verified *verifiedTokens

	cfg    config.Config
	keyTTL time.Duration // the longest life of any token the keys sign
	// idRings are the keys of ID tokens of algorithms other than JWT_ALG
	// (idtoken.go), made at their first use.
	idMu    sync.Mutex
	idRings map[string]*keyRing
}

// New returns the tokens of cfg (JWT_ALG, JWT_SECRET, ENCRYPTION_KEY,
// BASE_URL as the issuer, ACCESS_TOKEN_TTL), with now as their clock.
// Under EdDSA or RS256 it reads the signing keys from store, making the
// first one on the first start.
func New(store *models.Store, cfg config.Config, now func() time.Time) (*Tokens, error) {
	t := &Tokens{store: store, method: jwt.GetSigningMethod(cfg.JWTAlg), alg: cfg.JWTAlg, secret: cfg.JWTSecret, issuer: cfg.BaseURL.String(),
		ttl: cfg.AccessTokenTTL, now: now, verified: newVerifiedTokens(verifiedTokensMax),
		cfg: cfg, keyTTL: max(cfg.AccessTokenTTL, cfg.IDTokenTTL), idRings: map[string]*keyRing{}}
	if t.method == nil {
		return nil, fmt.Errorf("JWT_ALG %q is not supported", cfg.JWTAlg)
	}
	if cfg.JWTAlg == config.JWTAlgHS256 {
		return t, nil
	}
	keys, err := newKeyRing(store, cfg, cfg.JWTAlg, t.keyTTL, now)
	if err != nil {
		return nil, err
	}
	// The first start makes the first key; every start reads them.
	ctx, cancel := context.WithTimeout(context.Background(), 2*cfg.DBTimeout)
	defer cancel()
	if err := keys.load(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	t.keys = keys
	return t, nil
}

// UsesKeys reports whether tokens are signed with the ring's keys
// (JWT_ALG EdDSA or RS256) rather than with JWT_SECRET.
func (t *Tokens) UsesKeys() bool { return t.keys != nil }

// Issue signs an access token for sub, valid for ACCESS_TOKEN_TTL but
// never past the end of its session.
func (t *Tokens) Issue(ctx context.Context, sub Subject) (Response, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	if sub.SessionExpires.Before(exp) {
		exp = sub.SessionExpires // a token never outlives its session
	}
	scope := strings.Join(sub.Scopes, " ")
	cl := Claims{
		Email:    sub.Email,
		Scope:    scope,
		SID:      sub.SID,
		ClientID: sub.ClientID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   strconv.FormatUint(sub.UserID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        randomID(16),
		},
	}
	if sub.ClientID != "" {
		cl.Audience = jwt.ClaimStrings{sub.ClientID}
	}
	tok := jwt.NewWithClaims(t.method, cl)
	var key any = t.secret
	if t.keys != nil {
		signer, err := t.keys.current(ctx)
		if err != nil {
			return Response{}, err
		}
		tok.Header["kid"] = signer.kid
		key = signer.key
	}
	signed, err := tok.SignedString(key)
	if err != nil {
		return Response{}, err
	}
	return Response{AccessToken: signed, TokenType: "bearer", ExpiresIn: int(exp.Sub(now).Seconds()), Scope: scope}, nil
}

// Verify checks the signature, the algorithm (only the configured one:
// "none" and every other are refused), the issuer and the expiry: ErrInvalid
// if any fails, or the store's error when the keys could not be read. A
// token that verified before is taken from the cache of verified tokens
// until its exp, so the caller must check on every request all the same
// that the session it names lives and that its key (KID) is not retired.
func (t *Tokens) Verify(ctx context.Context, raw string) (*Claims, error) {
	key := sha256.Sum256([]byte(raw))
	if cl, ok := t.verified.get(key, t.now()); ok {
		return cl, nil
	}
	cl, err := t.check(ctx, raw)
	if err != nil {
		return nil, err
	}
	t.verified.put(key, cl, t.now())
	return cl, nil
}

// check checks a token the long way: decode, check the signature with
// the key its kid names (under HS256: JWT_SECRET) and the claims. Only the
// configured algorithm passes WithValidMethods, so neither "none" nor an
// HS256 token under EdDSA or RS256 (the public key taken for an HMAC
// secret) reaches a key; a kid the ring does not know, even after a
// reload, is refused.
func (t *Tokens) check(ctx context.Context, raw string) (*Claims, error) {
	var cl Claims
	keyFor := func(tok *jwt.Token) (any, error) {
		if t.keys == nil {
			return t.secret, nil
		}
		kid, _ := tok.Header["kid"].(string)
		if kid == "" {
			return nil, errNoKey
		}
		cl.kid = kid
		return t.keys.publicKey(ctx, kid)
	}
	_, err := jwt.ParseWithClaims(raw, &cl, keyFor,
		jwt.WithValidMethods([]string{t.method.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		if errors.Is(err, models.ErrUnavailable) {
			return nil, err // the keys could not be read: 503, not a forgery
		}
		return nil, ErrInvalid
	}
	if cl.SID == "" || cl.Subject == "" {
		return nil, ErrInvalid
	}
	// A token issued "in the future" is refused, allowing for clocks that
	// differ by up to maxClockSkew: another instance may have issued it a
	// moment after this one's second began. (golang-jwt's own iat check
	// has no leeway of its own; its WithLeeway would stretch exp too.)
	if cl.IssuedAt == nil || cl.IssuedAt.After(t.now().Add(maxClockSkew)) {
		return nil, ErrInvalid
	}
	return &cl, nil
}

// maxClockSkew is how far apart the clocks of two instances may be.
const maxClockSkew = 5 * time.Second

// verifiedTokens remembers the claims of tokens whose signature and
// claims already verified, keyed by the SHA-256 of the whole token, so a
// client that sends the same token on every request is not decoded and
// checked again each time. An entry is never used past its token's exp;
// the cache holds at most max entries. It decides nothing about sessions:
// a token is still valid only while its session lives, read every time.
type verifiedTokens struct {
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]*Claims
	max int
}

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{m: make(map[[sha256.Size]byte]*Claims), max: max}
}

func (v *verifiedTokens) get(key [sha256.Size]byte, now time.Time) (*Claims, bool) {
	v.mu.RLock()
	cl, ok := v.m[key]
	v.mu.RUnlock()
	if !ok || !now.Before(cl.ExpiresAt.Time) {
		return nil, false
	}
	return cl, true
}

// put adds a verified token. When the cache is full it first drops the
// expired entries, then, if it is still full, arbitrary ones (Go's map
// order): a miss only costs a full check.
func (v *verifiedTokens) put(key [sha256.Size]byte, cl *Claims, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= v.max {
		for k, c := range v.m {
			if !now.Before(c.ExpiresAt.Time) {
				delete(v.m, k)
			}
		}
		for k := range v.m {
			if len(v.m) < v.max {
				break
			}
			delete(v.m, k)
		}
	}
	v.m[key] = cl
}

// verifiedTokensMax bounds the cache of verified tokens: about 1 KiB an
// entry, so a few MiB at most.
const verifiedTokensMax = 4096

// randomID returns n random bytes, base64url-encoded: a token's jti, a
// key's kid.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}
