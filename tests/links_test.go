package tests

import (
	"net/http"
	"os"
	"testing"

	"gatehouse/internal/testenv"
)

// forgot asks for a reset link for email and returns its token, read from
// the n-th mail that address received.
func forgot(t *testing.T, app *app, mp *testenv.Mailpit, email string, n int) string {
	t.Helper()
	app.client(t).post("/api/password/forgot", map[string]string{"email": email}).wantStatus(t, http.StatusAccepted)
	mails := mp.WaitForSubjects(t, email, "Reset", n)
	return tokenOf(t, linkIn(t, mails[n-1]))
}

// wantDeadLink checks that a reset link no longer changes a password, in
// both formats, and that the link's page says so.
func wantDeadLink(t *testing.T, app *app, token, why string) {
	t.Helper()
	anon := app.client(t)
	if p := anon.post("/api/password/reset", map[string]string{"token": token, "new_password": "the attacker's passphrase"}).
		wantStatus(t, http.StatusBadRequest).problem(t); p.Error != "invalid_link" {
		t.Errorf("%s: reset with the old link: error = %q, want invalid_link", why, p.Error)
	}
	anon.post("/auth/reset", formOf("token", token, "new_password", "the attacker's passphrase"), asHTML).
		wantStatus(t, http.StatusBadRequest)
}

// TestResetLinkAfterAddressChange is the takeover the probe found, end to
// end through Mailpit: a reset link mailed to the account's address must
// not open the account once it has moved to another address — whoever
// reads the old mailbox (a former employer, a recycled address) gets
// nothing.
func TestResetLinkAfterAddressChange(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withMailpit(mp))
		old, next := "moving-"+db+"@example.com", "moved-"+db+"@example.com"
		app.createUser(t, old, "correct horse battery")
		stale := forgot(t, app, mp, old, 1)

		owner := app.client(t)
		owner.loginForm(old, "correct horse battery")
		owner.post("/api/me/email", map[string]string{"new_email": next, "current_password": "correct horse battery"}).
			wantStatus(t, http.StatusAccepted)
		change := linkIn(t, mp.WaitForMail(t, next, 1)[0])
		owner.post("/api/email/verify", map[string]string{"token": tokenOf(t, change)}).wantStatus(t, http.StatusOK)
		if got := owner.me().Email; got != next {
			t.Fatalf("address after confirming = %q, want %q", got, next)
		}

		wantDeadLink(t, app, stale, "after an address change")
		app.client(t).loginAPI(next, "correct horse battery")
		app.client(t).post("/api/login", formOf("username", next, "password", "the attacker's passphrase")).
			wantStatus(t, http.StatusUnauthorized)

		// A reset asked for at the new address works as before.
		fresh := forgot(t, app, mp, next, 1)
		app.client(t).post("/api/password/reset", map[string]string{"token": fresh, "new_password": "a brand new passphrase"}).
			wantStatus(t, http.StatusOK)
		app.client(t).loginAPI(next, "a brand new passphrase")
	})
}

// TestLinksDieWithPassword: a reset link dies when the password changes
// by any way — the web's change, another reset, the CLI — and an
// address-change link dies with it too (contract §9).
func TestLinksDieWithPassword(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, withMailpit(mp))

		t.Run("the web's password change", func(t *testing.T) {
			email := "web-" + db + "@example.com"
			app.createUser(t, email, "correct horse battery")
			stale := forgot(t, app, mp, email, 1)
			c := app.client(t)
			c.loginForm(email, "correct horse battery")
			c.post("/api/me/password", map[string]string{"current_password": "correct horse battery", "new_password": "a brand new passphrase"}).
				wantStatus(t, http.StatusOK)
			wantDeadLink(t, app, stale, "after a password change")
			app.client(t).loginAPI(email, "a brand new passphrase")
		})

		t.Run("the CLI's user passwd", func(t *testing.T) {
			email := "cli-" + db + "@example.com"
			app.createUser(t, email, "correct horse battery")
			stale := forgot(t, app, mp, email, 1)
			cmd := &cli{t: t, dir: t.TempDir(), env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
				"DATABASE_URL=" + app.cfg.DatabaseURL, "ARGON2_MEMORY_KIB=1024", "ARGON2_TIME=1",
				"ENCRYPTION_KEY=" + string(app.cfg.EncryptionKey)}}
			cmd.mustRun("another long passphrase\n", "user", "passwd", email, "--password-stdin")
			wantDeadLink(t, app, stale, "after user passwd")
			app.client(t).loginAPI(email, "another long passphrase")
		})

		t.Run("an address-change link dies with a reset", func(t *testing.T) {
			email, next := "change-"+db+"@example.com", "changed-"+db+"@example.com"
			app.createUser(t, email, "correct horse battery")
			c := app.client(t)
			c.loginForm(email, "correct horse battery")
			c.post("/api/me/email", map[string]string{"new_email": next, "current_password": "correct horse battery"}).
				wantStatus(t, http.StatusAccepted)
			change := tokenOf(t, linkIn(t, mp.WaitForMail(t, next, 1)[0]))
			reset := forgot(t, app, mp, email, 1)
			app.client(t).post("/api/password/reset", map[string]string{"token": reset, "new_password": "a brand new passphrase"}).
				wantStatus(t, http.StatusOK)
			if p := app.client(t).post("/api/email/verify", map[string]string{"token": change}).
				wantStatus(t, http.StatusBadRequest).problem(t); p.Error != "invalid_link" {
				t.Errorf("address-change link after a reset: error = %q, want invalid_link", p.Error)
			}
			app.client(t).loginAPI(email, "a brand new passphrase")
		})
	})
}
