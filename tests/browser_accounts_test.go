package tests

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Browser tests for the account pages of issue 4 (sign-up, my sessions).

func TestChromiumSignUp(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	b := newBrowser(t, app)

	b.open("/auth/login")
	b.clickThrough(`a[href="/auth/register"]`)
	if got := b.path(); got != "/auth/register" {
		t.Fatalf("the sign-up link led to %s", got)
	}
	b.do(
		chromedp.SendKeys(chromedp.CSS("#email"), "grace@example.com", chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.CSS("#full_name"), "Grace Hopper"),
		chromedp.SendKeys(chromedp.CSS("#password"), "short"),
	)
	b.clickThrough(`form[action="/auth/register"] button[type=submit]`)
	if got := b.text("#problem"); got == "" {
		t.Errorf("a too-short password shows no message")
	}
	if got := run(b, chromedp.Value(chromedp.CSS("#email"))); got != "grace@example.com" {
		t.Errorf("the email field holds %q after the error, want what was typed", got)
	}
	if got := run(b, chromedp.Value(chromedp.CSS("#full_name"))); got != "Grace Hopper" {
		t.Errorf("the name field holds %q after the error, want what was typed", got)
	}
	if got := run(b, chromedp.Value(chromedp.CSS("#password"))); got != "" {
		t.Errorf("the password field was filled in again")
	}

	b.do(chromedp.SendKeys(chromedp.CSS("#password"), "a long enough passphrase"))
	b.clickThrough(`form[action="/auth/register"] button[type=submit]`)
	if got := b.path(); got != "/auth/home" {
		t.Fatalf("after signing up the browser is at %s, want /auth/home", got)
	}
	if got := b.text("h1"); got != "Welcome, Grace Hopper" {
		t.Errorf("home says %q", got)
	}
}

func TestChromiumEndAnotherSession(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", "correct horse battery")
	laptop, phone := newBrowser(t, app), newBrowser(t, app)
	for _, b := range []*browser{laptop, phone} {
		b.open("/auth/login")
		b.logInWithForm("ada@example.com", "correct horse battery")
	}

	laptop.open("/admin/me/sessions")
	if n := run(laptop, chromedp.Evaluate[int](`document.querySelectorAll("#sessions tr[data-session]").length`)); n != 2 {
		t.Fatalf("the sessions page lists %d sessions, want 2", n)
	}
	if got := laptop.text("#sessions tr.current .badge"); got != "this session" {
		t.Errorf("the current session is marked %q", got)
	}
	laptop.clickThrough(`#sessions tr[data-session]:not(.current) button`)
	if got := laptop.path(); !strings.HasPrefix(got, "/admin/me/sessions") {
		t.Fatalf("after ending a session the browser is at %s, want the sessions page", got)
	}
	if got := laptop.text(".flash"); got != "The session has been ended." {
		t.Errorf("flash = %q", got)
	}
	if n := run(laptop, chromedp.Evaluate[int](`document.querySelectorAll("#sessions tr[data-session]").length`)); n != 1 {
		t.Errorf("the sessions page lists %d sessions after ending one, want 1", n)
	}

	phone.open("/auth/home")
	if got := phone.path(); !strings.HasPrefix(got, "/auth/login?") || !strings.Contains(got, "state=5") {
		t.Errorf("the ended browser is at %s, want the login page with state=5", got)
	}
	if got := phone.text("#message"); got != "Your session has expired" {
		t.Errorf("the ended browser is told %q", got)
	}
}
