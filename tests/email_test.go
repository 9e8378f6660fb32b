package tests

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/auth"
	"gatehouse/config"
	"gatehouse/internal/testenv"
	"gatehouse/models"
)

// withMailpit points the app's SMTP_URL at mp and runs its outbox sender.
func withMailpit(mp *testenv.Mailpit) option {
	return func(cfg *config.Config) {
		u, _ := url.Parse(mp.SMTPURL())
		cfg.Mail.SMTPURL = u
	}
}

// linkPattern finds a mailed link in a text part.
var linkPattern = regexp.MustCompile(`https?://[^\s/]+(/auth/(?:reset|verify)\?token=[A-Za-z0-9_-]+)`)

// linkIn is the path and query of the link in msg's text part, which must
// also be in its HTML part.
func linkIn(t *testing.T, msg testenv.MailMessage) string {
	t.Helper()
	m := linkPattern.FindStringSubmatch(msg.Text)
	if m == nil {
		t.Fatalf("mail %q has no link in its text part:\n%s", msg.Subject, msg.Text)
	}
	if !strings.Contains(msg.HTML, m[0]) {
		t.Errorf("mail %q: its HTML part lacks the link %s", msg.Subject, m[0])
	}
	return m[1]
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	return mustParse(t, link).Query().Get("token")
}

// TestPasswordReset follows a reset link as a person would: the forgot
// form, the mail, the link's page (a form; nothing changes on GET), the
// new password. Every session and token of the account ends; the link
// works once; the address counts as verified; the owner is told.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withMailpit(mp))
		email := "ada-" + db + "@example.com"
		ctx := context.Background()
		u, err := app.auth.Register(ctx, auth.NewUser{Email: email, FullName: "Ada", Password: "correct horse battery"}, auth.Client{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		mp.WaitForMail(t, email, 1) // the verification mail of the sign-up
		browser := app.client(t)
		browser.loginForm(email, "correct horse battery")
		api := app.client(t)
		tok := api.loginAPI(email, "correct horse battery")

		// The forgot form, from the login page's link.
		login := app.client(t).get("/auth/login", asHTML).wantStatus(t, http.StatusOK).doc(t)
		if href, _ := login.Find("#forgot").Attr("href"); href != "/auth/forgot" {
			t.Errorf("login page: forgot link = %q, want /auth/forgot", href)
		}
		anon := app.client(t)
		anon.get("/auth/forgot", asHTML).wantStatus(t, http.StatusOK)
		anon.post("/auth/forgot", formOf("email", strings.ToUpper(email)), asHTML).wantRedirect(t, "/auth/login?state=6")
		msg := anon.get("/auth/login?state=6", asHTML).doc(t).Find("#message").Text()
		if msg != auth.ForgotSent {
			t.Errorf("login page state 6: message = %q, want %q", msg, auth.ForgotSent)
		}

		mails := mp.WaitForMail(t, email, 2)
		reset := mails[1]
		if !strings.Contains(reset.Subject, "Reset") {
			t.Fatalf("second mail: subject %q, want the reset mail", reset.Subject)
		}
		link := linkIn(t, reset)
		if !strings.HasPrefix(link, "/auth/reset?token=") || len(tokenOf(t, link)) < 22 {
			t.Fatalf("reset link %q: want /auth/reset with a token of at least 128 bits", link)
		}

		// Opening the link changes nothing, and leaks no Referer.
		page := anon.get(link, asHTML).wantStatus(t, http.StatusOK)
		if got := page.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("reset page: Referrer-Policy = %q, want no-referrer", got)
		}
		if v, _ := page.doc(t).Find(`input[name=token]`).Attr("value"); v != tokenOf(t, link) {
			t.Errorf("reset page: the form's token = %q, want the link's", v)
		}
		browser.get("/api/me").wantStatus(t, http.StatusOK)

		// A weak password is refused on the form, and the link survives it.
		anon.post("/auth/reset", formOf("token", tokenOf(t, link), "new_password", "password"), asHTML).
			wantStatus(t, http.StatusUnprocessableEntity)
		resp := anon.post("/auth/reset", formOf("token", tokenOf(t, link), "new_password", "a brand new passphrase"), asHTML)
		resp.wantRedirect(t, "/auth/login?state=7")
		if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("reset POST: Referrer-Policy = %q, want no-referrer", got)
		}

		// Every session and token ended; it was not a login.
		if p := browser.get("/api/me").wantStatus(t, http.StatusUnauthorized).problem(t); p.Error != "not_authenticated" {
			t.Errorf("old cookie after reset: error = %q, want not_authenticated", p.Error)
		}
		api.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
		anon.get("/api/me").wantStatus(t, http.StatusUnauthorized)

		// Used once: again is 400 invalid_link, in both formats.
		p := anon.post("/api/password/reset", map[string]string{"token": tokenOf(t, link), "new_password": "another new passphrase"}).
			wantStatus(t, http.StatusBadRequest).problem(t)
		if p.Error != "invalid_link" {
			t.Errorf("a used link: error = %q, want invalid_link", p.Error)
		}
		anon.get(link, asHTML).wantStatus(t, http.StatusBadRequest)

		fresh := app.client(t)
		fresh.loginAPI(email, "a brand new passphrase")
		if got := fresh.me(); !got.EmailVerified {
			t.Errorf("after a reset: email_verified = false, want true (the link proved the address)")
		}
		app.client(t).post("/api/login", formOf("username", email, "password", "correct horse battery")).wantStatus(t, http.StatusUnauthorized)

		changed := mp.WaitForMail(t, email, 3)[2]
		if !strings.Contains(changed.Subject, "password was changed") {
			t.Errorf("third mail: subject %q, want the password-changed notice", changed.Subject)
		}
		kinds := loggedKinds(t, app, u.ID)
		for _, want := range []string{models.EventPasswordResetRequested, models.EventPasswordReset} {
			if !kinds[want] {
				t.Errorf("security log lacks %s (has %v)", want, kinds)
			}
		}
	})
}

