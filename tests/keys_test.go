package tests

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"

	"gatehouse/auth"
	"gatehouse/config"
)

// withAlg starts the app with JWT_ALG=alg.
func withAlg(alg string) option {
	return func(c *config.Config) { c.JWTAlg = alg }
}

// jwksDoc is /.well-known/jwks.json as a client reads it.
type jwksDoc struct {
	Keys []auth.JWK `json:"keys"`
}

func (c *client) jwks() jwksDoc {
	c.t.Helper()
	resp := c.get("/.well-known/jwks.json").wantStatus(c.t, http.StatusOK)
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=300" {
		c.t.Errorf("JWKS Cache-Control = %q, want public, max-age=300", got)
	}
	var doc jwksDoc
	resp.decode(c.t, &doc)
	return doc
}

// header of a token, read without verifying it.
func tokenHeader(t *testing.T, raw string) map[string]any {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return tok.Header
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	kid, _ := tokenHeader(t, raw)["kid"].(string)
	return kid
}

func kids(doc jwksDoc) []string {
	var out []string
	for _, k := range doc.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// TestJWKSAndMetadata checks the two well-known documents under each
// algorithm: the JWKS holds the key that signed the token, in the form
// of its type, and both are cacheable for five minutes.
func TestJWKSAndMetadata(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		for _, alg := range []string{"EdDSA", "RS256", "HS256"} {
			t.Run(alg, func(t *testing.T) {
				app := newApp(t, db, withAlg(alg))
				app.createUser(t, "ada@example.com", goodPassword)
				c := app.client(t)
				tok := c.loginAPI("ada@example.com", goodPassword)
				header := tokenHeader(t, tok.AccessToken)
				if header["alg"] != alg {
					t.Errorf("token alg = %v, want %s", header["alg"], alg)
				}
				doc := c.jwks()
				if alg == "HS256" {
					if len(doc.Keys) != 0 || header["kid"] != nil {
						t.Errorf("HS256: JWKS %+v, kid %v; want an empty set and no kid", doc.Keys, header["kid"])
					}
				} else {
					if len(doc.Keys) != 1 || doc.Keys[0].Kid != kidOf(t, tok.AccessToken) {
						t.Fatalf("JWKS kids %v, want exactly the token's kid %q", kids(doc), kidOf(t, tok.AccessToken))
					}
					k := doc.Keys[0]
					if k.Use != "sig" || k.Alg != alg {
						t.Errorf("JWK use %q alg %q, want sig and %s", k.Use, k.Alg, alg)
					}
					switch alg {
					case "EdDSA":
						x, err := base64.RawURLEncoding.DecodeString(k.X)
						if k.Kty != "OKP" || k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize || k.N != "" {
							t.Errorf("Ed25519 JWK %+v: want kty OKP, crv Ed25519, a 32-byte x", k)
						}
					case "RS256":
						n, err := base64.RawURLEncoding.DecodeString(k.N)
						if k.Kty != "RSA" || err != nil || len(n) != 256 || k.E != "AQAB" || k.X != "" {
							t.Errorf("RSA JWK kty %q, %d-byte n, e %q: want RSA, 2048 bits, AQAB", k.Kty, len(n), k.E)
						}
					}
				}
				c.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)

				resp := c.get("/.well-known/oauth-authorization-server").wantStatus(t, http.StatusOK)
				if got := resp.Header.Get("Cache-Control"); got != "public, max-age=300" {
					t.Errorf("metadata Cache-Control = %q, want public, max-age=300", got)
				}
				var meta map[string]any
				resp.decode(t, &meta)
				base := app.cfg.BaseURL.String()
				// From contract §10 on, RFC 8414's document describes the
				// OpenID Connect provider: the same as its discovery document.
				want := map[string]any{
					"issuer":                   base,
					"token_endpoint":           base + "/oauth2/token",
					"authorization_endpoint":   base + "/oauth2/authorize",
					"jwks_uri":                 base + "/.well-known/jwks.json",
					"grant_types_supported":    []any{"authorization_code", "refresh_token", "password"},
					"response_types_supported": []any{"code"},
				}
				for k, v := range want {
					if g, w := fmt.Sprint(meta[k]), fmt.Sprint(v); g != w {
						t.Errorf("metadata %s = %s, want %s", k, g, w)
					}
				}
				var discovery map[string]any
				c.get("/.well-known/openid-configuration").wantStatus(t, http.StatusOK).decode(t, &discovery)
				if got, again := fmt.Sprint(meta), fmt.Sprint(discovery); got != again {
					t.Errorf("RFC 8414 metadata %s differs from the discovery document %s", got, again)
				}
			})
		}
	})
}

