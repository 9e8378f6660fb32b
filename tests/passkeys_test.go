package tests

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/auth"
	"gatehouse/config"
	"gatehouse/models"
)

// passkeyBody is the contract's passkey object.
type passkeyBody struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func (c *client) passkeys(headers ...header) []passkeyBody {
	c.t.Helper()
	var list struct {
		Items []passkeyBody `json:"items"`
	}
	c.get("/api/me/passkeys", headers...).wantStatus(c.t, http.StatusOK).decode(c.t, &list)
	return list.Items
}

// passkeyUser makes ada, logs her in over the API (cookie and token) and
// registers a passkey for her.
func passkeyUser(t *testing.T, app *app) (*client, *authenticator) {
	t.Helper()
	app.createUser(t, "ada@example.com", goodPassword)
	c := app.client(t)
	c.loginAPI("ada@example.com", goodPassword)
	au := newAuthenticator(t, app)
	c.addPasskey(au, "Laptop").wantStatus(t, http.StatusCreated)
	return c, au
}

// TestPasskeys walks contract §11 over the API: options in the WebAuthn
// Level 3 JSON forms, adding, listing, "passkey" in providers, a
// discoverable login that answers as /api/login does, the security log
// and the metrics, and removing.
func TestPasskeys(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withPasskeys)
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		tok := c.loginAPI("ada@example.com", goodPassword)
		au := newAuthenticator(t, app)

		opts := c.beginRegistration(bearer(tok.AccessToken))
		pk := opts.PublicKey
		if pk.RP.ID != "localhost" {
			t.Errorf("rp.id = %q, want localhost", pk.RP.ID)
		}
		challenge, err := base64.RawURLEncoding.DecodeString(pk.Challenge)
		if err != nil || len(challenge) < 16 || strings.ContainsAny(pk.Challenge, "=+/") {
			t.Errorf("challenge %q: want at least 16 bytes, base64url without padding (%v)", pk.Challenge, err)
		}
		if handle, err := base64.RawURLEncoding.DecodeString(pk.User.ID); err != nil || len(handle) == 0 || len(handle) > 64 ||
			strings.Contains(string(handle), "ada") {
			t.Errorf("user.id = %q: want an opaque handle, not the email (%v)", pk.User.ID, err)
		}
		if pk.Selection.ResidentKey != "required" || pk.Selection.UserVerification != "required" || pk.Attestation != "none" {
			t.Errorf("residentKey %q, userVerification %q, attestation %q; want required, required, none",
				pk.Selection.ResidentKey, pk.Selection.UserVerification, pk.Attestation)
		}
		var algs []int
		for _, p := range pk.Params {
			algs = append(algs, p.Alg)
		}
		if !slices.Equal(algs, []int{-7, -8, -257}) {
			t.Errorf("pubKeyCredParams algorithms = %v, want ES256, EdDSA, RS256", algs)
		}
		if len(pk.Excluded) != 0 {
			t.Errorf("excludeCredentials = %v before any passkey", pk.Excluded)
		}

		var added passkeyBody
		c.post("/api/me/passkeys/register/finish", map[string]any{"name": " Laptop ", "credential": au.register(opts)}, bearer(tok.AccessToken)).
			wantStatus(t, http.StatusCreated).decode(t, &added)
		if added.ID == "" || added.Name != "Laptop" || added.LastUsedAt != nil {
			t.Errorf("added = %+v, want an id, the name trimmed, never used", added)
		}
		if got := c.passkeys(); len(got) != 1 || got[0].ID != added.ID {
			t.Errorf("passkeys = %+v, want the one added", got)
		}
		if got := c.me().Providers; !slices.Equal(got, []string{"password", "passkey"}) {
			t.Errorf("providers = %v, want password and passkey", got)
		}
		if again := c.beginRegistration().PublicKey.Excluded; len(again) != 1 || again[0].ID != b64.EncodeToString(au.id) {
			t.Errorf("excludeCredentials = %v, want the passkey just added", again)
		}
		if kinds := c.eventKinds(); kinds[0] != models.EventPasskeyAdded {
			t.Errorf("newest event %q, want passkey_added", kinds[0])
		}

		// A discoverable login from a fresh client: no email.
		before := scrape(t, app)
		fresh := app.client(t)
		login := fresh.beginPasskeyLogin()
		if login.Flow == "" || len(login.PublicKey.Allow) != 0 || login.PublicKey.UserVerification != "required" || login.PublicKey.RPID != "localhost" {
			t.Errorf("login options = %+v: want a flow, no allowCredentials, userVerification required, rpId localhost", login)
		}
		resp := fresh.post("/api/passkeys/login/finish", map[string]any{"flow": login.Flow, "credential": au.assert(login.PublicKey.Challenge)}).
			wantStatus(t, http.StatusOK)
		var got token
		resp.decode(t, &got)
		if got.AccessToken == "" || got.RefreshToken == "" || got.TokenType != "bearer" || got.Scope != "user:read user:write" {
			t.Errorf("token response = %+v, want /api/login's", got)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
		}
		if !slices.ContainsFunc(resp.Cookies(), func(ck *http.Cookie) bool { return ck.Name == "session" && ck.Value != "" }) {
			t.Error("no session cookie: a passkey login sets it as /api/login does")
		}
		fresh.get("/api/me").wantStatus(t, http.StatusOK)                                  // the cookie
		app.client(t).get("/api/me", bearer(got.AccessToken)).wantStatus(t, http.StatusOK) // the token
		fresh.refreshOK(got.RefreshToken)
		var events eventsBody
		fresh.get("/api/me/events").decode(t, &events)
		if e := events.Items[0]; e.Kind != models.EventLoginSucceeded || e.Detail != "passkey" {
			t.Errorf("newest event = %+v, want login_succeeded with detail passkey", e)
		}
		after := scrape(t, app)
		if moved := value(after, "gatehouse_logins_total", "method=passkey,result=success") - value(before, "gatehouse_logins_total", "method=passkey,result=success"); moved != 1 {
			t.Errorf("logins_total{method=passkey,result=success} moved by %v, want 1", moved)
		}
		if list := fresh.passkeys(); list[0].LastUsedAt == nil {
			t.Error("last_used_at is still null after a login")
		}
		// The login counts as an authentication: a sensitive action works.
		fresh.beginRegistration()

		// Removing it; "passkey" leaves providers; it no longer logs in.
		fresh.post("/api/me/passkeys/"+added.ID+"/remove", nil).wantStatus(t, http.StatusOK)
		if got := fresh.me().Providers; !slices.Equal(got, []string{"password"}) {
			t.Errorf("providers = %v after removing, want password", got)
		}
		if kinds := fresh.eventKinds(); kinds[0] != models.EventPasskeyRemoved {
			t.Errorf("newest event %q, want passkey_removed", kinds[0])
		}
		fresh.post("/api/me/passkeys/"+added.ID+"/remove", nil).wantProblem(t, http.StatusNotFound, "not_found")
		app.client(t).passkeyLogin(au).wantProblem(t, http.StatusUnauthorized, "invalid_passkey")
	})
}