func loggedKinds(t *testing.T, app *app, userID uint64) map[string]bool {
	t.Helper()
	events, err := app.auth.Events(context.Background(), userID, 100)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, e := range events {
		kinds[e.Kind] = true
	}
	return kinds
}

// TestForgotPasswordSameAnswer checks that an address with an account and
// one without get the same answer — status, body, in both formats — and
// cost the request the same work: one outbox row each, nothing else
// looked up. Only the delivery tells them apart, where no client sees it.
func TestForgotPasswordSameAnswer(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", "correct horse battery")
		type answer struct {
			status int
			body   string
			page   string
		}
		ask := func(email string) answer {
			c := app.client(t)
			j := c.post("/api/password/forgot", map[string]string{"email": email})
			h := c.post("/auth/forgot", formOf("email", email), asHTML)
			return answer{j.StatusCode, string(j.Body), h.Header.Get("Location")}
		}
		known, unknown := ask("ada@example.com"), ask("nobody@example.com")
		if known != unknown {
			t.Errorf("answers differ: with an account %+v, without %+v", known, unknown)
		}
		if known.status != http.StatusAccepted || !strings.Contains(known.body, auth.ForgotSent) {
			t.Errorf("answer = %+v, want 202 with %q", known, auth.ForgotSent)
		}
		ctx := context.Background()
		for _, email := range []string{"ada@example.com", "nobody@example.com"} {
			rows, err := app.store.MailsTo(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0].UserID != 0 || rows[0].Kind != models.MailPasswordReset {
				t.Errorf("%s: outbox rows %+v, want the same two reset rows, bound to no account yet", email, rows)
			}
		}
		// Delivery (the log, here: no SMTP_URL) sends the one and drops the other.
		if _, err := app.outbox.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		states := map[string]string{}
		for _, email := range []string{"ada@example.com", "nobody@example.com"} {
			rows, _ := app.store.MailsTo(ctx, email)
			states[email] = rows[0].State
		}
		if states["ada@example.com"] != models.MailSent || states["nobody@example.com"] != models.MailDropped {
			t.Errorf("after delivery: states %v, want sent for the account, dropped for the unknown address", states)
		}
		if !strings.Contains(app.logs.String(), "/auth/reset?token=") {
			t.Errorf("without SMTP_URL the mail should be written to the log")
		}
	})
}

