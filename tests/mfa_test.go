package tests

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base32"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"gatehouse/config"
	"gatehouse/internal/testenv"
	"gatehouse/models"
)

// totpCode is the code an authenticator app shows for secret at at: the
// tests compute codes from the secret, as the phone would.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatalf("totp code: %v", err)
	}
	return code
}

// totpSetupBody is POST /api/me/2fa/totp/setup's answer.
type totpSetupBody struct {
	Secret string `json:"secret"`
	URL    string `json:"otpauth_url"`
}

// recoveryCodesBody is the answer that shows recovery codes.
type recoveryCodesBody struct {
	Detail        string   `json:"detail"`
	RecoveryCodes []string `json:"recovery_codes"`
}

// meMFA is the "mfa" of GET /api/me.
func (c *client) meMFA(headers ...header) bool {
	c.t.Helper()
	var me struct {
		MFA bool `json:"mfa"`
	}
	c.get("/api/me", headers...).wantStatus(c.t, http.StatusOK).decode(c.t, &me)
	return me.MFA
}

// enableMFA turns two-factor authentication on for the client's session
// and returns the secret and the recovery codes. The clock then moves to
// the next step, so the code that enabled it is out of the way.
func (c *client) enableMFA() (secret string, codes []string) {
	c.t.Helper()
	var setup totpSetupBody
	c.post("/api/me/2fa/totp/setup", nil).wantStatus(c.t, http.StatusOK).decode(c.t, &setup)
	var rc recoveryCodesBody
	c.post("/api/me/2fa/totp/enable", map[string]string{"code": totpCode(c.t, setup.Secret, c.app.clock.Now())}).
		wantStatus(c.t, http.StatusOK).decode(c.t, &rc)
	c.app.clock.Advance(30 * time.Second)
	return setup.Secret, rc.RecoveryCodes
}

// newMFAApp starts an app with ada@example.com, logged in as owner with
// two-factor authentication on: its secret and recovery codes.
func newMFAApp(t *testing.T, db database) (app *app, owner *client, secret string, codes []string) {
	t.Helper()
	app = newApp(t, db)
	app.createUser(t, "ada@example.com", goodPassword)
	owner = app.client(t)
	owner.loginAPI("ada@example.com", goodPassword)
	secret, codes = owner.enableMFA()
	return app, owner, secret, codes
}

