package tests

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"gatehouse/idp"
)

// TestChromiumAppLogin walks "Log in with Gatehouse" in a real browser:
// an application on its own origin sends Chromium to /oauth2/authorize;
// Gatehouse asks for the password and the TOTP code, then for consent
// (axe-core finds no violation on the consent page, on a desktop and on a
// phone), and sends the browser back to the app with a code the app
// exchanges. Then the app's logout link without id_token_hint asks first.
func TestChromiumAppLogin(t *testing.T) {
	t.Parallel()
	a := newApp(t, sqliteDB)
	a.createUser(t, "ada@example.com", goodPassword, withName("Ada Lovelace"))
	owner := a.client(t)
	owner.loginAPI("ada@example.com", goodPassword)
	secret, _ := owner.enableMFA()

	// The application: a page on another origin that receives the code.
	got := make(chan url.Values, 1)
	rpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><title>Notes</title><main><h1 id="signed-in">Notes</h1></main></html>`))
	}))
	t.Cleanup(rpSrv.Close)
	callback := rpSrv.URL + "/callback"
	reg := a.registerApp(t, idp.Registration{Name: "Notes", RedirectURIs: []string{"http://127.0.0.1/callback"}})
	r := newCodeRequest(reg, "openid email profile")
	r.redirect = callback // a loopback URI: any port

	b := newBrowser(t, a)
	b.watchCSP()
	b.open(r.path())
	if p := b.path(); !strings.HasPrefix(p, "/auth/login?") {
		t.Fatalf("not logged in, the browser is at %s, want the login page", p)
	}
	b.logInWithForm("ada@example.com", goodPassword)
	if p := b.path(); p != "/auth/2fa" {
		t.Fatalf("after the password the browser is at %s, want /auth/2fa", p)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#code"), totpCode(t, secret, a.clock.Now())))
	b.clickThrough(`form[action="/auth/2fa"] button`)

	// The consent page.
	if h := b.text("#consent-heading"); !strings.Contains(h, "Notes") {
		t.Fatalf("consent heading %q", h)
	}
	b.wantAccessible("consent page")
	b.asPhone()
	b.do(chromedp.Reload()) // the same request: the consent page again
	b.wantAccessible("consent page on a phone")
	b.wantNoSidewaysScroll("consent page on a phone")
	b.clickThrough("#allow")

	var q url.Values
	select {
	case q = <-got:
	default:
		t.Fatalf("the app got no request; the browser is at %s", b.location())
	}
	if q.Get("state") != r.state || q.Get("iss") != a.URL || q.Get("code") == "" {
		t.Fatalf("the app got %v", q)
	}
	var tok appToken
	r.exchange(a.client(t), q.Get("code")).wantStatus(t, http.StatusOK).decode(t, &tok)
	var claims struct {
		AMR []string `json:"amr"`
	}
	decodeJWTPayload(t, tok.IDToken, &claims)
	if !slices.Equal(claims.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("amr %v after a password and a TOTP code, want pwd otp mfa", claims.AMR)
	}

	// Connected apps, in the browser.
	b.open("/admin/me/apps")
	if name := b.text("#apps tbody td"); name != "Notes" {
		t.Fatalf("connected apps shows %q", name)
	}
	b.wantAccessible("connected apps on a phone")

	// Logout without id_token_hint asks, and nothing ends until asked.
	b.open("/oauth2/logout?client_id=" + reg.ClientID)
	b.wantAccessible("logout question on a phone")
	b.clickThrough("#confirm-logout")
	if got := b.text("#logged-out"); !strings.Contains(got, "no longer logged in") {
		t.Fatalf("after logging out: %q", got)
	}
	b.wantNoCSPViolations()
}