// TestResetLinkLifetime checks that a reset link expires after
// PASSWORD_RESET_TTL and that a newer link replaces older ones.
func TestResetLinkLifetime(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withMailpit(mp))
		email := "grace-" + db + "@example.com"
		app.createUser(t, email, "correct horse battery")
		c := app.client(t)
		c.post("/api/password/forgot", map[string]string{"email": email}).wantStatus(t, http.StatusAccepted)
		first := tokenOf(t, linkIn(t, mp.WaitForMail(t, email, 1)[0]))
		c.post("/api/password/forgot", map[string]string{"email": email}).wantStatus(t, http.StatusAccepted)
		second := tokenOf(t, linkIn(t, mp.WaitForMail(t, email, 2)[1]))

		reset := func(token string) *response {
			return c.post("/api/password/reset", map[string]string{"token": token, "new_password": "a brand new passphrase"})
		}
		if p := reset(first).wantStatus(t, http.StatusBadRequest).problem(t); p.Error != "invalid_link" {
			t.Errorf("a replaced link: error = %q, want invalid_link", p.Error)
		}
		app.clock.Advance(app.cfg.Mail.PasswordResetTTL + time.Second)
		if p := reset(second).wantStatus(t, http.StatusBadRequest).problem(t); p.Error != "invalid_link" {
			t.Errorf("an expired link: error = %q, want invalid_link", p.Error)
		}
		c.get("/auth/reset?token="+second, asHTML).wantStatus(t, http.StatusBadRequest)
		for _, bad := range []string{"", "x", strings.Repeat("A", 5000), "../../etc"} {
			reset(bad).wantStatus(t, http.StatusBadRequest)
		}
	})
}

// TestForgotPasswordThrottle: 3 requests per address an hour, then 429
// with Retry-After; another address is not affected; per client IP the
// login's limit applies.
func TestForgotPasswordThrottle(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, func(cfg *config.Config) { cfg.LoginMaxFailuresPerIP = 6 })
		c := app.client(t)
		forgot := func(email string) *response {
			return c.post("/api/password/forgot", map[string]string{"email": email})
		}
		for range 3 {
			forgot("ada@example.com").wantStatus(t, http.StatusAccepted)
		}
		r := forgot("ADA@example.com").wantStatus(t, http.StatusTooManyRequests)
		if r.problem(t).Error != "too_many_attempts" || r.Header.Get("Retry-After") == "" {
			t.Errorf("4th request: %s, Retry-After %q; want too_many_attempts with Retry-After", r.Body, r.Header.Get("Retry-After"))
		}
		c.post("/auth/forgot", formOf("email", "ada@example.com"), asHTML).wantStatus(t, http.StatusTooManyRequests)
		for range 3 {
			forgot("bob@example.com").wantStatus(t, http.StatusAccepted)
		}
		// Six counted from this IP: the seventh, to a fresh address, is refused.
		forgot("carol@example.com").wantStatus(t, http.StatusTooManyRequests)
		app.clock.Advance(time.Hour + time.Second)
		forgot("ada@example.com").wantStatus(t, http.StatusAccepted)

		if p := forgot("not an address").wantStatus(t, http.StatusUnprocessableEntity).problem(t); p.Fields["email"] == "" {
			t.Errorf("a malformed address: fields %v, want email", p.Fields)
		}
	})
}