// TestPasskeyRegistrationRefusals: every answer that does not verify is
// 400 invalid_passkey, and the ceremony is single use, bound to its
// session, replaced by a newer begin and needs a recent authentication.
func TestPasskeyRegistrationRefusals(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withPasskeys)
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		c.loginAPI("ada@example.com", goodPassword)
		finish := func(cred any, name string) *response {
			return c.post("/api/me/passkeys/register/finish", map[string]any{"name": name, "credential": cred})
		}
		bad := func(name string, spoil func(au *authenticator)) {
			t.Run(name, func(t *testing.T) {
				au := newAuthenticator(t, app)
				spoil(au)
				finish(au.register(c.beginRegistration()), "").wantProblem(t, http.StatusBadRequest, "invalid_passkey")
			})
		}
		bad("another origin", func(au *authenticator) { au.origin = "http://evil.example" })
		bad("another port", func(au *authenticator) { au.origin = "http://localhost:1" })
		bad("another rpId", func(au *authenticator) { au.rpID = "evil.example" })
		bad("no user verification", func(au *authenticator) { au.noUV = true })
		bad("the type of a login", func(au *authenticator) { au.typ = "webauthn.get" })

		t.Run("a foreign challenge", func(t *testing.T) {
			au := newAuthenticator(t, app)
			opts := c.beginRegistration()
			opts.PublicKey.Challenge = b64.EncodeToString([]byte("a challenge we never gave out"))
			finish(au.register(opts), "").wantProblem(t, http.StatusBadRequest, "invalid_passkey")
		})
		t.Run("replayed, and a failed finish spends the ceremony", func(t *testing.T) {
			au := newAuthenticator(t, app)
			cred := au.register(c.beginRegistration())
			finish(map[string]any{"id": "garbage"}, "").wantProblem(t, http.StatusBadRequest, "invalid_passkey")
			finish(cred, "").wantProblem(t, http.StatusBadRequest, "invalid_passkey") // good, but spent
			cred = au.register(c.beginRegistration())
			finish(cred, "").wantStatus(t, http.StatusCreated)
			finish(cred, "").wantProblem(t, http.StatusBadRequest, "invalid_passkey") // the same answer again
		})
		t.Run("a newer begin voids an older one", func(t *testing.T) {
			au := newAuthenticator(t, app)
			older := c.beginRegistration()
			c.beginRegistration()
			finish(au.register(older), "").wantProblem(t, http.StatusBadRequest, "invalid_passkey")
		})
		t.Run("bound to the session that began it", func(t *testing.T) {
			au := newAuthenticator(t, app)
			other := app.client(t)
			other.loginAPI("ada@example.com", goodPassword)
			opts := c.beginRegistration()
			other.post("/api/me/passkeys/register/finish", map[string]any{"credential": au.register(opts)}).
				wantProblem(t, http.StatusBadRequest, "invalid_passkey")
		})
		t.Run("expired after 5 minutes", func(t *testing.T) {
			au := newAuthenticator(t, app)
			opts := c.beginRegistration()
			app.clock.Advance(5*time.Minute + time.Second)
			c.post("/api/me/reauth", map[string]string{"password": goodPassword}).wantStatus(t, http.StatusOK)
			finish(au.register(opts), "").wantProblem(t, http.StatusBadRequest, "invalid_passkey")
		})
		t.Run("a bad name is 422 and spends nothing", func(t *testing.T) {
			au := newAuthenticator(t, app)
			cred := au.register(c.beginRegistration())
			for _, name := range []string{strings.Repeat("n", 65), "bad\x1bname", "right\u202eto left"} {
				p := finish(cred, name).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
				if p.Fields["name"] == "" {
					t.Errorf("name %q: fields = %v, want fields.name", name, p.Fields)
				}
			}
			var added passkeyBody
			finish(cred, strings.Repeat("n", 64)).wantStatus(t, http.StatusCreated).decode(t, &added)
			if added.Name != strings.Repeat("n", 64) {
				t.Errorf("name = %q", added.Name)
			}
		})
		t.Run("a credential registered already", func(t *testing.T) {
			au := newAuthenticator(t, app)
			c.addPasskey(au, "").wantStatus(t, http.StatusCreated)
			c.addPasskey(au, "").wantProblem(t, http.StatusConflict, "passkey_exists")
			// Another user cannot take it either.
			app.createUser(t, "bob@example.com", goodPassword)
			bob := app.client(t)
			bob.loginAPI("bob@example.com", goodPassword)
			bob.addPasskey(au, "").wantProblem(t, http.StatusConflict, "passkey_exists")
		})
		t.Run("bodies that are not answers", func(t *testing.T) {
			for _, body := range []string{`{"credential": "x"}`, `{"credential": 5}`, `{"credential": null}`, `{}`,
				`{"credential": {"id": "", "rawId": "", "type": "public-key", "response": {"clientDataJSON": "", "attestationObject": ""}}}`,
				`{"credential": {"response": {"attestationObject": "` + b64.EncodeToString([]byte{0xbf, 0xff, 0x00}) + `"}}}`,
				`{"credential": ` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`} {
				c.beginRegistration()
				resp := c.post("/api/me/passkeys/register/finish", body)
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("%.60s: status %d, want 400", body, resp.StatusCode)
				}
			}
			c.post("/api/me/passkeys/register/finish", `{"credential":`).wantProblem(t, http.StatusBadRequest, "bad_request")
		})
		t.Run("needs a recent authentication", func(t *testing.T) {
			app.clock.Advance(app.cfg.ReauthWindow + time.Second)
			c.post("/api/me/passkeys/register/begin", nil).wantProblem(t, http.StatusUnauthorized, "reauth_required")
			list := c.passkeys()
			c.post("/api/me/passkeys/"+list[0].ID+"/remove", nil).wantProblem(t, http.StatusUnauthorized, "reauth_required")
			if len(c.passkeys()) != len(list) {
				t.Error("a passkey was removed without a recent authentication")
			}
		})
	})
}

// TestPasskeyLoginRefusals: every passkey login that is not accepted is
// 401 invalid_passkey with the same words, counted per client IP.
func TestPasskeyLoginRefusals(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		// Many refusals from one IP here: the throttle has a test of its own.
		app := newApp(t, db, withPasskeys, func(c *config.Config) { c.LoginMaxFailuresPerIP = 1000 })
		owner, au := passkeyUser(t, app)
		c := app.client(t)
		refused := func(t *testing.T, resp *response) {
			t.Helper()
			if p := resp.wantProblem(t, http.StatusUnauthorized, "invalid_passkey"); p.Detail != "This passkey was not accepted" {
				t.Errorf("detail = %q", p.Detail)
			}
		}
		finish := func(flow string, cred any) *response {
			return c.post("/api/passkeys/login/finish", map[string]any{"flow": flow, "credential": cred})
		}
		spoiled := func(name string, spoil, mend func()) {
			t.Run(name, func(t *testing.T) {
				spoil()
				defer mend()
				refused(t, c.passkeyLogin(au))
			})
		}
		origin, rpID := au.origin, au.rpID
		spoiled("another origin", func() { au.origin = "https://evil.example" }, func() { au.origin = origin })
		spoiled("another rpId", func() { au.rpID = "evil.example" }, func() { au.rpID = rpID })
		spoiled("no user verification", func() { au.noUV = true }, func() { au.noUV = false })
		spoiled("the type of a registration", func() { au.typ = "webauthn.create" }, func() { au.typ = "" })

		t.Run("replayed", func(t *testing.T) {
			opts := c.beginPasskeyLogin()
			answer := au.assert(opts.PublicKey.Challenge)
			finish(opts.Flow, answer).wantStatus(t, http.StatusOK)
			refused(t, finish(opts.Flow, answer))
		})
		t.Run("a foreign challenge", func(t *testing.T) {
			one, two := c.beginPasskeyLogin(), c.beginPasskeyLogin()
			refused(t, finish(two.Flow, au.assert(one.PublicKey.Challenge)))
			finish(one.Flow, au.assert(one.PublicKey.Challenge)).wantStatus(t, http.StatusOK) // its own flow was not touched
		})
		t.Run("an unknown or expired flow", func(t *testing.T) {
			opts := c.beginPasskeyLogin()
			refused(t, finish("no-such-flow", au.assert(opts.PublicKey.Challenge)))
			refused(t, finish("", au.assert(opts.PublicKey.Challenge)))
			opts = c.beginPasskeyLogin()
			app.clock.Advance(5*time.Minute + time.Second)
			refused(t, finish(opts.Flow, au.assert(opts.PublicKey.Challenge)))
		})
		t.Run("an unknown credential", func(t *testing.T) {
			stranger := newAuthenticator(t, app)
			stranger.handle = au.handle // even claiming ada's user handle
			refused(t, c.passkeyLogin(stranger))
		})
		t.Run("a counter going backwards", func(t *testing.T) {
			c.passkeyLogin(au).wantStatus(t, http.StatusOK)
			au.sameSign = true // a clone answers with the counter the original used last
			refused(t, c.passkeyLogin(au))
			au.counter -= 5
			refused(t, c.passkeyLogin(au))
			if kinds := owner.eventKinds(); !slices.Contains(kinds, models.EventPasskeyCloneSuspected) {
				t.Errorf("events %v, want passkey_clone_suspected", kinds)
			}
			au.counter += 100 // the real authenticator goes on
			c.passkeyLogin(au).wantStatus(t, http.StatusOK)
		})
		t.Run("bodies that are not answers", func(t *testing.T) {
			for _, body := range []string{`{}`, `{"flow": 5}`, `{"credential": "x"}`, `{"flow": "` + strings.Repeat("f", 5000) + `", "credential": {}}`,
				`{"credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {"clientDataJSON": "e30", "authenticatorData": "", "signature": "", "userHandle": "%%%"}}}`} {
				opts := c.beginPasskeyLogin()
				body = strings.Replace(body, "{}", `{"flow": "`+opts.Flow+`"}`, 1)
				resp := c.post("/api/passkeys/login/finish", body)
				if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest {
					t.Errorf("%.60s: status %d, want 401 (or 400 for a body that cannot be read)", body, resp.StatusCode)
				}
			}
		})
		t.Run("a removed passkey", func(t *testing.T) {
			list := owner.passkeys()
			owner.post("/api/me/reauth", map[string]string{"password": goodPassword}).wantStatus(t, http.StatusOK)
			owner.post("/api/me/passkeys/"+list[0].ID+"/remove", nil).wantStatus(t, http.StatusOK)
			refused(t, c.passkeyLogin(au))
		})
	})
}

