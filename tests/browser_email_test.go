package tests

import (
	"testing"

	"github.com/chromedp/chromedp"

	"gatehouse/internal/testenv"
)

// TestChromiumPasswordReset walks the forgotten-password path in a real
// browser: the login page's link, the forgot form, the mailed link (read
// from Mailpit), the new-password form, and a login with the new password.
func TestChromiumPasswordReset(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	app := newApp(t, sqliteDB, withMailpit(mp))
	app.createUser(t, "rosa@example.com", "correct horse battery")
	b := newBrowser(t, app)

	b.open("/auth/login")
	b.clickThrough(`#forgot`)
	if got := b.path(); got != "/auth/forgot" {
		t.Fatalf("the forgot link led to %s", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#email"), "rosa@example.com", chromedp.NodeVisible))
	b.clickThrough(`form[action="/auth/forgot"] button[type=submit]`)
	if got := b.text("#message"); got != "If that address has an account, we have sent it a link to reset the password" {
		t.Errorf("after asking: message %q", got)
	}

	link := linkIn(t, mp.WaitForMail(t, "rosa@example.com", 1)[0])
	b.open(link)
	b.do(chromedp.SendKeys(chromedp.CSS("#new_password"), "password", chromedp.NodeVisible))
	b.clickThrough(`form[action="/auth/reset"] button[type=submit]`)
	if got := b.text(".field-error"); got == "" {
		t.Errorf("a weak password shows no message")
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#new_password"), "a brand new passphrase", chromedp.NodeVisible))
	b.clickThrough(`form[action="/auth/reset"] button[type=submit]`)
	if got := b.text("#message"); got != "Your password has been changed. Log in with the new one." {
		t.Errorf("after the reset: message %q", got)
	}
	b.logInWithForm("rosa@example.com", "a brand new passphrase")
	if got := b.path(); got != "/auth/home" {
		t.Errorf("the new password led to %s, want /auth/home", got)
	}
	// The link is spent: opening it again says so.
	b.open(link)
	if got := b.text("#invalid-link"); got == "" {
		t.Errorf("a used link shows no message")
	}
}
