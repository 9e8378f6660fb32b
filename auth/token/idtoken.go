package token

import (
	"context"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/config"
)

// ID tokens (contract §10) are signed with RS256 unless an application
// was registered with EdDSA — whatever JWT_ALG is: applications' client
// libraries verify RS256 everywhere. Each algorithm's keys are a ring of
// their own beside JWT_ALG's (the same ring when they agree), made at the
// first ID token of that algorithm, rotated by `keys rotate --alg`, and
// published in the JWKS from then on.

// IDTokenAlgs are the algorithms ID tokens may be signed with.
var IDTokenAlgs = []string{config.JWTAlgRS256, config.JWTAlgEdDSA}

// publishedAlgs are the algorithms whose keys are in the JWKS: JWT_ALG's
// (unless HS256) and those of ID tokens.
func (t *Tokens) publishedAlgs() []string {
	out := make([]string, 0, 3)
	if t.keys != nil {
		out = append(out, t.alg)
	}
	for _, alg := range IDTokenAlgs {
		if alg != t.alg {
			out = append(out, alg)
		}
	}
	return out
}

// idRing is the ring of alg's keys: JWT_ALG's own, or one made (and
// loaded, making its first key if there is none) at its first use.
func (t *Tokens) idRing(alg string) (*keyRing, error) {
	if alg == t.alg && t.keys != nil {
		return t.keys, nil
	}
	if alg != config.JWTAlgRS256 && alg != config.JWTAlgEdDSA {
		return nil, fmt.Errorf("ID tokens are signed with RS256 or EdDSA, not %q", alg)
	}
	t.idMu.Lock()
	defer t.idMu.Unlock()
	if r, ok := t.idRings[alg]; ok {
		return r, nil
	}
	r, err := newKeyRing(t.store, t.cfg, alg, t.keyTTL, t.now)
	if err != nil {
		return nil, err
	}
	t.idRings[alg] = r
	return r, nil
}

// SignIDToken signs claims with the current key of alg (RS256 or EdDSA).
func (t *Tokens) SignIDToken(ctx context.Context, alg string, claims jwt.MapClaims) (string, error) {
	r, err := t.idRing(alg)
	if err != nil {
		return "", err
	}
	signer, err := r.current(ctx)
	if err != nil {
		return "", err
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims)
	tok.Header["kid"] = signer.kid
	return tok.SignedString(signer.key)
}

// ErrBadIDToken is an id_token_hint that Gatehouse did not sign.
var ErrBadIDToken = errors.New("the ID token was not signed by this server")

// VerifyIDToken checks an ID token this server signed (an id_token_hint,
// OpenID Connect RP-Initiated Logout §2): its signature by a key that is
// not retired and its issuer. An expired one is accepted — a hint names
// a session, it grants nothing — so exp is not checked.
func (t *Tokens) VerifyIDToken(ctx context.Context, raw string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	keyFor := func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		r, err := t.idRing(tok.Method.Alg())
		if err != nil || kid == "" {
			return nil, ErrBadIDToken
		}
		return r.publicKey(ctx, kid)
	}
	_, err := jwt.ParseWithClaims(raw, claims, keyFor,
		jwt.WithValidMethods(IDTokenAlgs),
		jwt.WithIssuer(t.issuer),
		jwt.WithoutClaimsValidation(),
	)
	if err != nil {
		return nil, ErrBadIDToken
	}
	if iss, _ := claims.GetIssuer(); iss != t.issuer {
		return nil, ErrBadIDToken
	}
	return claims, nil
}

// Issuer is the iss of every token (BASE_URL).
func (t *Tokens) Issuer() string { return t.issuer }
