package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"gatehouse/auth/token"
	"gatehouse/models"
)

// signed signs cl with method and key, failing the test on error.
func signed(t testing.TB, method jwt.SigningMethod, key any, cl jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, cl).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

// TestTokenVariants feeds Authenticate bearer tokens of every kind: only
// HS256 with our secret, our issuer, a live session of the token's
// subject and all the required claims gets in.
func TestTokenVariants(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "JWT_ALG=HS256") // HS256 specifics: the EdDSA and RS256 variants are in token/keys_test.go
	ada := f.createUser(t, "ada@example.com")
	bob := f.createUser(t, "bob@example.com")
	adaSession := f.login(t, "ada@example.com")
	bobSession := f.login(t, "bob@example.com")
	issued, err := f.svc.IssueToken(context.Background(), adaSession)
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
	// claimsFor returns valid claims for ada's session, changed by edit.
	claimsFor := func(edit func(*token.Claims)) *token.Claims {
		cl := &token.Claims{
			Email: ada.Email, Scope: "user:read user:write", SID: adaSession.Session.PublicID,
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer:    f.cfg.BaseURL.String(),
				Subject:   strconv.FormatUint(ada.ID, 10),
				IssuedAt:  jwt.NewNumericDate(now),
				ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
				ID:        "jti",
			},
		}
		if edit != nil {
			edit(cl)
		}
		return cl
	}
	hs256 := func(edit func(*token.Claims)) string {
		return signed(t, jwt.SigningMethodHS256, secret, claimsFor(edit))
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claimsFor(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// unsigned keeps a valid header and claims but drops the signature.
	valid := hs256(nil)
	unsigned := valid[:strings.LastIndex(valid, ".")+1]

	cases := []struct {
		name          string
		authorization string
		wantUser      uint64 // 0: ErrInvalidToken
	}{
		{"a token we issued", "Bearer " + issued.AccessToken, ada.ID},
		{"the scheme in lower case", "bearer " + issued.AccessToken, ada.ID},
		{"HS256 with our secret and every claim", "Bearer " + valid, ada.ID},
		{"alg none", "Bearer " + none, 0},
		{"HS384 with our secret", "Bearer " + signed(t, jwt.SigningMethodHS384, secret, claimsFor(nil)), 0},
		{"HS512 with our secret", "Bearer " + signed(t, jwt.SigningMethodHS512, secret, claimsFor(nil)), 0},
		{"RS256 with some RSA key", "Bearer " + signed(t, jwt.SigningMethodRS256, rsaKey, claimsFor(nil)), 0},
		{"ES256 with some EC key", "Bearer " + signed(t, jwt.SigningMethodES256, ecKey, claimsFor(nil)), 0},
		{"HS256 with another secret", "Bearer " + signed(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), claimsFor(nil)), 0},
		{"the signature stripped", "Bearer " + unsigned, 0},
		{"the signature of another token", "Bearer " + unsigned + issued.AccessToken[strings.LastIndex(issued.AccessToken, ".")+1:], 0},
		{"expired", "Bearer " + hs256(func(c *token.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second)) }), 0},
		{"expiring right now", "Bearer " + hs256(func(c *token.Claims) { c.ExpiresAt = jwt.NewNumericDate(now) }), 0},
		{"issued in the future", "Bearer " + hs256(func(c *token.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }), 0},
		{"issued 6 s in the future", "Bearer " + hs256(func(c *token.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(6 * time.Second)) }), 0},
		{"issued 2 s in the future: another instance's clock", "Bearer " + hs256(func(c *token.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(2 * time.Second)) }), ada.ID},
		{"no iat", "Bearer " + hs256(func(c *token.Claims) { c.IssuedAt = nil }), 0},
		{"not valid before a future time", "Bearer " + hs256(func(c *token.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }), 0},
		{"another issuer", "Bearer " + hs256(func(c *token.Claims) { c.Issuer = "https://evil.example" }), 0},
		{"no issuer", "Bearer " + hs256(func(c *token.Claims) { c.Issuer = "" }), 0},
		{"no sid", "Bearer " + hs256(func(c *token.Claims) { c.SID = "" }), 0},
		{"a sid that names no session", "Bearer " + hs256(func(c *token.Claims) { c.SID = "no-such-session" }), 0},
		{"no sub", "Bearer " + hs256(func(c *token.Claims) { c.Subject = "" }), 0},
		{"a sub that is not a number", "Bearer " + hs256(func(c *token.Claims) { c.Subject = "ada@example.com" }), 0},
		{"no exp", "Bearer " + hs256(func(c *token.Claims) { c.ExpiresAt = nil }), 0},
		{"ada's sub on bob's session", "Bearer " + hs256(func(c *token.Claims) { c.SID = bobSession.Session.PublicID }), 0},
		{"bob's sub on ada's session", "Bearer " + hs256(func(c *token.Claims) { c.Subject = strconv.FormatUint(bob.ID, 10) }), 0},
		{"garbage", "Bearer not-a-token", 0},
		{"three dots", "Bearer ...", 0},
		{"three empty parts", "Bearer ..", 0},
		{"an empty token", "Bearer ", 0},
		{"the scheme alone", "Bearer", 0},
		{"no scheme", issued.AccessToken, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := f.svc.Authenticate(request(nil, tc.authorization))
			if tc.wantUser == 0 {
				wantError(t, err, ErrInvalidToken)
				if c != nil {
					t.Errorf("caller: got %+v, want nil", c)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: got error %v, want none", err)
			}
			if c.User.ID != tc.wantUser || !c.Bearer || c.Session.PublicID != adaSession.Session.PublicID {
				t.Errorf("caller: got user %d, bearer %v, session %s; want user %d, bearer, session %s",
					c.User.ID, c.Bearer, c.Session.PublicID, tc.wantUser, adaSession.Session.PublicID)
			}
		})
	}
}