// TestPasskeyLoginDisabledUser: a disabled user's passkey verifies and is
// then refused with 403 inactive_user, as a right password is.
func TestPasskeyLoginDisabledUser(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withPasskeys)
		_, au := passkeyUser(t, app)
		if err := app.auth.SetDisabled(context.Background(), "ada@example.com", true); err != nil {
			t.Fatal(err)
		}
		app.client(t).passkeyLogin(au).wantProblem(t, http.StatusForbidden, "inactive_user")
	})
}

// TestPasskeyLoginThrottle: failed passkey answers are counted per client
// IP with failed password logins; past the limit even a good passkey gets
// 429 with Retry-After, and so does the begin.
func TestPasskeyLoginThrottle(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withPasskeys, func(c *config.Config) { c.LoginMaxFailuresPerIP = 3 })
		_, au := passkeyUser(t, app)
		c := app.client(t)
		c.passkeyLogin(au).wantStatus(t, http.StatusOK) // a good one is not counted
		stranger := newAuthenticator(t, app)
		stranger.handle = au.handle
		c.post("/api/login", map[string]string{"username": "ada@example.com", "password": "wrong"}).wantStatus(t, http.StatusUnauthorized)
		c.passkeyLogin(stranger).wantProblem(t, http.StatusUnauthorized, "invalid_passkey")
		opts := c.beginPasskeyLogin() // two failures: below the limit
		c.passkeyLogin(stranger).wantProblem(t, http.StatusUnauthorized, "invalid_passkey")
		// Three: a good passkey is refused too, and so is a begin.
		c.post("/api/passkeys/login/finish", map[string]any{"flow": opts.Flow, "credential": au.assert(opts.PublicKey.Challenge)}).
			wantProblem(t, http.StatusTooManyRequests, "too_many_attempts")
		r := c.post("/api/passkeys/login/begin", nil)
		r.wantProblem(t, http.StatusTooManyRequests, "too_many_attempts")
		if r.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		app.clock.Advance(app.cfg.LoginFailureWindow + time.Second)
		c.passkeyLogin(au).wantStatus(t, http.StatusOK)
	})
}