// eventKinds lists the kinds in the client's security log, newest first.
func (c *client) eventKinds() []string {
	c.t.Helper()
	var log eventsBody
	c.get("/api/me/events?limit=100").wantStatus(c.t, http.StatusOK).decode(c.t, &log)
	var kinds []string
	for _, e := range log.Items {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

func TestMFASetup(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		c.loginAPI("ada@example.com", goodPassword)

		c.post("/api/me/2fa/totp/enable", map[string]string{"code": "123456"}).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")

		var setup totpSetupBody
		c.post("/api/me/2fa/totp/setup", nil).wantStatus(t, http.StatusOK).decode(t, &setup)
		u := mustParse(t, setup.URL)
		if u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != setup.Secret ||
			u.Query().Get("issuer") != "Gatehouse" || u.Query().Get("digits") != "6" || u.Query().Get("period") != "30" {
			t.Errorf("otpauth_url = %s, want a TOTP key for the secret %s", setup.URL, setup.Secret)
		}
		if !strings.Contains(u.Path, "ada@example.com") {
			t.Errorf("otpauth_url %s does not name the account", setup.URL)
		}

		now := app.clock.Now()
		for name, code := range map[string]string{
			"a wrong code":                 wrongCode(totpCode(t, setup.Secret, now)),
			"a code two steps old":         totpCode(t, setup.Secret, now.Add(-60*time.Second)),
			"no code":                      "",
			"letters":                      "abcdef",
			"a code of another secret":     totpCode(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", now),
			"a code with a digit too many": totpCode(t, setup.Secret, now) + "1",
			"a code with a digit too few":  totpCode(t, setup.Secret, now)[:5],
		} {
			p := c.post("/api/me/2fa/totp/enable", map[string]string{"code": code}).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
			if p.Fields["code"] == "" {
				t.Errorf("%s: fields = %v, want a message on code", name, p.Fields)
			}
		}
		if c.meMFA() {
			t.Fatal("a wrong code turned two-factor authentication on")
		}

		var rc recoveryCodesBody
		c.post("/api/me/2fa/totp/enable", url.Values{"code": {totpCode(t, setup.Secret, now)}}).
			wantStatus(t, http.StatusOK).decode(t, &rc)
		if len(rc.RecoveryCodes) != 10 {
			t.Fatalf("recovery codes: got %d, want 10", len(rc.RecoveryCodes))
		}
		if n := len(slices.Compact(slices.Sorted(slices.Values(rc.RecoveryCodes)))); n != 10 {
			t.Errorf("recovery codes: %d distinct of 10", n)
		}
		if !c.meMFA() {
			t.Error(`after enabling, /api/me says "mfa": false`)
		}
		var st struct {
			MFA  bool  `json:"mfa"`
			Left int64 `json:"recovery_codes_left"`
		}
		c.get("/api/me/2fa").wantStatus(t, http.StatusOK).decode(t, &st)
		if !st.MFA || st.Left != 10 {
			t.Errorf("/api/me/2fa = %+v, want on with 10 codes left", st)
		}

		// New recovery codes void the old ones.
		var fresh recoveryCodesBody
		c.post("/api/me/2fa/recovery-codes", nil).wantStatus(t, http.StatusOK).decode(t, &fresh)
		if len(fresh.RecoveryCodes) != 10 || slices.Contains(fresh.RecoveryCodes, rc.RecoveryCodes[0]) {
			t.Fatalf("new recovery codes %v", fresh.RecoveryCodes)
		}
		other := app.client(t)
		other.post("/api/login", formOf("username", "ada@example.com", "password", goodPassword, "recovery_code", rc.RecoveryCodes[0])).
			wantProblem(t, http.StatusUnauthorized, "invalid_otp")
		other.post("/api/login", formOf("username", "ada@example.com", "password", goodPassword, "recovery_code", fresh.RecoveryCodes[0])).
			wantStatus(t, http.StatusOK)

		c.post("/api/me/2fa/disable", nil).wantStatus(t, http.StatusOK)
		if c.meMFA() {
			t.Error("after disabling, /api/me still says mfa")
		}
		c.post("/api/me/2fa/recovery-codes", nil).wantProblem(t, http.StatusConflict, "mfa_not_enabled")
		app.client(t).loginAPI("ada@example.com", goodPassword) // the password alone again

		kinds := c.eventKinds()
		for _, k := range []string{"mfa_enabled", "recovery_codes_regenerated", "recovery_code_used", "mfa_failed", "mfa_disabled"} {
			if !slices.Contains(kinds, k) {
				t.Errorf("security log %v lacks %s", kinds, k)
			}
		}
	})
}

// wrongCode is a 6-digit code that is not code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

func TestMFALogin(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app, owner, secret, codes := newMFAApp(t, db)
		login := func(extra ...string) *response {
			c := app.client(t)
			return c.post("/api/login", formOf(append([]string{"username", "ada@example.com", "password", goodPassword}, extra...)...))
		}

		t.Run("no code: mfa_required and no session", func(t *testing.T) {
			resp := login()
			p := resp.wantProblem(t, http.StatusUnauthorized, "mfa_required")
			if p.Detail != "Enter the code from your authenticator app" {
				t.Errorf("detail = %q", p.Detail)
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("cookies %v: no session may exist yet", resp.Cookies())
			}
		})
		t.Run("a wrong password is invalid_credentials whatever else came", func(t *testing.T) {
			c := app.client(t)
			c.post("/api/login", formOf("username", "ada@example.com", "password", "wrong", "otp", totpCode(t, secret, app.clock.Now()))).
				wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		})

		now := app.clock.Now()
		code := totpCode(t, secret, now)
		t.Run("the right code, as JSON", func(t *testing.T) {
			var tok token
			app.client(t).post("/api/login", map[string]string{"username": "ada@example.com", "password": goodPassword, "otp": code}).
				wantStatus(t, http.StatusOK).decode(t, &tok)
			if tok.AccessToken == "" {
				t.Fatal("no token")
			}
		})
		t.Run("the same code again in its step is refused", func(t *testing.T) {
			login("otp", code).wantProblem(t, http.StatusUnauthorized, "invalid_otp")
		})
		t.Run("one step of drift is accepted, then nothing older", func(t *testing.T) {
			app.clock.Advance(30 * time.Second)
			now := app.clock.Now()
			login("otp", totpCode(t, secret, now.Add(30*time.Second))).wantStatus(t, http.StatusOK) // the phone runs ahead
			login("otp", totpCode(t, secret, now)).wantProblem(t, http.StatusUnauthorized, "invalid_otp")
			app.clock.Advance(90 * time.Second)
			login("otp", totpCode(t, secret, app.clock.Now().Add(-60*time.Second))).wantProblem(t, http.StatusUnauthorized, "invalid_otp")
			login("otp", totpCode(t, secret, app.clock.Now().Add(-30*time.Second))).wantStatus(t, http.StatusOK)
		})
		t.Run("clients racing with one code: exactly one wins", func(t *testing.T) {
			app.clock.Advance(30 * time.Second)
			code := totpCode(t, secret, app.clock.Now())
			statuses := make([]int, 4)
			testenv.FanOut(len(statuses), func(i int) {
				statuses[i] = login("otp", code).StatusCode
			})
			if n := slices.Index(statuses, http.StatusOK); n < 0 || slices.Index(statuses[n+1:], http.StatusOK) >= 0 {
				t.Errorf("statuses %v, want exactly one 200", statuses)
			}
		})
		t.Run("a recovery code works once, typed loosely", func(t *testing.T) {
			login("recovery_code", codes[1]).wantStatus(t, http.StatusOK)
			login("recovery_code", codes[1]).wantProblem(t, http.StatusUnauthorized, "invalid_otp")
			loose := " " + strings.ToUpper(strings.ReplaceAll(codes[2], "-", "")) + " "
			login("recovery_code", loose).wantStatus(t, http.StatusOK)
			login("recovery_code", "abcde-fghjk").wantProblem(t, http.StatusUnauthorized, "invalid_otp")
		})
		t.Run("the user object says mfa", func(t *testing.T) {
			if !owner.meMFA() {
				t.Error(`"mfa": false`)
			}
		})
	})
}

