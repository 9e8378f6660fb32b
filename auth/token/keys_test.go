package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/config"
)

// TestVerifyAsymmetric is TestVerify under EdDSA and RS256: only a token
// signed by a live key of the configured algorithm, naming it in kid,
// verifies. Retiring the signing key makes a successor that signs at
// once, and the retired key leaves the JWKS. (That its tokens stop at
// once, cached or not, is auth's TestRetiredKeyEndsItsTokens.)
func TestVerifyAsymmetric(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"EdDSA", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, "JWT_ALG="+alg)
			ctx := context.Background()
			issued, err := f.tokens.Issue(ctx, ada(f))
			if err != nil {
				t.Fatal(err)
			}
			kid := f.tokens.keys.signerKID()
			now := f.clock.Now()
			cl := &Claims{Email: "ada@example.com", Scope: "user:read", SID: "ada-session", RegisteredClaims: jwt.RegisteredClaims{
				Issuer: f.cfg.BaseURL.String(), Subject: "7",
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute))}}
			withKid := func(method jwt.SigningMethod, kid string, key any) string {
				tok := jwt.NewWithClaims(method, cl)
				if kid != "" {
					tok.Header["kid"] = kid
				}
				s, err := tok.SignedString(key)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			none := withKid(jwt.SigningMethodNone, kid, jwt.UnsafeAllowNoneSignatureType)
			f.tokens.keys.mu.RLock()
			ours := f.tokens.keys.signer.key
			f.tokens.keys.mu.RUnlock()
			cases := []struct {
				name string
				tok  string
				ok   bool
			}{
				{"a token we issued", issued.AccessToken, true},
				{"signed by our key with our kid", withKid(jwt.GetSigningMethod(alg), kid, ours), true},
				{"our key, no kid", withKid(jwt.GetSigningMethod(alg), "", ours), false},
				{"our key, an unknown kid", withKid(jwt.GetSigningMethod(alg), "nope", ours), false},
				{"another Ed25519 key under our kid", withKid(jwt.SigningMethodEdDSA, kid, other), false},
				{"HS256 with JWT_SECRET", withKid(jwt.SigningMethodHS256, kid, f.cfg.JWTSecret), false},
				{"alg none", none, false},
			}
			for _, tc := range cases {
				got, err := f.tokens.Verify(ctx, tc.tok)
				if tc.ok && (err != nil || got.KID() != kid) {
					t.Errorf("%s: got %v, want claims naming %s", tc.name, err, kid)
				}
				if !tc.ok && !errors.Is(err, ErrInvalid) {
					t.Errorf("%s: got %v, want ErrInvalid", tc.name, err)
				}
			}

			// Retired: a successor is made first and signs the next token,
			// even before this ring reloads; the JWKS drops the old key.
			next, err := f.tokens.Retire(ctx, kid)
			if err != nil {
				t.Fatal(err)
			}
			if next == "" || next == kid {
				t.Fatalf("successor of the retired signing key: %q, want a new kid", next)
			}
			again, err := f.tokens.Issue(ctx, ada(f))
			if err != nil {
				t.Fatal(err)
			}
			if cl, err := f.tokens.Verify(ctx, again.AccessToken); err != nil || cl.KID() != next {
				t.Errorf("a token issued after retiring: %v, want one signed by %s", err, next)
			}
			set, err := f.tokens.JWKS(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(set.Keys) != 1 || set.Keys[0].Kid != next {
				t.Errorf("JWKS after retiring: %+v, want only %s", set.Keys, next)
			}
		})
	}
}

// TestEncryptionKeyOpensKeys: an instance with another ENCRYPTION_KEY
// cannot open the signing keys and says so, naming the setting.
func TestEncryptionKeyOpensKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := New(f.store, func() (cfg config.Config) {
		cfg = f.cfg
		cfg.EncryptionKey = []byte(strings.Repeat("x", 32))
		return cfg
	}(), f.clock.Now)
	if err == nil || !strings.Contains(err.Error(), "ENCRYPTION_KEY") {
		t.Errorf("another ENCRYPTION_KEY: got %v, want an error naming ENCRYPTION_KEY", err)
	}
}