// TestPasskeyReauth: a passkey re-authenticates (auth_time now), but only
// one of the caller's, through a flow of the caller's session.
func TestPasskeyReauth(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withPasskeys)
		c, au := passkeyUser(t, app)
		app.createUser(t, "bob@example.com", goodPassword)
		bob := app.client(t)
		bob.loginAPI("bob@example.com", goodPassword)
		bobKey := newAuthenticator(t, app)
		bob.addPasskey(bobKey, "").wantStatus(t, http.StatusCreated)

		app.clock.Advance(app.cfg.ReauthWindow + time.Second)
		c.post("/api/me/passkeys/register/begin", nil).wantProblem(t, http.StatusUnauthorized, "reauth_required")

		var opts requestOptions
		c.post("/api/me/reauth/passkey/begin", nil).wantStatus(t, http.StatusOK).decode(t, &opts)
		if len(opts.PublicKey.Allow) != 1 || opts.PublicKey.Allow[0].ID != b64.EncodeToString(au.id) || opts.PublicKey.UserVerification != "required" {
			t.Errorf("reauth options = %+v, want ada's passkey in allowCredentials, userVerification required", opts.PublicKey)
		}
		finish := func(cl *client, flow string, cred any) *response {
			return cl.post("/api/me/reauth/passkey/finish", map[string]any{"flow": flow, "credential": cred})
		}
		finish(c, opts.Flow, bobKey.assert(opts.PublicKey.Challenge)).wantProblem(t, http.StatusUnauthorized, "invalid_passkey")
		c.post("/api/me/reauth/passkey/begin", nil).decode(t, &opts)
		finish(bob, opts.Flow, bobKey.assert(opts.PublicKey.Challenge)).wantProblem(t, http.StatusUnauthorized, "invalid_passkey") // ada's flow
		c.post("/api/me/reauth/passkey/begin", nil).decode(t, &opts)
		au.noUV = true
		finish(c, opts.Flow, au.assert(opts.PublicKey.Challenge)).wantProblem(t, http.StatusUnauthorized, "invalid_passkey")
		au.noUV = false
		c.post("/api/me/passkeys/register/begin", nil).wantProblem(t, http.StatusUnauthorized, "reauth_required")

		c.post("/api/me/reauth/passkey/begin", nil).decode(t, &opts)
		finish(c, opts.Flow, au.assert(opts.PublicKey.Challenge)).wantStatus(t, http.StatusOK)
		c.beginRegistration()
		app.client(t).post("/api/me/reauth/passkey/begin", nil).wantProblem(t, http.StatusUnauthorized, "not_authenticated")
	})
}