// TestEmailVerification: a sign-up starts unverified and gets a link; the
// link's page changes nothing until its button is pressed; the link works
// once; resending is limited to 3 an hour.
func TestEmailVerification(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withMailpit(mp))
		email := "lin-" + db + "@example.com"
		c := app.client(t)
		var u userBody
		c.post("/api/register", map[string]string{"email": email, "full_name": "Lin", "password": "correct horse battery"}).
			wantStatus(t, http.StatusCreated).decode(t, &u)
		if u.EmailVerified {
			t.Fatalf("a sign-up: email_verified = true, want false")
		}
		link := linkIn(t, mp.WaitForMail(t, email, 1)[0])
		if !strings.HasPrefix(link, "/auth/verify?token=") {
			t.Fatalf("verification link %q", link)
		}
		page := c.get(link, asHTML).wantStatus(t, http.StatusOK)
		if got := page.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("verify page: Referrer-Policy = %q, want no-referrer", got)
		}
		if page.doc(t).Find(`form[action="/auth/verify"] button`).Length() != 1 {
			t.Errorf("verify page: no Confirm button")
		}
		c.loginAPI(email, "correct horse battery")
		if c.me().EmailVerified {
			t.Fatalf("opening the link verified the address: a GET must change nothing")
		}
		c.post("/api/email/verify", map[string]string{"token": tokenOf(t, link)}).wantStatus(t, http.StatusOK)
		if !c.me().EmailVerified {
			t.Errorf("after confirming: email_verified = false")
		}
		if p := c.post("/api/email/verify", map[string]string{"token": tokenOf(t, link)}).wantStatus(t, http.StatusBadRequest).problem(t); p.Error != "invalid_link" {
			t.Errorf("a used link: error = %q, want invalid_link", p.Error)
		}
		if !loggedKinds(t, app, u.ID)[models.EventEmailVerified] {
			t.Errorf("security log lacks email_verified")
		}
		// Verified: resending sends nothing.
		c.post("/api/me/email/resend", nil).wantStatus(t, http.StatusAccepted)

		// Another sign-up resends 3 times, then 429; a browser confirms on the page.
		other := "kay-" + db + "@example.com"
		k := app.client(t)
		k.post("/auth/register", formOf("email", other, "full_name", "Kay", "password", "correct horse battery"), asHTML).
			wantRedirect(t, "/auth/home")
		for range 3 {
			k.post("/api/me/email/resend", nil).wantStatus(t, http.StatusAccepted)
		}
		k.post("/api/me/email/resend", nil).wantStatus(t, http.StatusTooManyRequests)
		mails := mp.WaitForMail(t, other, 4)
		last := linkIn(t, mails[len(mails)-1])
		k.post("/auth/verify", formOf("token", tokenOf(t, last)), asHTML).wantRedirect(t, "/admin/me?flash=email_verified")
		if !k.me().EmailVerified {
			t.Errorf("after confirming in the browser: email_verified = false")
		}
		if got := k.get("/admin/me", asHTML).doc(t).Find("#email-verified").Length(); got != 1 {
			t.Errorf("My info does not say the address is verified")
		}
	})
}

// TestRequireVerifiedEmail: with REQUIRE_VERIFIED_EMAIL an unverified
// account's right password is 403 unverified_email; a wrong one is the
// usual 401.
func TestRequireVerifiedEmail(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, func(cfg *config.Config) { cfg.Mail.RequireVerifiedEmail = true })
		c := app.client(t)
		c.post("/api/register", map[string]string{"email": "ned@example.com", "full_name": "Ned", "password": "correct horse battery"}).
			wantStatus(t, http.StatusCreated)
		if p := c.post("/api/login", formOf("username", "ned@example.com", "password", "wrong password")).wantStatus(t, http.StatusUnauthorized).problem(t); p.Error != "invalid_credentials" {
			t.Errorf("wrong password: error = %q", p.Error)
		}
		if p := c.post("/api/login", formOf("username", "ned@example.com", "password", "correct horse battery")).wantStatus(t, http.StatusForbidden).problem(t); p.Error != "unverified_email" {
			t.Errorf("unverified: error = %q, want unverified_email", p.Error)
		}
		c.post("/auth/token", formOf("username", "ned@example.com", "password", "correct horse battery"), asHTML).wantStatus(t, http.StatusForbidden)
		app.createUser(t, "cli@example.com", "correct horse battery") // made by an administrator: verified
		c.loginAPI("cli@example.com", "correct horse battery")
	})
}