// TestForgedTokens: Gatehouse refuses tokens that are not signed by one
// of its live keys under the configured algorithm, however the header is
// dressed.
func TestForgedTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		real := c.loginAPI("ada@example.com", goodPassword).AccessToken
		c.get("/api/me", bearer(real)).wantStatus(t, http.StatusOK)
		kid := kidOf(t, real)
		var claims jwt.MapClaims
		if _, _, err := jwt.NewParser().ParseUnverified(real, &claims); err != nil {
			t.Fatal(err)
		}
		jwk := c.jwks().Keys[0]
		rawPublic, _ := base64.RawURLEncoding.DecodeString(jwk.X)
		der, _ := x509.MarshalPKIXPublicKey(ed25519.PublicKey(rawPublic))
		pemPublic := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		_, otherKey, _ := ed25519.GenerateKey(rand.Reader)

		sign := func(method jwt.SigningMethod, kid string, key any) string {
			tok := jwt.NewWithClaims(method, claims)
			if kid != "" {
				tok.Header["kid"] = kid
			}
			s, err := tok.SignedString(key)
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			return s
		}
		forged := map[string]string{
			"an unknown kid":                         sign(jwt.SigningMethodEdDSA, "no-such-kid", otherKey),
			"no kid":                                 sign(jwt.SigningMethodEdDSA, "", otherKey),
			"our kid, another key":                   sign(jwt.SigningMethodEdDSA, kid, otherKey),
			"HS256 with the raw public key":          sign(jwt.SigningMethodHS256, kid, rawPublic),
			"HS256 with the PEM public key":          sign(jwt.SigningMethodHS256, kid, pemPublic),
			"HS256 with the JWT_SECRET":              sign(jwt.SigningMethodHS256, kid, app.cfg.JWTSecret),
			"alg none":                               sign(jwt.SigningMethodNone, kid, jwt.UnsafeAllowNoneSignatureType),
			"our header and claims, no signature":    real[:strings.LastIndex(real, ".")+1],
			"another token's signature on our kid":   real[:strings.LastIndex(real, ".")+1] + sign(jwt.SigningMethodEdDSA, kid, otherKey)[strings.LastIndex(real, ".")+1:],
			"the real token's signature, one flip":   real[:len(real)-2] + string(real[len(real)-2]^1) + real[len(real)-1:],
			"our kid, claims changed, old signature": resign(t, real, func(m jwt.MapClaims) { m["scope"] = "admin:read admin:write" }),
		}
		for name, tok := range forged {
			t.Run(name, func(t *testing.T) {
				c.get("/api/me", bearer(tok)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
			})
		}
		c.get("/api/me", bearer(real)).wantStatus(t, http.StatusOK)
	})
}

// resign replaces a token's claims but keeps its header and signature.
func resign(t *testing.T, raw string, edit func(jwt.MapClaims)) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	var m jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	body, _ := json.Marshal(m)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(body) + "." + parts[2]
}