// TestMFACodesThrottled: wrong codes count as failed logins, so the 6th
// attempt is 429 even with the right code, and the right password without
// a code in between does not wipe the count.
func TestMFACodesThrottled(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app, _, secret, _ := newMFAApp(t, db)
		c := app.client(t)
		right := totpCode(t, secret, app.clock.Now())
		for i := range 5 {
			c.post("/api/login", formOf("username", "ada@example.com", "password", goodPassword, "otp", wrongCode(right))).
				wantProblem(t, http.StatusUnauthorized, "invalid_otp")
			if i == 2 {
				c.post("/api/login", formOf("username", "ada@example.com", "password", goodPassword)).
					wantProblem(t, http.StatusUnauthorized, "mfa_required")
			}
		}
		resp := c.post("/api/login", formOf("username", "ada@example.com", "password", goodPassword, "otp", right))
		resp.wantProblem(t, http.StatusTooManyRequests, "too_many_attempts")
		if resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		app.clock.Advance(app.cfg.LoginFailureWindow + time.Second)
		c.post("/api/login", formOf("username", "ada@example.com", "password", goodPassword, "otp", totpCode(t, secret, app.clock.Now()))).
			wantStatus(t, http.StatusOK)
	})
}

// TestMFABrowserLogin: the HTML two-step login with its pending login,
// 5 minutes and 5 tries, bound to a cookie of its own.
func TestMFABrowserLogin(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app, _, secret, codes := newMFAApp(t, db)

		startLogin := func(t *testing.T, c *client, next string) {
			t.Helper()
			form := formOf("username", "ada@example.com", "password", goodPassword)
			if next != "" {
				form.Set("next", next)
			}
			resp := c.post("/auth/token", form, asHTML)
			resp.wantRedirect(t, "/auth/2fa")
			for _, ck := range resp.Cookies() {
				if ck.Name == "session" {
					t.Fatalf("a session cookie before the second factor: %v", ck)
				}
			}
			doc := c.get("/auth/2fa", asHTML).wantStatus(t, http.StatusOK).doc(t)
			if doc.Find(`form[action="/auth/2fa"] input#code`).Length() != 1 {
				t.Fatal("/auth/2fa has no code field")
			}
		}

		t.Run("the right code logs in and goes on to next", func(t *testing.T) {
			c := app.client(t)
			startLogin(t, c, "/posts")
			c.get("/api/me").wantProblem(t, http.StatusUnauthorized, "not_authenticated")
			c.post("/auth/2fa", formOf("code", totpCode(t, secret, app.clock.Now())), asHTML).wantRedirect(t, "/posts")
			c.get("/api/me").wantStatus(t, http.StatusOK)
			c.get("/auth/2fa", asHTML).wantRedirect(t, "/auth/login?state=2") // used up
		})
		t.Run("a wrong code shows the form again, 401", func(t *testing.T) {
			c := app.client(t)
			startLogin(t, c, "")
			page := c.post("/auth/2fa", formOf("code", "000000"), asHTML).wantStatus(t, http.StatusUnauthorized)
			if got := page.doc(t).Find("#problem").Text(); !strings.Contains(got, "not valid") {
				t.Errorf("problem = %q", got)
			}
			c.post("/auth/2fa", formOf("recovery_code", codes[0]), asHTML).wantRedirect(t, "/auth/home")
		})
		t.Run("5 tries, then log in again", func(t *testing.T) {
			c := app.client(t)
			startLogin(t, c, "")
			for range 5 {
				c.post("/auth/2fa", formOf("code", "000000"), asHTML).wantStatus(t, http.StatusUnauthorized)
			}
			app.clock.Advance(app.cfg.LoginFailureWindow + time.Second) // the throttle is not what stops it
			c.post("/auth/2fa", formOf("code", totpCode(t, secret, app.clock.Now())), asHTML).wantRedirect(t, "/auth/login?state=2")
			c.get("/api/me").wantStatus(t, http.StatusUnauthorized)
		})
		t.Run("5 minutes, then log in again", func(t *testing.T) {
			c := app.client(t)
			startLogin(t, c, "")
			app.clock.Advance(5*time.Minute + time.Second)
			c.get("/auth/2fa", asHTML).wantRedirect(t, "/auth/login?state=2")
			c.post("/auth/2fa", formOf("code", totpCode(t, secret, app.clock.Now())), asHTML).wantRedirect(t, "/auth/login?state=2")
		})
		t.Run("without its cookie a code is worth nothing", func(t *testing.T) {
			c := app.client(t)
			startLogin(t, c, "")
			stranger := app.client(t)
			stranger.post("/auth/2fa", formOf("code", totpCode(t, secret, app.clock.Now().Add(30*time.Second))), asHTML).
				wantRedirect(t, "/auth/login?state=2")
			stranger.get("/api/me").wantStatus(t, http.StatusUnauthorized)
		})
		t.Run("a password changed meanwhile ends the pending login", func(t *testing.T) {
			c := app.client(t)
			startLogin(t, c, "")
			app.clock.Advance(30 * time.Second)
			if err := app.auth.ResetPassword(t.Context(), "ada@example.com", goodPassword+" 2"); err != nil {
				t.Fatal(err)
			}
			c.post("/auth/2fa", formOf("code", totpCode(t, secret, app.clock.Now())), asHTML).wantRedirect(t, "/auth/login?state=2")
		})
	})
}