// TestOtherAuthorizationSchemes: a scheme that is not Bearer is not a
// token at all, so the cookie (here: none) decides.
func TestOtherAuthorizationSchemes(t *testing.T) {
	f := newFixture(t)
	for _, h := range []string{"Basic Og==", "Digest username=x"} {
		c, err := f.svc.Authenticate(request(nil, h))
		if err != nil || c != nil {
			t.Errorf("%q: got caller %v, error %v; want neither", h, c, err)
		}
	}
}

func TestTokenResponse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "ACCESS_TOKEN_TTL=30m", "SESSION_MAX_AGE=10m")
	f.createUser(t, "ada@example.com")
	c := f.login(t, "ada@example.com")
	got, err := f.svc.IssueToken(context.Background(), c)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	if got.TokenType != "bearer" || got.Scope != "user:read user:write" {
		t.Errorf("token: got type %q scope %q, want bearer for %q", got.TokenType, got.Scope, "user:read user:write")
	}
	if got.ExpiresIn != 600 {
		t.Errorf("expires_in: got %v, want %v (a token never outlives its session)", got.ExpiresIn, 600)
	}
	var cl token.Claims
	tok, _, err := jwt.NewParser().ParseUnverified(got.AccessToken, &cl)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if kid, _ := tok.Header["kid"].(string); tok.Method.Alg() != "EdDSA" || kid == "" {
		t.Errorf("header: got alg %v, kid %q; want EdDSA (the default) and a kid", tok.Method.Alg(), kid)
	}
	want := token.Claims{Email: "ada@example.com", Scope: "user:read user:write", SID: c.Session.PublicID,
		RegisteredClaims: jwt.RegisteredClaims{Issuer: "http://127.0.0.1:8000", Subject: strconv.FormatUint(c.User.ID, 10),
			IssuedAt: jwt.NewNumericDate(f.clock.Now()), ExpiresAt: jwt.NewNumericDate(f.clock.Now().Add(10 * time.Minute)), ID: cl.ID}}
	if diff := cmp.Diff(want, cl, cmp.AllowUnexported(token.Claims{})); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if len(cl.ID) < 16 {
		t.Errorf("jti: got %q, want a random id", cl.ID)
	}
	if strings.Contains(got.AccessToken, c.Session.TokenHash) || strings.Contains(got.AccessToken, c.token) {
		t.Errorf("token: got the session's cookie token or its hash inside, want only its public id")
	}
}