// TestKeyRotationAcrossInstances: two instances on one database. A
// rotation on the first logs nobody out; the second learns of the new key
// from the first token that names it, and signs with it once its copy is
// stale. Retiring a key on the first ends its tokens on the second by the
// very next request, even a token the second had verified and cached.
func TestKeyRotationAcrossInstances(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		one := newApp(t, db)
		two := newApp(t, db, sameDatabaseAs(one))
		one.createUser(t, "ada@example.com", goodPassword)
		ctx := context.Background()
		onOne, onTwo := one.client(t), two.client(t)

		// Each login from a fresh client: a client's second login ends its first session.
		login := func(on *app) string { return on.client(t).loginAPI("ada@example.com", goodPassword).AccessToken }
		old := login(one)
		oldKid := kidOf(t, old)
		if got := kidOf(t, login(two)); got != oldKid {
			t.Fatalf("the second instance signs with %q, want the shared key %q", got, oldKid)
		}
		onTwo.get("/api/me", bearer(old)).wantStatus(t, http.StatusOK) // cached on two now

		newKid, err := one.auth.RotateKey(ctx, "")
		if err != nil {
			t.Fatalf("rotate: %v", err)
		}
		fresh := login(one)
		if got := kidOf(t, fresh); got != newKid || got == oldKid {
			t.Fatalf("after a rotation the first signs with %q, want the new key %q", got, newKid)
		}
		for name, c := range map[string]*client{"first": onOne, "second": onTwo} {
			c.get("/api/me", bearer(old)).wantStatus(t, http.StatusOK)   // rotation logs nobody out
			c.get("/api/me", bearer(fresh)).wantStatus(t, http.StatusOK) // the second reloads for the unknown kid
			if got := kids(c.jwks()); len(got) != 2 && name == "first" {
				t.Errorf("JWKS on the first after a rotation: %v, want the new and the old key", got)
			}
		}
		two.clock.Advance(11 * time.Second) // past the recheck: the second reloads before signing
		if got := kidOf(t, login(two)); got != newKid {
			t.Errorf("the second instance signs with %q after its recheck, want %q", got, newKid)
		}

		// The old key leaves the JWKS once no token it signed can be alive.
		one.clock.Advance(one.cfg.AccessTokenTTL + time.Minute)
		if got := kids(onOne.jwks()); len(got) != 1 || got[0] != newKid {
			t.Errorf("JWKS past ACCESS_TOKEN_TTL after the rotation: %v, want only %s", got, newKid)
		}

		// Retire the new key on the first: its tokens die on the second at once.
		onTwo.get("/api/me", bearer(fresh)).wantStatus(t, http.StatusOK)
		next, err := one.auth.RetireKey(ctx, newKid)
		if err != nil {
			t.Fatalf("retire: %v", err)
		}
		if next == "" || next == newKid {
			t.Fatalf("retiring the signing key made %q, want a new signing key", next)
		}
		onTwo.get("/api/me", bearer(fresh)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		onOne.get("/api/me", bearer(fresh)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		for _, k := range kids(onOne.jwks()) {
			if k == newKid {
				t.Errorf("the retired key %s is still in the JWKS", newKid)
			}
		}
		// The second, which still signed with the retired key, takes the
		// new one as soon as it sees the retired key refused.
		after := login(two)
		if kidOf(t, after) != next {
			t.Errorf("the second instance signs with %q after the retirement, want %q", kidOf(t, after), next)
		}
		onTwo.get("/api/me", bearer(after)).wantStatus(t, http.StatusOK)
		if _, err := one.auth.RetireKey(ctx, "no-such-kid"); err == nil {
			t.Errorf("retiring an unknown kid: got no error")
		}
	})
}