// TestReauth: the sensitive actions need an authentication within
// REAUTH_WINDOW, then work again after POST /api/me/reauth.
func TestReauth(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, func(cfg *config.Config) { cfg.ReauthWindow = time.Minute })
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		tok := c.loginAPI("ada@example.com", goodPassword)
		app.clock.Advance(61 * time.Second)

		for _, path := range []string{"/api/me/2fa/totp/setup", "/api/me/2fa/totp/enable", "/api/me/2fa/disable", "/api/me/2fa/recovery-codes"} {
			c.post(path, map[string]string{"code": "123456"}).wantProblem(t, http.StatusUnauthorized, "reauth_required")
			c.post(path, nil, bearer(tok.AccessToken)).wantProblem(t, http.StatusUnauthorized, "reauth_required")
		}
		c.get("/api/me/providers/google/link").wantProblem(t, http.StatusUnauthorized, "reauth_required")
		page := c.post("/admin/me/2fa/totp/setup", formOf("next", "/admin/me/2fa"), asHTML)
		page.wantRedirect(t, "/auth/reauth?next=%2Fadmin%2Fme%2F2fa")
		c.get("/admin/me/providers/google/link", asHTML).wantRedirect(t, "/auth/reauth?next=%2Fadmin%2Fme%2Fproviders%2Fgoogle%2Flink")
		doc := c.get("/auth/reauth?next=/admin/me/2fa", asHTML).wantStatus(t, http.StatusOK).doc(t)
		if doc.Find(`form[action="/auth/reauth"] input#password`).Length() != 1 {
			t.Fatal("the re-authentication page has no password field")
		}

		c.post("/api/me/reauth", map[string]string{"password": "wrong"}).wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		c.post("/api/me/reauth", map[string]string{}).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
		c.post("/auth/reauth", formOf("password", goodPassword, "next", "/admin/me/2fa"), asHTML).wantRedirect(t, "/admin/me/2fa")
		c.post("/api/me/2fa/totp/setup", nil, bearer(tok.AccessToken)).wantStatus(t, http.StatusOK) // the same session, by its token

		// With two-factor authentication on, re-authenticating needs the code too.
		secret, _ := c.enableMFA()
		app.clock.Advance(61 * time.Second)
		c.post("/api/me/2fa/disable", nil).wantProblem(t, http.StatusUnauthorized, "reauth_required")
		c.post("/api/me/reauth", map[string]string{"password": goodPassword}).wantProblem(t, http.StatusUnauthorized, "mfa_required")
		c.post("/api/me/reauth", map[string]string{"password": goodPassword, "otp": "000000"}).wantProblem(t, http.StatusUnauthorized, "invalid_otp")
		c.post("/api/me/reauth", map[string]string{"password": goodPassword, "otp": totpCode(t, secret, app.clock.Now())}).wantStatus(t, http.StatusOK)
		c.post("/admin/me/2fa/disable", formOf("next", "/admin/me/2fa"), asHTML).wantRedirect(t, "/admin/me/2fa?flash=mfa_disabled")
		if c.meMFA() {
			t.Error("still on after disabling")
		}
		// A new login counts as a recent authentication.
		app.clock.Advance(61 * time.Second)
		fresh := app.client(t)
		fresh.loginAPI("ada@example.com", goodPassword)
		fresh.post("/api/me/2fa/totp/setup", nil).wantStatus(t, http.StatusOK)
	})
}

