package tests

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// onItsName makes the tests reach app through BASE_URL's host (localhost,
// see withPasskeys) rather than 127.0.0.1: the origin a browser's
// WebAuthn reports is the one it loaded, and cookies are per host.
func onItsName(app *app) *app {
	app.URL = app.cfg.BaseURL.String()
	return app
}

// virtualAuthenticator gives the browser's tab a virtual authenticator
// through the DevTools WebAuthn domain: CTAP2 on the internal transport
// (a platform authenticator, like a laptop's fingerprint reader), with
// resident keys and user verification that succeeds. It returns its id.
func (b *browser) virtualAuthenticator() webauthn.AuthenticatorID {
	b.t.Helper()
	var id webauthn.AuthenticatorID
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{EnableUI: ptrTo(false)}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
				Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true,
				HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			}})
		if err != nil {
			return err
		}
		id = res.AuthenticatorID
		return nil
	}))
	return id
}

// credentials lists what the virtual authenticator holds.
func (b *browser) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	var out []*webauthn.Credential
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		if err != nil {
			return err
		}
		out = res.Credentials
		return nil
	}))
	return out
}

// waitForPath waits until the tab is at path (a script navigates there).
func (b *browser) waitForPath(path string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		if b.path() == path {
			return
		}
		time.Sleep(50 * time.Millisecond) // polling the tab: there is no event to wait on for a script's navigation
	}
	b.t.Fatalf("the tab is at %s, want %s (status: %q)", b.path(), path,
		run(b, chromedp.Evaluate[string](`(document.getElementById("passkey-status") || {}).textContent || ""`)))
}

// TestChromiumPasskeys is a person with a laptop that has a fingerprint
// reader (Chromium's virtual authenticator): log in with the password,
// add a passkey on the Passkeys page, log out, log in with "Log in with a
// passkey" (no email typed), and remove the passkey — real ceremonies in
// a real browser, with the pages' Content-Security-Policy on.
func TestChromiumPasskeys(t *testing.T) {
	t.Parallel()
	app := onItsName(newApp(t, sqliteDB, withPasskeys))
	app.createUser(t, "ada@example.com", goodPassword, withName("Ada Lovelace"))
	b := newBrowser(t, app)
	b.watchCSP()
	auth := b.virtualAuthenticator()
	// The virtual authenticator may answer the login page's autofill
	// request (mediation "conditional") by itself, with nobody choosing,
	// and so race the button this test presses: the autofill is off here.
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `if (window.PublicKeyCredential) { PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false); }`})
		return err
	}))

	b.open("/auth/login")
	if got := run(b, chromedp.Evaluate[string](`document.getElementById("username").autocomplete`)); got != "username webauthn" {
		t.Errorf("email field autocomplete = %q", got)
	}
	b.logInWithForm("ada@example.com", goodPassword)
	b.open("/admin/me")
	b.clickThrough("#passkeys-link")
	if got := b.text("#no-passkeys"); !strings.Contains(got, "no passkeys") {
		t.Errorf("the empty list says %q", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#passkey-name"), "This laptop", chromedp.NodeVisible))
	b.do(chromedp.Click(chromedp.CSS("#add-passkey"), chromedp.NodeVisible))
	b.waitForPath("/admin/me/passkeys?flash=passkey_added")
	if got := b.text(".passkey-name"); got != "This laptop" {
		t.Errorf("the list shows %q, want This laptop", got)
	}
	b.wantNoCSPViolations()
	creds := b.credentials(auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
		t.Fatalf("the authenticator holds %+v, want one discoverable credential for localhost", creds)
	}

	b.logOut()
	b.do(chromedp.Click(chromedp.CSS("#passkey-login"), chromedp.NodeVisible))
	b.waitForPath("/auth/home")
	b.wantNoCSPViolations()
	b.open("/admin/me/events")
	if got := b.text("main"); !strings.Contains(got, "passkey") {
		t.Errorf("the security log does not show the passkey login:\n%s", got)
	}

	// Removing it: the login was an authentication, so no password is asked.
	b.open("/admin/me/passkeys")
	b.clickThrough(".remove-passkey")
	if got := b.text(".flash"); !strings.Contains(got, "removed") {
		t.Errorf("after removing the page says %q", got)
	}
	if n := run(b, chromedp.Evaluate[int](`document.querySelectorAll(".passkey-name").length`)); n != 0 {
		t.Errorf("%d passkeys still listed", n)
	}
	// The authenticator still has it; the server no longer takes it.
	b.logOut()
	b.do(chromedp.Click(chromedp.CSS("#passkey-login"), chromedp.NodeVisible))
	b.do(chromedp.WaitVisible(chromedp.CSS("#passkey-status")))
	deadline := time.Now().Add(stepTimeout)
	for !strings.Contains(b.text("#passkey-status"), "not accepted") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := b.text("#passkey-status"); !strings.Contains(got, "not accepted") {
		t.Errorf("a removed passkey: the page says %q", got)
	}
	if got := b.path(); got != "/auth/login?state=4" {
		t.Errorf("a removed passkey logged in: at %s", got)
	}
	if resp := app.client(t).post("/api/passkeys/login/begin", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("begin: status %d", resp.StatusCode)
	}
}

// TestChromiumNoWebAuthn: in a browser without WebAuthn the login page
// says so and offers no button that does nothing.
func TestChromiumNoWebAuthn(t *testing.T) {
	t.Parallel()
	app := onItsName(newApp(t, sqliteDB, withPasskeys))
	b := newBrowser(t, app)
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `delete window.PublicKeyCredential;`})
		return err
	}))
	b.open("/auth/login")
	b.do(chromedp.WaitVisible(chromedp.CSS("#passkey-status")))
	if got := b.text("#passkey-status"); !strings.Contains(got, "cannot use passkeys") {
		t.Errorf("the page says %q, want that this browser cannot use passkeys", got)
	}
	if visible := run(b, chromedp.Evaluate[bool](`!document.getElementById("passkey-login").hidden`)); visible {
		t.Error("the passkey button shows in a browser without WebAuthn")
	}
}