// TestTokenExpires moves the clock past the token's lifetime while its
// session is still alive.
func TestTokenExpires(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "ACCESS_TOKEN_TTL=5m")
	f.createUser(t, "ada@example.com")
	c := f.login(t, "ada@example.com")
	tok, err := f.svc.IssueToken(context.Background(), c)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	cookie := f.cookieFor(t, c)
	f.clock.Advance(5*time.Minute - time.Second)
	if _, err := f.svc.Authenticate(request(nil, "Bearer "+tok.AccessToken)); err != nil {
		t.Fatalf("a second before expiry: got error %v, want none", err)
	}
	f.clock.Advance(time.Second)
	_, err = f.svc.Authenticate(request(nil, "Bearer "+tok.AccessToken))
	wantError(t, err, ErrInvalidToken)
	if _, err := f.svc.Authenticate(request(cookie, "")); err != nil {
		t.Errorf("the session's cookie after its token expired: got error %v, want none", err)
	}
}

// TestTokenEndsWithItsSession checks that a token is valid only while its
// session lives and its user is enabled.
func TestTokenEndsWithItsSession(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		end  func(t *testing.T, f *fixture, c *Caller, token string)
	}{
		{"logged out by the cookie", func(t *testing.T, f *fixture, c *Caller, _ string) {
			r := request(f.cookieFor(t, c), "")
			cookieCaller, err := f.svc.Authenticate(r)
			if err != nil {
				t.Fatalf("cookie: %v", err)
			}
			if err := f.svc.Logout(httptest.NewRecorder(), r, cookieCaller, Client{}); err != nil {
				t.Fatalf("logout: %v", err)
			}
		}},
		{"logged out by the token alone", func(t *testing.T, f *fixture, _ *Caller, token string) {
			r := request(nil, "Bearer "+token)
			bearerCaller, err := f.svc.Authenticate(r)
			if err != nil {
				t.Fatalf("token: %v", err)
			}
			if err := f.svc.Logout(httptest.NewRecorder(), r, bearerCaller, Client{}); err != nil {
				t.Fatalf("logout: %v", err)
			}
		}},
		{"the user was disabled", func(t *testing.T, f *fixture, c *Caller, _ string) {
			if err := f.svc.SetDisabled(context.Background(), c.User.Email, true); err != nil {
				t.Fatalf("disable: %v", err)
			}
		}},
		{"the user was disabled while the session row stayed", func(t *testing.T, f *fixture, c *Caller, _ string) {
			// Another path could flip the flag without ending sessions;
			// the token must still stop working.
			yes := true
			if _, err := f.store.ApplyUserChanges(context.Background(), c.User.ID, models.UserChanges{Disabled: &yes}); err != nil {
				t.Fatalf("disable: %v", err)
			}
			if err := f.store.CreateSession(context.Background(), c.Session, ""); err != nil {
				t.Fatalf("restore the session row: %v", err)
			}
		}},
		{"the password was reset", func(t *testing.T, f *fixture, c *Caller, _ string) {
			if err := f.svc.ResetPassword(context.Background(), c.User.Email, "a brand new password"); err != nil {
				t.Fatalf("reset: %v", err)
			}
		}},
		{"the session went idle", func(t *testing.T, f *fixture, _ *Caller, _ string) {
			f.clock.Advance(f.cfg.SessionIdleTimeout)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, "ACCESS_TOKEN_TTL=1h")
			f.createUser(t, "ada@example.com")
			c := f.login(t, "ada@example.com")
			tok, err := f.svc.IssueToken(context.Background(), c)
			if err != nil {
				t.Fatalf("issue: %v", err)
			}
			// Used once first, so the token is in the cache of verified
			// tokens: the cache must not keep it alive.
			if _, err := f.svc.Authenticate(request(nil, "Bearer "+tok.AccessToken)); err != nil {
				t.Fatalf("before the end: %v", err)
			}
			tc.end(t, f, c, tok.AccessToken)
			got, err := f.svc.Authenticate(request(nil, "Bearer "+tok.AccessToken))
			wantError(t, err, ErrInvalidToken)
			if got != nil {
				t.Errorf("caller: got %+v, want nil", got)
			}
		})
	}
}

