package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"gatehouse/config"
	"gatehouse/internal/testenv"
	"gatehouse/models"
)

// fixture is the tokens of a test configuration over a fresh SQLite file.
type fixture struct {
	tokens *Tokens
	store  *models.Store
	clock  *testenv.Clock
	cfg    config.Config
}

// newFixture builds the tokens; settings are KEY=VALUE on top of the
// test configuration.
func newFixture(t testing.TB, settings ...string) *fixture {
	t.Helper()
	store := testenv.Store(t, models.Open, testenv.DatabaseURL(t, testenv.SQLite, ""), 0)
	clk := testenv.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	cfg := testenv.Config(t, config.Load, settings...)
	tokens, err := New(store, cfg, clk.Now)
	if err != nil {
		t.Fatalf("token.New: %v", err)
	}
	return &fixture{tokens: tokens, store: store, clock: clk, cfg: cfg}
}

// ada is the subject the tests issue tokens to.
func ada(f *fixture) Subject {
	return Subject{UserID: 7, Email: "ada@example.com", Scopes: []string{"user:read", "user:write"},
		SID: "ada-session", SessionExpires: f.clock.Now().Add(time.Hour)}
}

// signed signs cl with method and key, failing the test on error.
func signed(t testing.TB, method jwt.SigningMethod, key any, cl jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, cl).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

// TestVerify feeds Verify tokens of every kind under HS256: only HS256
// with our secret, our issuer and all the required claims verifies.
// Whether the session lives is not Verify's to say (auth's
// TestTokenVariants checks the whole way in).
func TestVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "JWT_ALG=HS256")
	ctx := context.Background()
	issued, err := f.tokens.Issue(ctx, ada(f))
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := f.cfg.JWTSecret
	now := f.clock.Now()
	claimsFor := func(edit func(*Claims)) *Claims {
		cl := &Claims{
			Email: "ada@example.com", Scope: "user:read", SID: "ada-session",
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: f.cfg.BaseURL.String(), Subject: "7",
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)), ID: "jti",
			},
		}
		if edit != nil {
			edit(cl)
		}
		return cl
	}
	hs256 := func(edit func(*Claims)) string { return signed(t, jwt.SigningMethodHS256, secret, claimsFor(edit)) }
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claimsFor(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	valid := hs256(nil)
	unsigned := valid[:strings.LastIndex(valid, ".")+1]
	cases := []struct {
		name string
		tok  string
		ok   bool
	}{
		{"a token we issued", issued.AccessToken, true},
		{"HS256 with our secret and every claim", valid, true},
		{"issued 2 s in the future: another instance's clock", hs256(func(c *Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(2 * time.Second)) }), true},
		{"alg none", none, false},
		{"HS384 with our secret", signed(t, jwt.SigningMethodHS384, secret, claimsFor(nil)), false},
		{"RS256 with some RSA key", signed(t, jwt.SigningMethodRS256, rsaKey, claimsFor(nil)), false},
		{"ES256 with some EC key", signed(t, jwt.SigningMethodES256, ecKey, claimsFor(nil)), false},
		{"HS256 with another secret", signed(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), claimsFor(nil)), false},
		{"the signature stripped", unsigned, false},
		{"expired", hs256(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second)) }), false},
		{"expiring right now", hs256(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now) }), false},
		{"issued 6 s in the future", hs256(func(c *Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(6 * time.Second)) }), false},
		{"no iat", hs256(func(c *Claims) { c.IssuedAt = nil }), false},
		{"not valid before a future time", hs256(func(c *Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }), false},
		{"another issuer", hs256(func(c *Claims) { c.Issuer = "https://evil.example" }), false},
		{"no sid", hs256(func(c *Claims) { c.SID = "" }), false},
		{"no sub", hs256(func(c *Claims) { c.Subject = "" }), false},
		{"no exp", hs256(func(c *Claims) { c.ExpiresAt = nil }), false},
		{"garbage", "not-a-token", false},
		{"three empty parts", "..", false},
	}
	for _, tc := range cases {
		cl, err := f.tokens.Verify(ctx, tc.tok)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: got %v, want claims", tc.name, err)
		case !tc.ok && !errors.Is(err, ErrInvalid):
			t.Errorf("%s: got claims %+v, error %v; want ErrInvalid", tc.name, cl, err)
		case tc.ok && cl.KID() != "":
			t.Errorf("%s: kid %q under HS256, want none", tc.name, cl.KID())
		}
	}
}

// TestIssue checks an issued token's header and claims: a token never
// outlives its session.
func TestIssue(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "ACCESS_TOKEN_TTL=30m")
	sub := ada(f)
	sub.SessionExpires = f.clock.Now().Add(10 * time.Minute)
	got, err := f.tokens.Issue(context.Background(), sub)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	if got.TokenType != "bearer" || got.Scope != "user:read user:write" || got.ExpiresIn != 600 || got.RefreshToken != "" {
		t.Errorf("response: got %+v, want a bearer token for %q expiring in 600 s, no refresh token", got, "user:read user:write")
	}
	cl, err := f.tokens.Verify(context.Background(), got.AccessToken)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	now := f.clock.Now()
	want := Claims{Email: sub.Email, Scope: "user:read user:write", SID: sub.SID,
		RegisteredClaims: jwt.RegisteredClaims{Issuer: f.cfg.BaseURL.String(), Subject: strconv.FormatUint(sub.UserID, 10),
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(sub.SessionExpires), ID: cl.ID},
		kid: f.tokens.keys.signerKID()}
	if diff := cmp.Diff(want, *cl, cmp.AllowUnexported(Claims{})); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if len(cl.ID) < 16 || cl.KID() == "" {
		t.Errorf("jti %q, kid %q: want random ids", cl.ID, cl.KID())
	}
}

// TestVerifiedTokens checks the cache of verified tokens: a token that
// differs from a cached one in any byte is checked in full, and the cache
// stays within its bound.
func TestVerifiedTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tok, err := f.tokens.Issue(ctx, ada(f))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tokens.Verify(ctx, tok.AccessToken); err != nil {
		t.Fatalf("the good token: %v", err)
	}
	raw := []byte(tok.AccessToken)
	raw[len(raw)-2] ^= 1 // the signature's last full character
	if _, err := f.tokens.Verify(ctx, string(raw)); !errors.Is(err, ErrInvalid) {
		t.Errorf("a changed byte: got %v, want ErrInvalid", err)
	}

	v := newVerifiedTokens(3)
	now := f.clock.Now()
	for i := range 5 {
		v.put([32]byte{byte(i)}, &Claims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}, now)
		if len(v.m) > 3 {
			t.Fatalf("after %d puts: %d entries, want at most 3", i+1, len(v.m))
		}
	}
	if _, ok := v.get([32]byte{4}, now); !ok {
		t.Errorf("the newest entry: got a miss, want a hit")
	}
	if _, ok := v.get([32]byte{4}, now.Add(time.Hour)); ok {
		t.Errorf("an entry at its token's exp: got a hit, want a miss")
	}
}

// BenchmarkVerify measures the JWT check alone, the long way (auth's
// BenchmarkTokenVerify adds the session query and the cache).
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"EdDSA", "RS256", "HS256"} {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b, "JWT_ALG="+alg)
			ctx := context.Background()
			tok, err := f.tokens.Issue(ctx, ada(f))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.tokens.check(ctx, tok.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
