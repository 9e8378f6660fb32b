package auth

import (
	"context"
	"crypto/sha256"
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

// TokenResponse is the RFC 6749 §5.1 token response. RefreshToken is
// there when the response opens or continues a login (IssueToken,
// Refresh).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// claims are an access token's claims (contract §4).
type claims struct {
	Email string `json:"email"`
	Scope string `json:"scope"`
	SID   string `json:"sid"`
	jwt.RegisteredClaims
	kid string // the header's key id, kept with the claims in the cache
}

// tokens signs and checks access tokens with the one algorithm JWT_ALG
// names: EdDSA or RS256 with the ring's keys (each token's header names
// its key in kid), or HS256 with JWT_SECRET (keys is nil).
type tokens struct {
	method   jwt.SigningMethod
	secret   []byte
	keys     *keyRing
	issuer   string
	ttl      time.Duration
	now      func() time.Time
	verified *verifiedTokens
}

func newTokens(store *models.Store, cfg config.Config, now func() time.Time) (*tokens, error) {
	t := &tokens{method: jwt.GetSigningMethod(cfg.JWTAlg), secret: cfg.JWTSecret, issuer: cfg.BaseURL.String(),
		ttl: cfg.AccessTokenTTL, now: now, verified: newVerifiedTokens(verifiedTokensMax)}
	if t.method == nil {
		return nil, fmt.Errorf("JWT_ALG %q is not supported", cfg.JWTAlg)
	}
	if cfg.JWTAlg == config.JWTAlgHS256 {
		return t, nil
	}
	keys, err := newKeyRing(store, cfg, now)
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

func (t *tokens) issue(ctx context.Context, c *Caller) (TokenResponse, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	if c.Session.ExpiresAt.Before(exp) {
		exp = c.Session.ExpiresAt // a token never outlives its session
	}
	scope := strings.Join(c.Scopes, " ")
	cl := claims{
		Email: c.User.Email,
		Scope: scope,
		SID:   c.Session.PublicID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   strconv.FormatUint(c.User.ID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        randomID(16),
		},
	}
	tok := jwt.NewWithClaims(t.method, cl)
	var key any = t.secret
	if t.keys != nil {
		signer, err := t.keys.current(ctx)
		if err != nil {
			return TokenResponse{}, err
		}
		tok.Header["kid"] = signer.kid
		key = signer.key
	}
	signed, err := tok.SignedString(key)
	if err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{AccessToken: signed, TokenType: "bearer", ExpiresIn: int(exp.Sub(now).Seconds()), Scope: scope}, nil
}

// parse checks the signature, the algorithm (only the configured one:
// "none" and every other are refused), the issuer and the expiry. A token
// that verified before is taken from the cache of verified tokens until
// its exp; the session it names is checked on every request all the same.
func (t *tokens) parse(ctx context.Context, raw string) (*claims, error) {
	key := sha256.Sum256([]byte(raw))
	if cl, ok := t.verified.get(key, t.now()); ok {
		return cl, nil
	}
	cl, err := t.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	t.verified.put(key, cl, t.now())
	return cl, nil
}

// verify checks a token the long way: decode, check the signature with
// the key its kid names (under HS256: JWT_SECRET) and the claims. Only the
// configured algorithm passes WithValidMethods, so neither "none" nor an
// HS256 token under EdDSA or RS256 (the public key taken for an HMAC
// secret) reaches a key; a kid the ring does not know, even after a
// reload, is refused.
func (t *tokens) verify(ctx context.Context, raw string) (*claims, error) {
	var cl claims
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
		return nil, ErrInvalidToken
	}
	if cl.SID == "" || cl.Subject == "" {
		return nil, ErrInvalidToken
	}
	// A token issued "in the future" is refused, allowing for clocks that
	// differ by up to maxClockSkew: another instance may have issued it a
	// moment after this one's second began. (golang-jwt's own iat check
	// has no leeway of its own; its WithLeeway would stretch exp too.)
	if cl.IssuedAt == nil || cl.IssuedAt.After(t.now().Add(maxClockSkew)) {
		return nil, ErrInvalidToken
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
	m   map[[sha256.Size]byte]*claims
	max int
}

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{m: make(map[[sha256.Size]byte]*claims), max: max}
}

func (v *verifiedTokens) get(key [sha256.Size]byte, now time.Time) (*claims, bool) {
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
func (v *verifiedTokens) put(key [sha256.Size]byte, cl *claims, now time.Time) {
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

// IssueToken signs an access token for a caller's session and gives it a
// refresh token bound to the same session (contract §7).
func (s *Service) IssueToken(ctx context.Context, c *Caller) (TokenResponse, error) {
	tok, err := s.tokens.issue(ctx, c)
	if err != nil {
		return TokenResponse{}, err
	}
	row, raw := s.newRefreshToken(c.Session)
	if err := s.store.CreateRefreshToken(ctx, row); err != nil {
		return TokenResponse{}, err
	}
	tok.RefreshToken = raw
	return tok, nil
}

// authenticateToken turns a bearer token into a caller. The token is valid
// only while its session exists and its user is enabled, so logging out —
// by cookie or by the token alone — ends it.
func (s *Service) authenticateToken(ctx context.Context, raw string) (*Caller, error) {
	cl, err := s.tokens.parse(ctx, raw)
	if err != nil {
		return nil, err
	}
	// One query reads the session, its user and whether the token's key
	// is still live, so retiring a key ends its tokens at once on every
	// instance — those in the cache of verified tokens too.
	sess, u, keyLive, err := s.store.SessionByPublicID(ctx, cl.SID, cl.kid)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if s.tokens.keys != nil && !keyLive {
		if cl.kid == s.tokens.keys.signerKID() {
			// Retired elsewhere while this instance still signs with it:
			// take the new key now rather than at the next recheck.
			_ = s.tokens.keys.reloadSoon(ctx)
		}
		return nil, ErrInvalidToken
	}
	if strconv.FormatUint(sess.UserID, 10) != cl.Subject {
		return nil, ErrInvalidToken
	}
	c, err := s.callerFor(ctx, sess, u)
	if err != nil {
		if errors.Is(err, ErrSessionEnded) {
			return nil, ErrInvalidToken
		}
		return nil, err
	}
	c.Scopes = intersect(SplitScopes(cl.Scope), c.Scopes)
	c.Bearer = true
	return c, nil
}

// cutSpace splits an Authorization header into its scheme and the rest,
// both trimmed; found says there was a space at all.
func cutSpace(s string) (before, after string, found bool) {
	before, after, found = strings.Cut(strings.TrimSpace(s), " ")
	return before, strings.TrimSpace(after), found
}