// TestPasskeyLastLoginMethod: the last way to log in stays: of an
// account without a password or a provider that is on, the last passkey.
func TestPasskeyLastLoginMethod(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withPasskeys)
		ctx := context.Background()
		u := &models.User{Email: "pat@example.com", FullName: "Pat", Scopes: "user:read user:write", EmailVerified: true}
		// A provider that is not switched on here: no way in by itself.
		if err := app.store.CreateUserWithIdentity(ctx, u, &models.Identity{Provider: "google", Subject: "g-1", Email: u.Email, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		caller, err := app.auth.OpenSession(ctx, u, auth.Client{IP: "192.0.2.1"}, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := app.auth.IssueToken(ctx, caller)
		if err != nil {
			t.Fatal(err)
		}
		c := app.client(t)
		as := bearer(tok.AccessToken)
		one, two := newAuthenticator(t, app), newAuthenticator(t, app)
		var first, second passkeyBody
		c.addPasskey(one, "one", as).wantStatus(t, http.StatusCreated).decode(t, &first)
		c.addPasskey(two, "two", as).wantStatus(t, http.StatusCreated).decode(t, &second)
		c.post("/api/me/passkeys/"+first.ID+"/remove", nil, as).wantStatus(t, http.StatusOK)
		c.post("/api/me/passkeys/"+second.ID+"/remove", nil, as).wantProblem(t, http.StatusConflict, "last_login_method")
		if got := c.me(as).Providers; !slices.Equal(got, []string{"google", "passkey"}) {
			t.Errorf("providers = %v, want google and passkey", got)
		}
	})
}