// TestOutsideVerifiers checks Gatehouse's tokens with other people's
// code: go-oidc's remote key set and PyJWT's PyJWKClient fetch the JWKS
// from the running server and verify a token, and refuse a forged one.
func TestOutsideVerifiers(t *testing.T) {
	python := "/usr/bin/python3" // Debian's, which sees python3-jwt
	probe := exec.Command(python, "-c", "import jwt, cryptography; jwt.PyJWKClient")
	pythonErr := probe.Run()
	eachDB(t, func(t *testing.T, db database) {
		for _, alg := range []string{"EdDSA", "RS256"} {
			t.Run(alg, func(t *testing.T) {
				app := newApp(t, db, withAlg(alg))
				app.createUser(t, "ada@example.com", goodPassword)
				tok := app.client(t).loginAPI("ada@example.com", goodPassword).AccessToken
				_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
				forgedTok := jwt.New(jwt.SigningMethodEdDSA)
				forgedTok.Header["kid"] = kidOf(t, tok)
				forgedTok.Claims = jwt.MapClaims{"sub": "1", "iss": app.cfg.BaseURL.String(), "exp": time.Now().Add(time.Hour).Unix()}
				forged, err := forgedTok.SignedString(otherKey)
				if err != nil {
					t.Fatal(err)
				}
				jwksURI := app.URL + "/.well-known/jwks.json"

				t.Run("go-oidc RemoteKeySet", func(t *testing.T) {
					ctx := context.Background()
					keys := oidc.NewRemoteKeySet(ctx, jwksURI)
					payload, err := keys.VerifySignature(ctx, tok)
					if err != nil {
						t.Fatalf("verify: %v", err)
					}
					var cl struct {
						Iss, Email string
					}
					if err := json.Unmarshal(payload, &cl); err != nil || cl.Email != "ada@example.com" || cl.Iss != app.cfg.BaseURL.String() {
						t.Errorf("claims %s: want ada's, from %s", payload, app.cfg.BaseURL)
					}
					if _, err := keys.VerifySignature(ctx, forged); err == nil {
						t.Errorf("a token of another key under our kid verified")
					}
				})

				t.Run("PyJWT PyJWKClient", func(t *testing.T) {
					if pythonErr != nil {
						if os.Getenv("CI") == "true" {
							t.Fatalf("%s cannot import jwt (python3-jwt, python3-cryptography): %v", python, pythonErr)
						}
						t.Skipf("%s cannot import jwt: apt-get install python3-jwt python3-cryptography", python)
					}
					out, err := exec.Command(python, "testdata/pyjwt_verify.py", jwksURI, app.cfg.BaseURL.String(), tok).CombinedOutput()
					if err != nil {
						t.Fatalf("PyJWT refused a Gatehouse token: %v\n%s", err, out)
					}
					var cl map[string]any
					if err := json.Unmarshal(out, &cl); err != nil || cl["email"] != "ada@example.com" {
						t.Errorf("PyJWT claims %s: want ada's", out)
					}
					if out, err := exec.Command(python, "testdata/pyjwt_verify.py", jwksURI, app.cfg.BaseURL.String(), forged).CombinedOutput(); err == nil {
						t.Errorf("PyJWT accepted a forged token: %s", out)
					}
				})
			})
		}
	})
}

// TestRetireKeyAtOnce: retiring a key (here through a third instance, as
// the CLI does) takes effect everywhere by the very next request, with no
// clock moving and no token of the retired key seen first: no instance
// signs with it, and no instance publishes it (contract §8; the probe saw
// the retired key sign for ~10 s and fill the JWKS alone).
func TestRetireKeyAtOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		one := newApp(t, db)
		two := newApp(t, db, sameDatabaseAs(one))
		cliLike := newApp(t, db, sameDatabaseAs(one))
		one.createUser(t, "ada@example.com", goodPassword)
		ctx := context.Background()
		login := func(on *app) string { return on.client(t).loginAPI("ada@example.com", goodPassword).AccessToken }
		current := kidOf(t, login(one))
		if got := kidOf(t, login(two)); got != current {
			t.Fatalf("the instances sign with %q and %q, want one shared key", current, got)
		}
		for _, on := range []*app{one, two} {
			on.client(t).jwks() // both copies loaded and fresh
		}

		next, err := cliLike.auth.RetireKey(ctx, current)
		if err != nil || next == "" {
			t.Fatalf("retire the current key: next %q, err %v", next, err)
		}
		for name, on := range map[string]*app{"first": one, "second": two} {
			for i := range 3 {
				if got := kidOf(t, login(on)); got != next {
					t.Errorf("%s instance, login %d after the retirement: signed with %q, want the successor %q", name, i, got, next)
				}
			}
			if got := kids(on.client(t).jwks()); !slices.Equal(got, []string{next}) {
				t.Errorf("%s instance's JWKS right after the retirement: %v, want only %s", name, got, next)
			}
		}

		// Retiring an older key (rotated, still published) removes it from
		// every JWKS at once too.
		rotated, err := cliLike.auth.RotateKey(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		two.client(t).jwks()
		if _, err := cliLike.auth.RetireKey(ctx, next); err != nil {
			t.Fatal(err)
		}
		for name, on := range map[string]*app{"first": one, "second": two} {
			if got := kids(on.client(t).jwks()); !slices.Equal(got, []string{rotated}) {
				t.Errorf("%s instance's JWKS right after retiring the older key: %v, want only %s", name, got, rotated)
			}
		}
	})
}
