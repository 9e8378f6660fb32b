package auth

import (
	"context"

	"gatehouse/auth/token"
)

// The JWKS and `gatehouse keys` speak of the token package's keys; the
// names stay in auth for the handlers and the CLI.
type (
	// JWKS is the document at /.well-known/jwks.json.
	JWKS = token.JWKS
	// JWK is one public key in RFC 7517 form.
	JWK = token.JWK
	// KeyInfo describes a signing key for `gatehouse keys list`.
	KeyInfo = token.KeyInfo
)

// JWKS returns the public keys other services verify tokens with: the
// signing key and the earlier ones whose tokens may still be alive. Under
// HS256 there are none to publish.
func (s *Service) JWKS(ctx context.Context) (JWKS, error) {
	return s.tokens.JWKS(ctx)
}

// SigningKeys lists every signing key, newest first.
func (s *Service) SigningKeys(ctx context.Context) ([]KeyInfo, error) {
	return s.tokens.Keys(ctx)
}

// RotateKey makes a new key of JWT_ALG (or of alg, RS256 or EdDSA: the
// keys of applications' ID tokens) that signs from now on (on other
// instances within seconds). The old keys keep verifying the tokens they
// signed, so nobody is logged out.
func (s *Service) RotateKey(ctx context.Context, alg string) (string, error) {
	return s.tokens.Rotate(ctx, alg)
}

// RetireKey retires the key kid (a leaked one): its tokens stop working at
// once on every instance (authenticateToken reads the kid's state with
// the session) and it leaves the JWKS. When it was the signing key, a new
// one is made first (returned as next). models.ErrNotFound if there is no
// such key.
func (s *Service) RetireKey(ctx context.Context, kid string) (next string, err error) {
	if next, err = s.tokens.Retire(ctx, kid); err != nil {
		return "", err
	}
	s.log.Warn("signing key retired", "kid", kid)
	return next, s.tokens.Reload(ctx)
}
