package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/config"
)

// TestTokenVariantsAsymmetric is TestTokenVariants under EdDSA and RS256:
// only a token signed by a live key of the configured algorithm, naming
// it in kid, gets in; a retired key's tokens stop at once, cached or not.
func TestTokenVariantsAsymmetric(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"EdDSA", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, "JWT_ALG="+alg)
			ada := f.createUser(t, "ada@example.com")
			c := f.login(t, "ada@example.com")
			issued, err := f.svc.IssueToken(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			kid := f.svc.tokens.keys.signerKID()
			now := f.clock.Now()
			cl := &claims{Email: ada.Email, Scope: "user:read", SID: c.Session.PublicID, RegisteredClaims: jwt.RegisteredClaims{
				Issuer: f.cfg.BaseURL.String(), Subject: strconv.FormatUint(ada.ID, 10),
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
			f.svc.tokens.keys.mu.RLock()
			ours := f.svc.tokens.keys.signer.key
			f.svc.tokens.keys.mu.RUnlock()
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
				got, err := f.svc.Authenticate(request(nil, "Bearer "+tc.tok))
				if tc.ok && (err != nil || got == nil) {
					t.Errorf("%s: got %v, want a caller", tc.name, err)
				}
				if !tc.ok {
					wantError(t, err, ErrInvalidToken)
				}
			}

			// Retired: the cached token ends at once, through the session query.
			if _, err := f.svc.RetireKey(context.Background(), kid); err != nil {
				t.Fatal(err)
			}
			_, err = f.svc.Authenticate(request(nil, "Bearer "+issued.AccessToken))
			wantError(t, err, ErrInvalidToken)
			if next := f.svc.tokens.keys.signerKID(); next == kid || next == "" {
				t.Errorf("signing key after retiring it: %q, want a new one", next)
			}
		})
	}
}

// TestEncryptionKeyOpensKeys: an instance with another ENCRYPTION_KEY
// cannot open the signing keys and says so, naming the setting.
func TestEncryptionKeyOpensKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := newTokens(f.store, func() (cfg config.Config) {
		cfg = f.cfg
		cfg.EncryptionKey = []byte(strings.Repeat("x", 32))
		return cfg
	}(), f.clock.Now)
	if err == nil || !strings.Contains(err.Error(), "ENCRYPTION_KEY") {
		t.Errorf("another ENCRYPTION_KEY: got %v, want an error naming ENCRYPTION_KEY", err)
	}
}

// BenchmarkTokenVerifyEdDSA is BenchmarkTokenVerify under EdDSA, with the
// cache of verified tokens warm as it is for a client reusing its token.
func BenchmarkTokenVerifyEdDSA(b *testing.B) {
	f := newFixture(b, "JWT_ALG=EdDSA")
	f.createUser(b, "ada@example.com")
	tok, err := f.svc.IssueToken(context.Background(), f.login(b, "ada@example.com"))
	if err != nil {
		b.Fatal(err)
	}
	r := request(nil, "Bearer "+tok.AccessToken)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}