// TestChangeEmail: the current password is needed (422 when wrong), an
// address in use is 409, and nothing changes until the link mailed to
// the new address is confirmed; the old address is told.
func TestChangeEmail(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withMailpit(mp))
		old, taken, next := "old-"+db+"@example.com", "taken-"+db+"@example.com", "new-"+db+"@example.com"
		u := app.createUser(t, old, "correct horse battery")
		app.createUser(t, taken, "correct horse battery")
		c := app.client(t)
		c.loginForm(old, "correct horse battery")

		p := c.post("/api/me/email", map[string]string{"new_email": next, "current_password": "wrong"}).
			wantStatus(t, http.StatusUnprocessableEntity).problem(t)
		if p.Fields["current_password"] == "" {
			t.Errorf("wrong password: fields %v, want current_password", p.Fields)
		}
		if p := c.post("/api/me/email", map[string]string{"new_email": taken, "current_password": "correct horse battery"}).
			wantStatus(t, http.StatusConflict).problem(t); p.Error != "email_taken" {
			t.Errorf("an address in use: error = %q", p.Error)
		}
		c.post("/api/me/email", map[string]string{"new_email": "bad\u202eaddress@example.com", "current_password": "correct horse battery"}).
			wantStatus(t, http.StatusUnprocessableEntity)
		page := c.post("/admin/me/email", formOf("new_email", next, "current_password", "wrong"), asHTML).
			wantStatus(t, http.StatusUnprocessableEntity).doc(t)
		if got := page.Find(`form[action="/admin/me/email"] .field-error`).Text(); got != "Your current password is not correct." {
			t.Errorf("the address form shows %q, want the wrong-password message", got)
		}
		if page.Find(`form[action="/admin/me/password"] .field-error`).Length() != 0 {
			t.Errorf("the password form shows the address form's error")
		}
		if v, _ := page.Find("#new_email").Attr("value"); v != next {
			t.Errorf("the address form lost what was typed: %q", v)
		}
		c.post("/admin/me/email", formOf("new_email", next, "current_password", "correct horse battery"), asHTML).
			wantRedirect(t, "/admin/me?flash=email_change_sent")

		notice := mp.WaitForMail(t, old, 1)[0]
		if !strings.Contains(notice.Text, next) {
			t.Errorf("the old address's notice does not name the new one:\n%s", notice.Text)
		}
		if linkPattern.MatchString(notice.Text) {
			t.Errorf("the old address got a link: only the new one may confirm")
		}
		link := linkIn(t, mp.WaitForMail(t, next, 1)[0])
		if c.me().Email != old {
			t.Fatalf("the address changed before the link was confirmed")
		}
		c.post("/auth/verify", formOf("token", tokenOf(t, link)), asHTML).wantRedirect(t, "/admin/me?flash=email_changed")
		me := c.me()
		if me.Email != next || !me.EmailVerified {
			t.Errorf("after confirming: %s verified %v, want %s verified", me.Email, me.EmailVerified, next)
		}
		app.client(t).loginAPI(next, "correct horse battery")

		// Two requests counted so far (the 409 and the change): one more,
		// then 429 — each answer says whether an address has an account.
		again := map[string]string{"new_email": "third-" + db + "@example.com", "current_password": "correct horse battery"}
		c.post("/api/me/email", again).wantStatus(t, http.StatusAccepted)
		r := c.post("/api/me/email", again).wantStatus(t, http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		kinds := loggedKinds(t, app, u.ID)
		for _, want := range []string{models.EventEmailChangeRequested, models.EventEmailChanged} {
			if !kinds[want] {
				t.Errorf("security log lacks %s", want)
			}
		}
	})
}

// TestChangeEmailWithoutPassword: an account without a password needs a
// recent login (REAUTH_WINDOW) to change its address.
func TestChangeEmailWithoutPassword(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		ctx := context.Background()
		u := &models.User{Email: "sso@example.com", FullName: "SSO", Scopes: "user:read user:write", EmailVerified: true}
		if err := app.store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		caller, err := app.auth.OpenSession(ctx, u, auth.Client{IP: "192.0.2.9"}, nil, "oidc")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := app.auth.IssueToken(ctx, caller)
		if err != nil {
			t.Fatal(err)
		}
		c := app.client(t)
		body := map[string]string{"new_email": "sso2@example.com"}
		app.clock.Advance(app.cfg.ReauthWindow + time.Second)
		if p := c.post("/api/me/email", body, bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized).problem(t); p.Error != "reauth_required" {
			t.Errorf("a stale login: error = %q, want reauth_required", p.Error)
		}
		caller, _ = app.auth.OpenSession(ctx, u, auth.Client{IP: "192.0.2.9"}, nil, "oidc")
		tok, _ = app.auth.IssueToken(ctx, caller)
		c.post("/api/me/email", body, bearer(tok.AccessToken)).wantStatus(t, http.StatusAccepted)
	})
}