// TestMFAAdminReset: an administrator turns a user's two-factor
// authentication off from the API and the page; it ends their sessions.
func TestMFAAdminReset(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "root@example.com", goodPassword, withScopes("user:read", "admin:read", "admin:write"))
		ada := app.createUser(t, "ada@example.com", goodPassword)
		admin := app.client(t)
		admin.loginAPI("root@example.com", goodPassword)
		user := app.client(t)
		tok := user.loginAPI("ada@example.com", goodPassword)
		user.enableMFA()
		id := strconv.FormatUint(ada.ID, 10)

		doc := admin.get("/admin/users/"+id, asHTML).wantStatus(t, http.StatusOK).doc(t)
		if doc.Find("#reset-mfa").Length() != 1 || strings.TrimSpace(doc.Find("#mfa").Text()) != "on" {
			t.Fatal("the user page offers no reset of two-factor authentication")
		}
		user.post("/api/users/"+id+"/2fa/reset", nil).wantProblem(t, http.StatusForbidden, "insufficient_scope")
		admin.post("/api/users/999999/2fa/reset", nil).wantProblem(t, http.StatusNotFound, "not_found")

		var out struct {
			Detail string `json:"detail"`
			Ended  int64  `json:"ended"`
		}
		admin.post("/api/users/"+id+"/2fa/reset", nil).wantStatus(t, http.StatusOK).decode(t, &out)
		if out.Ended != 1 {
			t.Errorf("ended = %d, want 1", out.Ended)
		}
		user.get("/api/me", bearer(tok.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		again := app.client(t)
		again.loginAPI("ada@example.com", goodPassword) // the password alone
		if again.meMFA() {
			t.Error("still on after the reset")
		}
		if kinds := again.eventKinds(); !slices.Contains(kinds, "mfa_disabled") {
			t.Errorf("security log %v lacks mfa_disabled", kinds)
		}

		// The page's button.
		again.enableMFA()
		admin.post("/admin/users/"+id+"/2fa/reset", nil, asHTML).wantRedirect(t, "/admin/users/"+id+"?flash=user_mfa_reset")
		again.get("/api/me").wantStatus(t, http.StatusUnauthorized)
	})
}

