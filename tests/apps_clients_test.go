package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"gatehouse/idp"
)

// TestAppsZitadelRP logs in through zitadel's relying party (rp): it
// discovers the provider, verifies the ID token (signature, issuer,
// audience, nonce, at_hash, auth_time) and asks UserInfo itself. The app
// is registered with EdDSA ID tokens, so the second key ring is used.
func TestAppsZitadelRP(t *testing.T) {
	f := newAppFixture(t, sqliteDB, idp.Registration{FirstParty: true, IDTokenAlg: "EdDSA"})
	ctx := context.Background()
	nonce := "zitadel-" + oauth2.GenerateVerifier()[:8]
	party, err := rp.NewRelyingPartyOIDC(ctx, f.a.URL, f.reg.ClientID, f.reg.ClientSecret, rpCallback,
		[]string{zoidc.ScopeOpenID, zoidc.ScopeEmail}, rp.WithHTTPClient(http.DefaultClient),
		rp.WithVerifierOpts(rp.WithNonce(func(context.Context) string { return nonce }), rp.WithSupportedSigningAlgorithms("EdDSA")))
	if err != nil {
		t.Fatalf("rp: %v", err)
	}
	verifier := oauth2.GenerateVerifier()
	authURL := mustParse(t, rp.AuthURL("zstate", party, rp.WithCodeChallenge(oauth2.S256ChallengeFromVerifier(verifier)),
		rp.AuthURLOpt(rp.WithURLParam("nonce", nonce))))
	code := (&codeRequest{redirect: rpCallback, state: "zstate"}).back(t, f.a, f.browser.get(authURL.RequestURI())).Get("code")
	tokens, err := rp.CodeExchange[*zoidc.IDTokenClaims](ctx, code, party, rp.WithCodeVerifier(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	if tokens.IDTokenClaims.Email != "ada@example.com" || tokens.IDTokenClaims.Nonce != nonce {
		t.Fatalf("ID token claims %+v", tokens.IDTokenClaims)
	}
	if alg := jwtHeader(t, tokens.IDToken)["alg"]; alg != "EdDSA" {
		t.Fatalf("ID token alg %v, want the app's EdDSA", alg)
	}
	info, err := rp.Userinfo[*zoidc.UserInfo](ctx, tokens.AccessToken, "Bearer", tokens.IDTokenClaims.Subject, party)
	if err != nil || info.Email != "ada@example.com" {
		t.Fatalf("userinfo %+v: %v", info, err)
	}
}

// TestAppsAuthlib logs in through Python's Authlib (an OAuth2Session with
// S256, client_secret_basic, the ID token validated against the JWKS and
// UserInfo), on each database. The browser step is the test's client.
func TestAppsAuthlib(t *testing.T) {
	python := "/usr/bin/python3" // Debian's, which sees python3-authlib
	if err := exec.Command(python, "-c", "import authlib, requests").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot import authlib (python3-authlib, python3-requests): %v", python, err)
		}
		t.Skipf("%s cannot import authlib: apt-get install python3-authlib python3-requests", python)
	}
	eachDB(t, func(t *testing.T, db database) {
		f := newAppFixture(t, db, idp.Registration{FirstParty: true})
		args := []string{"testdata/authlib_client.py", "", f.a.URL, f.reg.ClientID, f.reg.ClientSecret, rpCallback}
		args[1] = "authorize"
		out, err := exec.Command(python, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("authlib authorize: %v\n%s", err, out)
		}
		var start struct{ URL, Verifier, Nonce, State string }
		if err := json.Unmarshal(out, &start); err != nil {
			t.Fatalf("authlib said %s: %v", out, err)
		}
		resp := f.browser.get(mustParse(t, start.URL).RequestURI())
		(&codeRequest{redirect: rpCallback, state: start.State}).back(t, f.a, resp)
		args[1] = "finish"
		out, err = exec.Command(python, append(args, start.Verifier, start.Nonce, resp.Header.Get("Location"))...).CombinedOutput()
		if err != nil {
			t.Fatalf("authlib finish: %v\n%s", err, out)
		}
		var got struct {
			IDToken  map[string]any `json:"id_token"`
			UserInfo map[string]any `json:"userinfo"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("authlib said %s: %v", out, err)
		}
		if got.IDToken["email"] != "ada@example.com" || got.UserInfo["email"] != "ada@example.com" || got.IDToken["sub"] != got.UserInfo["sub"] {
			t.Fatalf("authlib got %+v", got)
		}
		if _, err := strconv.ParseUint(got.IDToken["sub"].(string), 10, 64); err != nil {
			t.Fatalf("sub %v is not the user id", got.IDToken["sub"])
		}
	})
}