// TestTokenScopes checks that a token carries no more than its session
// grants and its user has now.
func TestTokenScopes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "JWT_ALG=HS256")
	f.createUser(t, "ada@example.com", AllScopes...)
	ctx := context.Background()
	c, err := f.svc.Login(ctx, Credentials{Username: "ada@example.com", Password: password, Scope: "user:read"}, client, nil)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	now := f.clock.Now()
	wider := signed(t, jwt.SigningMethodHS256, f.cfg.JWTSecret, &token.Claims{
		Scope: strings.Join(AllScopes, " "), SID: c.Session.PublicID,
		RegisteredClaims: jwt.RegisteredClaims{Issuer: f.cfg.BaseURL.String(), Subject: strconv.FormatUint(c.User.ID, 10),
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))},
	})
	got, err := f.svc.Authenticate(request(nil, "Bearer "+wider))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if diff := cmp.Diff([]string{ScopeUserRead}, got.Scopes); diff != "" {
		t.Errorf("a token asking for more than its session (-want +got):\n%s", diff)
	}
}

// TestBearerWins checks that an Authorization header decides even when a
// good cookie comes with it.
func TestBearerWins(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	f.createUser(t, "bob@example.com")
	ada := f.login(t, "ada@example.com")
	bob := f.login(t, "bob@example.com")
	bobToken, err := f.svc.IssueToken(context.Background(), bob)
	if err != nil {
		t.Fatal(err)
	}
	cookie := f.cookieFor(t, ada)

	_, err = f.svc.Authenticate(request(cookie, "Bearer forged"))
	wantError(t, err, ErrInvalidToken)

	got, err := f.svc.Authenticate(request(cookie, "Bearer "+bobToken.AccessToken))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if got.User.Email != "bob@example.com" || !got.Bearer {
		t.Errorf("caller: got %s (bearer %v), want bob@example.com by bearer", got.User.Email, got.Bearer)
	}

	got, err = f.svc.Authenticate(request(nil, ""))
	if err != nil || got != nil {
		t.Errorf("no credentials: got %+v, %v; want nil, nil", got, err)
	}
}

// BenchmarkTokenVerify measures a bearer request's authentication: the
// JWT check plus the session and user lookups on SQLite.
func BenchmarkTokenVerify(b *testing.B) {
	f := newFixture(b)
	f.createUser(b, "ada@example.com")
	tok, err := f.svc.IssueToken(context.Background(), f.login(b, "ada@example.com"))
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRetiredKeyEndsItsTokens: under EdDSA and RS256, retiring the
// signing key ends its tokens at once, those in the cache of verified
// tokens too (the session query reads the kid's state), and a new key
// signs from then on.
func TestRetiredKeyEndsItsTokens(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"EdDSA", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, "JWT_ALG="+alg)
			f.createUser(t, "ada@example.com")
			c := f.login(t, "ada@example.com")
			ctx := context.Background()
			issued, err := f.svc.IssueToken(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			kid := kidOf(t, issued.AccessToken)
			if _, err := f.svc.Authenticate(request(nil, "Bearer "+issued.AccessToken)); err != nil {
				t.Fatalf("before retiring: %v", err) // and now in the cache
			}
			if _, err := f.svc.RetireKey(ctx, kid); err != nil {
				t.Fatal(err)
			}
			_, err = f.svc.Authenticate(request(nil, "Bearer "+issued.AccessToken))
			wantError(t, err, ErrInvalidToken)
			again, err := f.svc.IssueToken(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if next := kidOf(t, again.AccessToken); next == kid || next == "" {
				t.Errorf("signing key after retiring it: %q, want a new one", next)
			}
			if _, err := f.svc.Authenticate(request(nil, "Bearer "+again.AccessToken)); err != nil {
				t.Errorf("a token of the new key: %v", err)
			}
		})
	}
}

// kidOf is the kid in a token's header.
func kidOf(t testing.TB, raw string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(raw, &token.Claims{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
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