// TestCLIResetMFA: gatehouse user reset-2fa E turns two-factor
// authentication off and ends the user's sessions.
func TestCLIResetMFA(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		c := newCLI(t, db)
		c.mustRun(goodPassword+"\n", "user", "add", "--email", "ada@example.com", "--name", "Ada", "--password-stdin")
		store, err := models.Open(c.databaseURL(), 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		ctx := context.Background()
		u, err := store.UserByEmail(ctx, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetPendingTOTP(ctx, u.ID, []byte("sealed elsewhere")); err != nil {
			t.Fatal(err)
		}
		if err := store.EnableTOTP(ctx, u.ID, []byte("sealed elsewhere"), 1, []string{"a digest"}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		err = store.CreateSession(ctx, &models.Session{TokenHash: strings.Repeat("a", 64), PublicID: "p1", UserID: u.ID,
			Scopes: "user:read", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}, "")
		if err != nil {
			t.Fatal(err)
		}

		out := c.mustRun("", "user", "reset-2fa", "ADA@example.com")
		if !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "1 sessions ended") {
			t.Errorf("stdout %q, want the email and 1 session ended", out)
		}
		if u, _ := store.UserByEmail(ctx, "ada@example.com"); u.MFAEnabled {
			t.Error("still on after reset-2fa")
		}
		if _, err := store.TOTPOf(ctx, u.ID); err != models.ErrNotFound {
			t.Errorf("the secret after reset-2fa: %v, want it gone", err)
		}
		if n, _ := store.RecoveryCodesLeft(ctx, u.ID); n != 0 {
			t.Errorf("%d recovery codes left after reset-2fa", n)
		}
		if _, errOut, code := c.run("", "user", "reset-2fa", "nobody@example.com"); code != 1 || errOut == "" {
			t.Errorf("an unknown user: exit %d, stderr %q; want exit 1 with a message", code, errOut)
		}
	})
}

// databaseURL is the DATABASE_URL the CLI runs with.
func (c *cli) databaseURL() string {
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok {
			return v
		}
	}
	c.t.Fatal("no DATABASE_URL")
	return ""
}

// TestTOTPSecretNotInTheClear: what the database holds of a TOTP secret
// (the SQLite file and its WAL, or the MariaDB column) is ciphertext: no
// trace of the secret, in base32 or raw.
func TestTOTPSecretNotInTheClear(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		c.loginAPI("ada@example.com", goodPassword)
		secret, codes := c.enableMFA()
		var pending totpSetupBody // a set-up not confirmed is sealed too
		c.post("/api/me/2fa/totp/setup", nil).wantStatus(t, http.StatusOK).decode(t, &pending)
		raw := func(s string) []byte {
			b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		secrets := [][]byte{[]byte(secret), raw(secret), []byte(pending.Secret), raw(pending.Secret), []byte(codes[0]),
			[]byte(strings.ReplaceAll(codes[0], "-", ""))}
		var stored [][]byte
		if db == sqliteDB {
			path := strings.TrimPrefix(app.cfg.DatabaseURL, "sqlite://")
			for _, f := range []string{path, path + "-wal"} {
				b, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				stored = append(stored, b)
			}
		} else {
			stored = mysqlColumns(t, app.cfg.DatabaseURL, "SELECT secret, pending FROM totp_secrets", "SELECT code_hash FROM recovery_codes")
		}
		found := 0
		for _, b := range stored {
			found += len(b)
			for _, s := range secrets {
				if bytes.Contains(b, s) {
					t.Errorf("the database holds %q in the clear", s)
				}
			}
		}
		if found == 0 {
			t.Fatal("read nothing from the database")
		}
	})
}

// mysqlColumns reads every value the queries return from the MariaDB
// database at dbURL.
func mysqlColumns(t *testing.T, dbURL string, queries ...string) [][]byte {
	t.Helper()
	u := mustParse(t, dbURL)
	cfg := mysqldriver.NewConfig()
	// A cluster URL names several nodes: the app writes through the first
	// that answers (models/cluster.go), so read that one.
	host, _, _ := strings.Cut(u.Host, ",")
	cfg.Net, cfg.Addr, cfg.User, cfg.DBName = "tcp", host, u.User.Username(), strings.Trim(u.Path, "/")
	cfg.Passwd, _ = u.User.Password()
	conn, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out [][]byte
	for _, q := range queries {
		rows, err := conn.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([][]byte, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, vals...)
		}
		rows.Close()
	}
	return out
}

