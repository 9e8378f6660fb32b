package tests

import (
	"context"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser tests drive the real pages in headless Chromium: what a
// person sees, the redirects a browser follows, and Swagger UI's scripts
// under the app's Content-Security-Policy. Each test owns its app and its
// browser; browser_helpers_test.go has the helpers.

func TestChromiumLoginLogout(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", "correct horse battery", withName("Ada Lovelace"))
	b := newBrowser(t, app)

	b.open("/")
	b.logInWithForm("ada@example.com", "correct horse battery")
	if got := b.path(); got != "/auth/home" {
		t.Fatalf("after logging in the browser is at %s, want /auth/home", got)
	}
	if got := b.text("h1"); got != "Welcome, Ada Lovelace" {
		t.Errorf("home says %q, want a welcome by name", got)
	}

	b.clickThrough(`nav a[href="/admin/me"]`)
	if got := b.path(); got != "/admin/me" {
		t.Fatalf("My info link led to %s", got)
	}
	if got := b.text("#email"); got != "ada@example.com" {
		t.Errorf("My info shows email %q", got)
	}
	if got := b.text("#scopes"); got != "user:read user:write" {
		t.Errorf("My info shows scopes %q", got)
	}

	b.clickThrough(`nav form[action="/auth/logout"] button`)
	if got := b.path(); got != "/auth/login?state=4" {
		t.Errorf("after logging out the browser is at %s, want /auth/login?state=4", got)
	}
	if got := b.text("#message"); got != "You have been logged out" {
		t.Errorf("login page message = %q", got)
	}
	b.open("/auth/home")
	if got := b.path(); !strings.HasPrefix(got, "/auth/login?") {
		t.Errorf("home after logout is at %s, want the login page", got)
	}
}

func TestChromiumWrongPassword(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", "correct horse battery")
	b := newBrowser(t, app)

	b.open("/auth/login")
	b.logInWithForm("ada@example.com", "not my password")
	if got := b.text("#problem"); got != "Incorrect username or password" {
		t.Errorf("message = %q, want the wrong-password message", got)
	}
	if got := run(b, chromedp.Value(chromedp.CSS("#username"))); got != "ada@example.com" {
		t.Errorf("the email field holds %q, want what was typed", got)
	}
	if got := run(b, chromedp.Value(chromedp.CSS("#password"))); got != "" {
		t.Errorf("the password field is not empty")
	}
	// The same form, corrected, logs in.
	b.do(chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"))
	b.clickThrough(`form[action="/auth/token"] button[type=submit]`)
	if got := b.path(); got != "/auth/home" {
		t.Errorf("after the corrected login the browser is at %s, want /auth/home", got)
	}
}

func TestChromiumNextAfterLogin(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", "correct horse battery")
	b := newBrowser(t, app)

	b.open("/admin/me")
	want := "/auth/login?" + url.Values{"next": {"/admin/me"}, "state": {"2"}}.Encode()
	if got := b.path(); got != want {
		t.Fatalf("a protected page sent the browser to %s, want %s", got, want)
	}
	if got := b.text("#message"); got != "Please log in to continue" {
		t.Errorf("login page message = %q", got)
	}
	b.logInWithForm("ada@example.com", "correct horse battery")
	if got := b.path(); got != "/admin/me" {
		t.Errorf("after logging in the browser is at %s, want back at /admin/me", got)
	}
	if got := b.text("#email"); got != "ada@example.com" {
		t.Errorf("My info shows email %q", got)
	}
}

// cspViolations records Content-Security-Policy violations from the first
// script of every page, so a test can ask for them after the page ran.
const cspViolations = `window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`

// watchCSP makes every page the tab loads record its CSP violations.
func (b *browser) watchCSP() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspViolations})
		return err
	}))
}

// wantNoCSPViolations fails the test if the page broke its
// Content-Security-Policy since it loaded (see watchCSP).
func (b *browser) wantNoCSPViolations() {
	b.t.Helper()
	v := run(b, chromedp.Evaluate[[]string](`window.__csp || ["the CSP watcher did not run"]`))
	if len(v) > 0 {
		b.t.Errorf("Content-Security-Policy violations on %s: %v", b.location(), v)
	}
}

// openDocs opens /docs and waits until Swagger UI has drawn the operations.
func (b *browser) openDocs() {
	b.t.Helper()
	b.open("/docs")
	b.do(chromedp.WaitVisible(chromedp.CSS("#operations-me-getMe")))
}