// TestSMTPOutage: with the SMTP server down the request still succeeds;
// the sender retries with backoff (the test moves the clock) and the mail
// arrives once the server is back on the same port.
func TestSMTPOutage(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		mp := testenv.StartMailpit(t) // one each: this test stops it
		app := newApp(t, db, withMailpit(mp))
		email := "out-" + db + "@example.com"
		app.createUser(t, email, "correct horse battery")
		mp.Stop()
		defer mp.Start()
		app.client(t).post("/api/password/forgot", map[string]string{"email": email}).wantStatus(t, http.StatusAccepted)
		ctx := context.Background()
		deadline := time.Now().Add(20 * time.Second)
		for {
			rows, err := app.store.MailsTo(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == 1 && rows[0].Attempts >= 1 && rows[0].LastError != "" && rows[0].Claim == "" {
				if rows[0].State != models.MailPending {
					t.Fatalf("after a failed delivery: state %s, want pending (a retry)", rows[0].State)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the sender never tried: %+v", rows)
			}
			time.Sleep(20 * time.Millisecond)
		}
		mp.Start()
		app.clock.Advance(2 * time.Minute) // past the first backoff
		msg := mp.WaitForMail(t, email, 1)[0]
		linkIn(t, msg)
	})
}

// TestPasswordChangedNotice: a password changed on My info, or by the
// CLI's user passwd, is told to the account's address.
func TestPasswordChangedNotice(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withMailpit(mp))
		email := "pat-" + db + "@example.com"
		app.createUser(t, email, "correct horse battery")
		c := app.client(t)
		c.loginAPI(email, "correct horse battery")
		c.post("/api/me/password", map[string]string{"current_password": "correct horse battery", "new_password": "a brand new passphrase"}).
			wantStatus(t, http.StatusOK)
		if err := app.auth.ResetPassword(context.Background(), email, "set by the operator"); err != nil {
			t.Fatal(err)
		}
		for i, msg := range mp.WaitForMail(t, email, 2) {
			if msg.Subject != "Your Gatehouse password was changed" {
				t.Errorf("mail %d: subject %q, want the password-changed notice", i, msg.Subject)
			}
		}
	})
}

// TestMFANotices: turning two-factor authentication on, off, and an
// administrator's reset are each told to the account's address (contract
// §6), the mail written in the same transaction as the change.
func TestMFANotices(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withMailpit(mp))
		email := "mia-" + db + "@example.com"
		admin := "root-" + db + "@example.com"
		ada := app.createUser(t, email, goodPassword)
		app.createUser(t, admin, goodPassword, withScopes("user:read", "admin:read", "admin:write"))
		c := app.client(t)
		c.loginAPI(email, goodPassword)
		c.enableMFA()
		c.post("/api/me/2fa/disable", nil).wantStatus(t, http.StatusOK)
		c.post("/api/me/2fa/disable", nil).wantStatus(t, http.StatusOK) // already off: no second notice
		c.enableMFA()
		root := app.client(t)
		root.loginAPI(admin, goodPassword)
		root.post("/api/users/"+strconv.FormatUint(ada.ID, 10)+"/2fa/reset", nil).wantStatus(t, http.StatusOK)

		want := []string{"Two-factor authentication is on", "Two-factor authentication is off",
			"Two-factor authentication is on", "Two-factor authentication is off"}
		var got []string
		for _, msg := range mp.WaitForSubjects(t, email, "Two-factor", len(want)) {
			got = append(got, msg.Subject)
		}
		time.Sleep(200 * time.Millisecond) // a fifth, wrong notice would be sent by now
		if got := len(mp.MessagesTo(t, email)); got != len(want) {
			t.Errorf("%d mails to %s, want the %d notices alone", got, email, len(want))
		}
		if !slices.Equal(got, want) {
			t.Errorf("two-factor notices %q, want %q", got, want)
		}
	})
}