// TestChromiumTwoFactor: a person sets up two-factor authentication on
// the pages (the QR code drawn, the key typed into their phone), keeps
// the recovery codes, logs out, and logs in again in two steps, typing
// the code.
func TestChromiumTwoFactor(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", goodPassword, withName("Ada Lovelace"))
	b := newBrowser(t, app)
	b.watchCSP()

	b.open("/")
	b.logInWithForm("ada@example.com", goodPassword)
	b.open("/admin/me")
	b.clickThrough("#two-factor-link")
	if got := b.path(); got != "/admin/me/2fa" {
		t.Fatalf("the two-factor link led to %s", got)
	}
	b.clickThrough("#setup-button")
	if w := run(b, chromedp.Evaluate[int](`document.querySelector("#qr").naturalWidth`)); w != 240 {
		t.Errorf("the QR code is %d pixels wide, want 240 (drawn by the server)", w)
	}
	secret := b.text("#secret")
	b.do(chromedp.SendKeys(chromedp.CSS("#code"), totpCode(t, secret, app.clock.Now())))
	b.clickThrough(`form[action="/admin/me/2fa/totp/enable"] button`)
	if n := run(b, chromedp.Evaluate[int](`document.querySelectorAll("#recovery-codes code").length`)); n != 10 {
		t.Fatalf("%d recovery codes shown, want 10", n)
	}
	if got := b.text("#recovery-codes .notice"); !strings.Contains(got, "Print this page") {
		t.Errorf("no hint to keep the codes: %q", got)
	}
	b.wantNoCSPViolations()
	app.clock.Advance(30 * time.Second)

	b.clickThrough(`nav form[action="/auth/logout"] button`)
	b.open("/auth/login?next=/posts")
	b.logInWithForm("ada@example.com", goodPassword)
	if got := b.path(); got != "/auth/2fa" {
		t.Fatalf("after the password the browser is at %s, want /auth/2fa", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#code"), "000000"))
	b.clickThrough(`form[action="/auth/2fa"] button`)
	if got := b.text("#problem"); !strings.Contains(got, "not valid") {
		t.Errorf("a wrong code says %q", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#code"), totpCode(t, secret, app.clock.Now())))
	b.clickThrough(`form[action="/auth/2fa"] button`)
	if got := b.path(); got != "/posts" {
		t.Fatalf("after the code the browser is at %s, want /posts (next)", got)
	}
}

// TestMFAProviderLogin: a provider login does not ask for the local
// second factor, and it is how an account without a password
// re-authenticates.
func TestMFAProviderLogin(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		p := startOIDC(t)
		app := newApp(t, db, withOIDCProvider("google", p))
		c := app.client(t)
		c.callback(c.arrive(p, "google", true, "test-user@127.0.0.1"), true).wantStatus(t, http.StatusOK)
		c.enableMFA()

		app.clock.Advance(6 * time.Minute)
		c.post("/api/me/2fa/recovery-codes", nil).wantProblem(t, http.StatusUnauthorized, "reauth_required")
		p2 := c.post("/api/me/reauth", map[string]string{"password": "anything"}).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
		if p2.Fields["password"] == "" {
			t.Errorf("fields = %v, want why on password", p2.Fields)
		}
		doc := c.get("/auth/reauth?next=/admin/me/2fa", asHTML).wantStatus(t, http.StatusOK).doc(t)
		if doc.Find("#no-password").Length() != 1 || doc.Find(`a[href="/auth/oauth/google/login?next=%2Fadmin%2Fme%2F2fa"]`).Length() != 1 {
			t.Fatal("the re-authentication page of a password-less account offers no provider login")
		}

		// Logging in again through the provider: no code asked, and a
		// recent authentication.
		again := app.client(t)
		again.callback(again.arrive(p, "google", true, "test-user@127.0.0.1"), true).wantStatus(t, http.StatusOK)
		if !again.meMFA() {
			t.Error("the account lost its two-factor authentication")
		}
		again.post("/api/me/2fa/recovery-codes", nil).wantStatus(t, http.StatusOK)
	})
}

// TestMFAPages: the set-up page shows a server-made QR code and the
// secret; a wrong code redraws the same set-up with the field's message,
// 422; the right one shows the recovery codes once.
func TestMFAPages(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		c.loginForm("ada@example.com", goodPassword)

		doc := c.get("/admin/me", asHTML).wantStatus(t, http.StatusOK).doc(t)
		if href, _ := doc.Find("#two-factor-link").Attr("href"); href != "/admin/me/2fa" {
			t.Fatalf("My info links to %q for two-factor authentication", href)
		}
		doc = c.post("/admin/me/2fa/totp/setup", formOf("next", "/admin/me/2fa"), asHTML).wantStatus(t, http.StatusOK).doc(t)
		src, _ := doc.Find("img#qr").Attr("src")
		if !strings.HasPrefix(src, "data:image/png;base64,") {
			t.Fatalf("QR code src %.60q, want a PNG made by the server", src)
		}
		secret := doc.Find("#secret").Text()
		page := c.post("/admin/me/2fa/totp/enable", formOf("code", "000000"), asHTML).wantStatus(t, http.StatusUnprocessableEntity)
		doc = page.doc(t)
		if got := doc.Find("#secret").Text(); got != secret {
			t.Errorf("after a wrong code the page shows secret %q, want the same set-up %q", got, secret)
		}
		if fieldMessage(doc, "code") == "" {
			t.Error("no message under the code field")
		}
		doc = c.post("/admin/me/2fa/totp/enable", formOf("code", totpCode(t, secret, app.clock.Now())), asHTML).wantStatus(t, http.StatusOK).doc(t)
		if n := doc.Find("#recovery-codes code").Length(); n != 10 {
			t.Fatalf("%d recovery codes shown, want 10", n)
		}
		if href, _ := doc.Find("#download-codes").Attr("href"); !strings.HasPrefix(href, "data:text/plain") {
			t.Errorf("download link %q", href)
		}
		// Without script the page offers no button that would do nothing:
		// recovery-codes.js adds "Copy".
		if doc.Find("#copy-codes").Length() != 0 || doc.Find(`script[src="/static/js/recovery-codes.js"]`).Length() != 1 {
			t.Error("the copy button must come from recovery-codes.js, which the page must load")
		}
		doc = c.get("/admin/me/2fa", asHTML).wantStatus(t, http.StatusOK).doc(t)
		if doc.Find("#recovery-codes").Length() != 0 {
			t.Error("the recovery codes are shown again")
		}
		if got := doc.Find("#codes-left").Text(); !strings.Contains(got, "10") {
			t.Errorf("codes left: %q", got)
		}
	})
}