// tryItOut expands an operation in Swagger UI, presses "Try it out" and
// "Execute", and returns the status and the response body it shows, and
// the curl command it says it ran.
func (b *browser) tryItOut(operation string) (status, body, curl string) {
	b.t.Helper()
	op := "#" + operation
	b.do(
		chromedp.Click(chromedp.CSS(op+" .opblock-summary-control"), chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(op+" .try-out__btn"), chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(op+" .btn.execute"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(op+" .live-responses-table tbody .response-col_status")),
	)
	status = b.text(chromedp.CSS(op + " .live-responses-table tbody .response-col_status"))
	body = b.text(chromedp.CSS(op + " .live-responses-table tbody .response-col_description pre"))
	curl = b.text(chromedp.CSS(op + " .curl-command pre"))
	return status, body, curl
}

// TestChromiumSwaggerUI loads /docs: Swagger UI runs under the page's CSP
// (no violations) and lists every operation of the document.
func TestChromiumSwaggerUI(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	doc, _, err := app.spec.load()
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, app)
	b.watchCSP()
	b.openDocs()

	shown := run(b, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".opblock"), op =>
		op.querySelector(".opblock-summary-method").textContent + " " + op.querySelector(".opblock-summary-path").dataset.path)`))
	var want []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			want = append(want, method+" "+path)
		}
	}
	sort.Strings(shown)
	sort.Strings(want)
	if !slices.Equal(shown, want) {
		t.Errorf("Swagger UI lists\n%v\nwant the document's operations\n%v", shown, want)
	}
	if got := b.text("#docs-session"); !strings.Contains(got, "Log in") {
		t.Errorf("a visitor is not offered to log in: %q", got)
	}
	b.wantNoCSPViolations()
}

// TestChromiumSwaggerUIWithCookie: a person logged in on the pages is logged
// in in Swagger UI too. "Try it out" on GET /api/me answers 200 with the
// browser's session cookie alone, and a POST from Swagger UI (log out)
// passes the cross-site check, since the browser marks it same-origin.
func TestChromiumSwaggerUIWithCookie(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", "correct horse battery")
	b := newBrowser(t, app)
	b.watchCSP()
	b.open("/auth/login?next=/docs")
	b.logInWithForm("ada@example.com", "correct horse battery")
	if got := b.path(); got != "/docs" {
		t.Fatalf("after logging in the browser is at %s, want /docs", got)
	}
	b.do(chromedp.WaitVisible(chromedp.CSS("#operations-me-getMe")))
	if got := b.text("#docs-session"); !strings.Contains(got, "ada@example.com") {
		t.Errorf("the docs page does not say who is logged in: %q", got)
	}

	status, body, curl := b.tryItOut("operations-me-getMe")
	if status != "200" || !strings.Contains(body, `"email": "ada@example.com"`) {
		t.Errorf("GET /api/me from Swagger UI: %s %s", status, body)
	}
	if strings.Contains(curl, "Authorization") {
		t.Errorf("Swagger UI sent a token; this test is about the cookie: %s", curl)
	}
	b.wantNoCSPViolations()

	status, body, _ = b.tryItOut("operations-auth-logout")
	if status != "200" || !strings.Contains(body, "Logged out") {
		t.Errorf("POST /api/logout from Swagger UI: %s %s", status, body)
	}
	b.open("/auth/home")
	if got := b.path(); !strings.HasPrefix(got, "/auth/login?") {
		t.Errorf("the pages are still logged in after logging out in Swagger UI (at %s)", got)
	}
}

// TestChromiumSwaggerUIAuthorize: "Authorize" with the OAuth2 password flow
// gets a token from /api/login, and "Try it out" then works with the token
// alone (the test clears the cookies the login also set).
func TestChromiumSwaggerUIAuthorize(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", "correct horse battery")
	b := newBrowser(t, app)
	b.watchCSP()
	b.openDocs()

	password := chromedp.CSS(`.auth-container:has(.flow)`) // the OAuth2 scheme's box in the dialog
	b.do(
		chromedp.Click(chromedp.CSS(".scheme-container .btn.authorize"), chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.CSS("#oauth_username"), "ada@example.com", chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.CSS("#oauth_password"), "correct horse battery"),
		chromedp.Click(password+` .btn.authorize`),
		chromedp.WaitVisible(password+` h6`), // "Authorized"
	)
	if got := b.text(password + " h6"); got != "Authorized" {
		t.Fatalf("the password flow says %q, want Authorized", got)
	}
	b.do(
		chromedp.Click(password+` .btn-done`),
		chromedp.WaitNotPresent(chromedp.CSS(".modal-ux")),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
			return err
		}),
	)

	status, body, curl := b.tryItOut("operations-me-getMe")
	if status != "200" || !strings.Contains(body, `"email": "ada@example.com"`) {
		t.Errorf("GET /api/me with the token: %s %s", status, body)
	}
	if !strings.Contains(curl, "Authorization: Bearer ey") {
		t.Errorf("Swagger UI did not send the token: %s", curl)
	}
	b.wantNoCSPViolations()
}