// TestPasskeysAcrossInstances: a ceremony begun on one instance finishes
// on another (the state is in the database), on both databases.
func TestPasskeysAcrossInstances(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		one := newApp(t, db, withPasskeys)
		two := newApp(t, db, sameDatabaseAs(one))
		one.createUser(t, "ada@example.com", goodPassword)
		tok := one.client(t).loginAPI("ada@example.com", goodPassword)
		au := newAuthenticator(t, one)
		opts := one.client(t).beginRegistration(bearer(tok.AccessToken))
		two.client(t).post("/api/me/passkeys/register/finish", map[string]any{"credential": au.register(opts)}, bearer(tok.AccessToken)).
			wantStatus(t, http.StatusCreated)

		login := two.client(t).beginPasskeyLogin()
		c := one.client(t)
		var got token
		c.post("/api/passkeys/login/finish", map[string]any{"flow": login.Flow, "credential": au.assert(login.PublicKey.Challenge)}).
			wantStatus(t, http.StatusOK).decode(t, &got)
		two.client(t).get("/api/me", bearer(got.AccessToken)).wantStatus(t, http.StatusOK)
	})
}

// TestPasskeysOff: with BASE_URL on an IP address (and no
// WEBAUTHN_RP_ID) every passkey route is 404 and the pages show no
// passkey controls.
func TestPasskeysOff(t *testing.T) {
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", goodPassword)
	c := app.client(t)
	c.loginAPI("ada@example.com", goodPassword)
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/me/passkeys"}, {"GET", "/admin/me/passkeys"},
		{"POST", "/api/me/passkeys/register/begin"}, {"POST", "/api/me/passkeys/register/finish"},
		{"POST", "/api/me/passkeys/x/remove"}, {"POST", "/admin/me/passkeys/x/remove"},
		{"POST", "/api/passkeys/login/begin"}, {"POST", "/api/passkeys/login/finish"},
		{"POST", "/api/me/reauth/passkey/begin"}, {"POST", "/api/me/reauth/passkey/finish"},
	} {
		app.client(t).do(r.method, r.path, nil, asJSON).wantProblem(t, http.StatusNotFound, "not_found")
		c.do(r.method, r.path, nil, asJSON).wantProblem(t, http.StatusNotFound, "not_found")
	}
	login := app.client(t).get("/auth/login", asHTML).wantStatus(t, http.StatusOK).doc(t)
	if login.Find("#passkey-login, script[src='/static/js/passkeys.js']").Length() != 0 {
		t.Error("the login page offers passkeys while they are off")
	}
	if got, _ := login.Find("#username").Attr("autocomplete"); got != "username" {
		t.Errorf("email field autocomplete = %q, want username", got)
	}
	if c.get("/admin/me", asHTML).doc(t).Find("#passkeys-link").Length() != 0 {
		t.Error("My info links to passkeys while they are off")
	}
}