// TestMFACodesAcrossAddresses: more than 10 wrong codes for one account
// within the window, from any number of addresses, refuse every code —
// the right one, a recovery code, from a fresh address — with 429 until
// the window passes, and the owner is mailed once (contract §9). The
// probe guessed 16 codes over 4 addresses, then the right code from a
// fifth was let in.
func TestMFACodesAcrossAddresses(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, trustProxy("127.0.0.1/32"), withMailpit(mp))
		email := "guessed-" + db + "@example.com"
		app.createUser(t, email, goodPassword)
		owner := app.client(t)
		owner.loginAPI(email, goodPassword)
		secret, codes := owner.enableMFA()
		login := func(ip string, second ...string) *response {
			return app.client(t).post("/api/login", formOf(append([]string{"username", email, "password", goodPassword}, second...)...), from(ip))
		}
		right := totpCode(t, secret, app.clock.Now())
		for i := range 10 { // 4, 4 and 2 from three addresses: under every per-IP limit
			login("198.51.100."+strconv.Itoa(1+i/4), "otp", wrongCode(right)).wantProblem(t, http.StatusUnauthorized, "invalid_otp")
		}
		for _, try := range []struct {
			name   string
			ip     string
			second []string
		}{
			{"the right code from a fifth address", "198.51.100.5", []string{"otp", right}},
			{"a recovery code from a sixth", "198.51.100.6", []string{"recovery_code", codes[0]}},
			{"the right code again", "198.51.100.7", []string{"otp", right}},
		} {
			resp := login(try.ip, try.second...)
			resp.wantProblem(t, http.StatusTooManyRequests, "too_many_attempts")
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: 429 without Retry-After", try.name)
			}
		}
		// The browser's second step is the same rule.
		browser := app.client(t)
		browser.post("/auth/token", formOf("username", email, "password", goodPassword), asHTML, from("198.51.100.8")).wantRedirect(t, "/auth/2fa")
		browser.post("/auth/2fa", formOf("code", right), asHTML, from("198.51.100.8")).wantStatus(t, http.StatusTooManyRequests)

		notices := mp.WaitForSubjects(t, email, "Too many wrong codes", 1)
		if !strings.Contains(notices[0].Text, "198.51.100.") {
			t.Errorf("the notice does not say where the codes came from:\n%s", notices[0].Text)
		}
		app.clock.Advance(app.cfg.LoginFailureWindow + time.Second)
		login("198.51.100.9", "otp", totpCode(t, secret, app.clock.Now())).wantStatus(t, http.StatusOK)
		if got := len(filterSubjects(mp.MessagesTo(t, email), "Too many wrong codes")); got != 1 {
			t.Errorf("codes-locked notices: %d, want 1 (one per window, not one per refusal)", got)
		}
	})
}

func filterSubjects(mails []testenv.MailMessage, prefix string) []testenv.MailMessage {
	var out []testenv.MailMessage
	for _, m := range mails {
		if strings.HasPrefix(m.Subject, prefix) {
			out = append(out, m)
		}
	}
	return out
}