// TestPasskeyPages: the login page's button and autofill, My info's
// link, the passkeys page's list and its remove form (without script).
func TestPasskeyPages(t *testing.T) {
	app := newApp(t, sqliteDB, withPasskeys)
	c, _ := passkeyUser(t, app)
	login := app.client(t).get("/auth/login", asHTML).wantStatus(t, http.StatusOK).doc(t)
	if got, _ := login.Find("#username").Attr("autocomplete"); got != "username webauthn" {
		t.Errorf("email field autocomplete = %q, want \"username webauthn\"", got)
	}
	if login.Find("button#passkey-login").Length() != 1 || login.Find("script[src='/static/js/passkeys.js']").Length() != 1 {
		t.Error("the login page has no passkey button or no script")
	}
	if login.Find("script:not([src])").Length() != 0 {
		t.Error("inline script on the login page")
	}
	me := c.get("/admin/me", asHTML).wantStatus(t, http.StatusOK).doc(t)
	if href, _ := me.Find("#passkeys-link").Attr("href"); href != "/admin/me/passkeys" {
		t.Errorf("My info's passkeys link = %q", href)
	}
	page := c.get("/admin/me/passkeys", asHTML).wantStatus(t, http.StatusOK).doc(t)
	if got := strings.TrimSpace(page.Find(".passkey-name").Text()); got != "Laptop" {
		t.Errorf("listed %q, want Laptop", got)
	}
	action, _ := page.Find("#passkey-list form").Attr("action")
	c.post(action, formOf("next", "/admin/me/passkeys"), asHTML).wantRedirect(t, "/admin/me/passkeys?flash=passkey_removed")
	if len(c.passkeys()) != 0 {
		t.Error("the page's form did not remove the passkey")
	}
	// Without a recent authentication the form goes to /auth/reauth first.
	c.addPasskey(newAuthenticator(t, app), "Key").wantStatus(t, http.StatusCreated)
	app.clock.Advance(app.cfg.ReauthWindow + time.Second)
	action, _ = c.get("/admin/me/passkeys", asHTML).doc(t).Find("#passkey-list form").Attr("action")
	c.post(action, formOf("next", "/admin/me/passkeys"), asHTML).wantRedirect(t, "/auth/reauth?next=%2Fadmin%2Fme%2Fpasskeys")
	reauth := c.get("/auth/reauth?next=/admin/me/passkeys", asHTML).wantStatus(t, http.StatusOK).doc(t)
	if reauth.Find("button#passkey-reauth").Length() != 1 {
		t.Error("the re-authentication page offers no passkey to an account that has one")
	}
}

// TestPasskeysStartUpLine: serve on an IP address logs, once, that
// passkeys are off and how to turn them on; on a name it says nothing of
// the kind, and a bad WEBAUTHN_RP_ID or WEBAUTHN_ORIGINS stops the start
// with one line naming it.
func TestPasskeysStartUpLine(t *testing.T) {
	off := newCLI(t, sqliteDB).serve()
	if n := strings.Count(off.stdout, "passkeys are off"); n != 1 || !strings.Contains(off.stdout, "BASE_URL=http://localhost:8000") {
		t.Errorf("serve on 127.0.0.1 logged (want one line saying how to turn passkeys on):\n%s", off.stdout)
	}
	on := newCLI(t, sqliteDB, "BASE_URL=http://localhost:8000").serve()
	if strings.Contains(on.stdout, "passkeys are off") {
		t.Errorf("serve on localhost says passkeys are off:\n%s", on.stdout)
	}
	for _, bad := range []string{"WEBAUTHN_RP_ID=https://example.com", "WEBAUTHN_ORIGINS=example.com"} {
		name, _, _ := strings.Cut(bad, "=")
		_, errOut, code := newCLI(t, sqliteDB, bad).run("", "migrate")
		if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, name) {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 and one line naming %s", bad, code, errOut, name)
		}
	}
}
