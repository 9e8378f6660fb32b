package tests

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"gatehouse/internal/testenv"
)

// The accessibility tests of issue 24 (docs/pages.md says what they check
// and why): every page state a person meets, in Chromium, checked by
// axe-core for WCAG 2 A/AA and, at a phone's width, for a page that is no
// wider than the screen.

// axeSource is axe-core, vendored under testdata/axe (see its VERSION).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeTags are the rules a violation of fails the test: WCAG 2.0, 2.1 and
// 2.2, levels A and AA. Best-practice rules run too, and are only logged,
// except those in axeEnforced.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"}

// axeEnforced are best-practice rules that fail the test all the same: a
// table column without a header leaves a screen reader naming a cell by
// nothing (WCAG 1.3.1 in spirit; issue 24 asks for it).
var axeEnforced = map[string]bool{"empty-table-header": true}

// axeViolation is one rule axe found broken, with the elements that break it.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Tags    []string `json:"tags"`
	Targets []string `json:"targets"`
}

// fails reports whether the rule is a WCAG success criterion (not only a
// best practice), or one of axeEnforced.
func (v axeViolation) fails() bool {
	if axeEnforced[v.ID] {
		return true
	}
	for _, tag := range v.Tags {
		if strings.HasPrefix(tag, "wcag2") {
			return true
		}
	}
	return false
}

// wantAccessible runs axe-core on the page the tab shows: a WCAG 2 A/AA
// violation fails the test, a best-practice one is logged as a warning.
func (b *browser) wantAccessible(state string) {
	b.t.Helper()
	tags := `["` + strings.Join(axeTags, `","`) + `"]`
	b.do(chromedp.Evaluate[chromedp.Void](`if (typeof axe === "undefined") {` + axeSource + `}`))
	found := run(b, chromedp.Evaluate[[]axeViolation](`const contrastOf = n => {
			const d = n.any.length && n.any[0].data;
			return d && d.fgColor ? " (" + d.fgColor + " on " + d.bgColor + ", " + d.contrastRatio + ":1)" : "";
		};
		axe.run(document, {runOnly: {type: "tag", values: `+tags+`}, resultTypes: ["violations"]})
		.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help, tags: v.tags,
			targets: v.nodes.slice(0, 8).map(n => n.target.join(" ") + contrastOf(n))})))`, chromedp.EvalAwaitPromise))
	for _, v := range found {
		if v.fails() {
			b.t.Errorf("%s (%s): axe %s (%s): %s, at %v", state, b.path(), v.ID, v.Impact, v.Help, v.Targets)
		} else {
			b.t.Logf("warning: %s (%s): axe best practice %s: %s, at %v", state, b.path(), v.ID, v.Help, v.Targets)
		}
	}
}

// pageWidth is how wide the document is against the window, and the
// elements that reach past the window's right edge.
type pageWidth struct {
	Document int      `json:"document"`
	Window   int      `json:"window"`
	Past     []string `json:"past"`
}

// wantNoSidewaysScroll fails the test when the document is wider than the
// window: the page would scroll sideways. Elements inside a box that
// scrolls on its own (overflow-x: auto) do not count: that box scrolls,
// not the page.
func (b *browser) wantNoSidewaysScroll(state string) {
	b.t.Helper()
	w := run(b, chromedp.Evaluate[pageWidth](`(() => {
		const root = document.documentElement, win = root.clientWidth;
		const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
			(el.classList.length ? "." + Array.from(el.classList).join(".") : "");
		const past = [];
		for (const el of document.body.querySelectorAll("*")) {
			const r = el.getBoundingClientRect();
			if (r.width === 0 || r.right <= win + 1 || past.length >= 8) continue;
			let clipped = false;
			for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
				if (["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(p).overflowX)) { clipped = true; break; }
			}
			if (!clipped) past.push(name(el) + " to " + Math.round(r.right) + " px");
		}
		return {document: root.scrollWidth, window: win, past};
	})()`))
	if w.Document > w.Window {
		b.t.Errorf("%s (%s): the page is %d px wide in a %d px window, so it scrolls sideways; past the edge: %v",
			state, b.path(), w.Document, w.Window, w.Past)
	}
}

// phoneWidth is the narrowest phone screen the pages are made for.
const phoneWidth = 360

// asPhone makes the tab a phone's screen, phoneWidth CSS pixels wide.
func (b *browser) asPhone() {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(phoneWidth, 740, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
}

// fill types value into the field sel, replacing what it held.
func (b *browser) fill(sel, value string) {
	b.t.Helper()
	b.do(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+strconv.Quote(sel)+`).value = ""`),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	)
}

// logOut presses the menu's "Log out".
func (b *browser) logOut() {
	b.t.Helper()
	b.clickThrough(`nav form[action="/auth/logout"] button`)
}

// secretOnPage is the set-up key the 2FA page shows, without the spaces
// that group it.
func (b *browser) secretOnPage() string {
	b.t.Helper()
	return strings.Join(strings.Fields(run(b, chromedp.Evaluate[string](`document.querySelector("#secret").textContent`))), "")
}

// tourEveryPage walks a person through every page state of issue 24's
// list — login, sign-up, forgot, reset, verify, home, My info, passkeys,
// the security log, sessions, posts, users, a user, the 2FA pages, the
// recovery codes, the 2FA step, re-authentication, 404, 403, 429 and
// /docs — with their error states, and calls check on each.
func tourEveryPage(t *testing.T, b *browser, app *app, mp *testenv.Mailpit, check func(state string)) {
	t.Helper()
	app.createUser(t, "ada@example.com", goodPassword, withName("Ada Lovelace"),
		withScopes("user:read", "user:write", "admin:read", "admin:write"))
	bob := app.createUser(t, "bob@example.com", goodPassword, withName("Bob Example"))
	// A session elsewhere, so the sessions page lists one to end.
	app.client(t).loginAPI("ada@example.com", goodPassword)
	open := func(path, state string) {
		t.Helper()
		b.open(path)
		check(state)
	}

	open("/auth/login", "login")
	open("/auth/register", "sign-up")
	b.fill("#email", "grace@example.com")
	b.fill("#password", "short")
	b.clickThrough(`form[action="/auth/register"] button[type=submit]`)
	check("sign-up with errors")
	b.fill("#full_name", "Grace Hopper")
	b.fill("#password", "a long enough passphrase")
	b.clickThrough(`form[action="/auth/register"] button[type=submit]`)
	open(linkIn(t, mp.WaitForMail(t, "grace@example.com", 1)[0]), "verify")
	open("/auth/verify?token=unknown", "verify with an unknown link")
	b.logOut()
	check("login with a message")

	open("/auth/forgot", "forgot")
	b.fill("#email", "ada@example.com")
	b.clickThrough(`form[action="/auth/forgot"] button[type=submit]`)
	open(linkIn(t, mp.WaitForMail(t, "ada@example.com", 1)[0]), "reset")
	b.fill("#new_password", "password")
	b.clickThrough(`form[action="/auth/reset"] button[type=submit]`)
	check("reset with errors")
	open("/auth/reset?token=unknown", "reset with an unknown link")
	open("/no/such/page", "404")

	b.open("/auth/login")
	b.logInWithForm("ada@example.com", goodPassword)
	check("home")
	open("/admin/me", "My info")
	open("/admin/me/passkeys", "passkeys, none yet")
	// One added over the API (TestChromiumPasskeys adds one on this page).
	withKey := app.client(t)
	withKey.loginAPI("ada@example.com", goodPassword)
	withKey.addPasskey(newAuthenticator(t, app), "Laptop").wantStatus(t, http.StatusCreated)
	open("/admin/me/passkeys", "passkeys")
	open("/admin/me/events", "security log")
	open("/admin/me/sessions", "sessions")
	open("/posts", "posts, none yet")
	b.clickThrough(`form[action="/posts"] button[type=submit]`)
	check("posts with errors")
	b.fill("#title", "A first post")
	b.fill("#body", "Some words.")
	b.clickThrough(`form[action="/posts"] button[type=submit]`)
	check("posts")
	open("/admin/users", "users")
	open(fmt.Sprintf("/admin/users/%d", bob.ID), "a user")

	open("/admin/me/2fa", "2FA off")
	app.clock.Advance(app.cfg.ReauthWindow + time.Minute)
	b.clickThrough("#setup-button")
	check("re-authentication")
	b.fill("#password", "not my password")
	b.clickThrough(`form[action="/auth/reauth"] button[type=submit]`)
	check("re-authentication with errors")
	b.fill("#password", goodPassword)
	b.clickThrough(`form[action="/auth/reauth"] button[type=submit]`)
	b.clickThrough("#setup-button")
	check("2FA set-up")
	secret := b.secretOnPage()
	b.fill("#code", "000000")
	b.clickThrough(`form[action="/admin/me/2fa/totp/enable"] button`)
	check("2FA set-up with errors")
	b.fill("#code", totpCode(t, secret, app.clock.Now()))
	b.clickThrough(`form[action="/admin/me/2fa/totp/enable"] button`)
	check("recovery codes")
	open("/admin/me/2fa", "2FA on")
	app.clock.Advance(30 * time.Second)
	b.logOut()
	b.logInWithForm("ada@example.com", goodPassword)
	check("2FA step")
	b.fill("#code", "000000")
	b.clickThrough(`form[action="/auth/2fa"] button`)
	check("2FA step with errors")
	b.fill("#code", totpCode(t, secret, app.clock.Now()))
	b.clickThrough(`form[action="/auth/2fa"] button`)
	b.open("/docs")
	b.do(chromedp.WaitVisible(chromedp.CSS("#operations-me-getMe")))
	check("API docs")
	b.open("/auth/home")
	b.logOut()

	b.logInWithForm("bob@example.com", goodPassword)
	open("/admin/users", "403")
	b.logOut()

	for range app.cfg.LoginMaxFailures + 1 {
		b.logInWithForm("carol@example.com", "not a password")
	}
	if got := b.text("#problem"); !strings.Contains(got, "Too many") {
		t.Fatalf("after %d failed logins the page says %q, want too many", app.cfg.LoginMaxFailures+1, got)
	}
	check("429")
}

// TestChromiumAccessibility runs axe-core on every page state, at a
// laptop's width.
func TestChromiumAccessibility(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	app := onItsName(newApp(t, sqliteDB, withMailpit(mp), withPasskeys)) // passkeys on: their controls are on the pages
	b := newBrowser(t, app)
	tourEveryPage(t, b, app, mp, b.wantAccessible)
}

// TestChromiumPagesOnAPhone loads every page state on a 360 px screen: no
// page may be wider than the screen, and axe-core runs there too.
func TestChromiumPagesOnAPhone(t *testing.T) {
	t.Parallel()
	mp := testenv.StartMailpit(t)
	app := onItsName(newApp(t, sqliteDB, withMailpit(mp), withPasskeys))
	b := newBrowser(t, app)
	b.asPhone()
	tourEveryPage(t, b, app, mp, func(state string) {
		b.wantNoSidewaysScroll(state)
		b.wantAccessible(state)
	})
}

// focusRing is the focused element and how its focus indicator is drawn.
type focusRing struct {
	Element    string `json:"element"`
	Style      string `json:"style"`
	Width      string `json:"width"`
	Color      string `json:"color"`
	Background string `json:"background"` // behind the ring: the first ancestor's opaque background
}

// focused describes document.activeElement's outline and what it is drawn on.
const focused = `(() => {
	const el = document.activeElement;
	const cs = getComputedStyle(el);
	let bg = "rgb(255, 255, 255)";
	for (let p = el.parentElement; p; p = p.parentElement) {
		const c = getComputedStyle(p).backgroundColor;
		if (c !== "transparent" && !/rgba\(.*, 0\)$/.test(c)) { bg = c; break; }
	}
	const text = (el.textContent || el.value || "").trim().slice(0, 40);
	return {element: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (text ? " “" + text + "”" : ""),
		style: cs.outlineStyle, width: cs.outlineWidth, color: cs.outlineColor, background: bg};
})()`

// fromTheTop puts the keyboard at the top of the page, as if nothing had
// the focus yet (an autofocused field has it after loading): the next Tab
// goes to the page's first control.
func (b *browser) fromTheTop() {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](`document.body.tabIndex = -1; document.body.focus(); document.body.removeAttribute("tabindex")`))
}

// tabThrough presses Tab from the top of the page until the focus leaves
// the page or comes back round, and returns each element it rested on.
func (b *browser) tabThrough() []focusRing {
	b.t.Helper()
	b.fromTheTop()
	var rings []focusRing
	seen := map[string]bool{}
	for range 30 {
		b.do(chromedp.KeyEvent("\t"))
		r := run(b, chromedp.Evaluate[focusRing](focused))
		if strings.HasPrefix(r.Element, "body") || seen[r.Element] {
			break
		}
		seen[r.Element] = true
		rings = append(rings, r)
	}
	return rings
}

var rgbPattern = regexp.MustCompile(`^rgba?\(([\d.]+),? ([\d.]+),? ([\d.]+)(?:,? ?/? ?([\d.]+))?\)$`)

// luminance is a CSS colour's relative luminance (WCAG 2), or an error for
// a colour that is not a plain opaque rgb().
func luminance(css string) (float64, error) {
	m := rgbPattern.FindStringSubmatch(css)
	if m == nil {
		return 0, fmt.Errorf("colour %q is not rgb()", css)
	}
	if m[4] != "" {
		if a, _ := strconv.ParseFloat(m[4], 64); a < 1 {
			return 0, fmt.Errorf("colour %q is translucent", css)
		}
	}
	var l [3]float64
	for i := range l {
		v, _ := strconv.ParseFloat(m[i+1], 64)
		v /= 255
		if v <= 0.04045 {
			l[i] = v / 12.92
		} else {
			l[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2], nil
}

// contrast is the WCAG 2 contrast ratio of two CSS colours.
func contrast(a, b string) (float64, error) {
	la, err := luminance(a)
	if err != nil {
		return 0, err
	}
	lb, err := luminance(b)
	if err != nil {
		return 0, err
	}
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05), nil
}

// wantVisibleFocus fails the test for each element whose focus indicator
// is missing, thinner than 2 px, or under 3:1 against what it is drawn on
// (WCAG 1.4.11).
func wantVisibleFocus(t *testing.T, page string, rings []focusRing) {
	t.Helper()
	for _, r := range rings {
		width, _ := strconv.ParseFloat(strings.TrimSuffix(r.Width, "px"), 64)
		if r.Style == "none" || width < 2 {
			t.Errorf("%s: %s has no visible focus outline (%s %s %s)", page, r.Element, r.Style, r.Width, r.Color)
			continue
		}
		ratio, err := contrast(r.Color, r.Background)
		if err != nil {
			t.Errorf("%s: %s: %v", page, r.Element, err)
			continue
		}
		if ratio < 3 {
			t.Errorf("%s: %s: focus outline %s on %s is %.2f:1, want at least 3:1", page, r.Element, r.Color, r.Background, ratio)
		}
	}
}

func TestContrast(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		a, b string
		want float64
	}{
		{"black on white is 21:1", "rgb(0, 0, 0)", "rgb(255, 255, 255)", 21},
		{"a colour on itself is 1:1", "rgb(31, 95, 191)", "rgb(31, 95, 191)", 1},
		{"the old focus ring on the card is under 3:1", "rgb(156, 193, 245)", "rgb(255, 255, 255)", 1.85},
		{"an opaque rgba counts", "rgba(0, 0, 0, 1)", "rgb(255, 255, 255)", 21},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := contrast(tc.a, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 0.01 {
				t.Errorf("contrast(%s, %s): got %.2f, want %.2f", tc.a, tc.b, got, tc.want)
			}
		})
	}
	if _, err := contrast("rgba(0, 0, 0, 0.5)", "rgb(255, 255, 255)"); err == nil {
		t.Error("a translucent colour: got no error, want one")
	}
}

// TestChromiumKeyboard tabs through the login page and the 2FA step as a
// keyboard user: the skip link comes first and leads to the content, and
// every control shows a focus outline of at least 3:1 — the recovery-code
// summary too, whose form uses a button styled apart from "Log in".
func TestChromiumKeyboard(t *testing.T) {
	t.Parallel()
	app, _, _, _ := newMFAApp(t, sqliteDB)
	b := newBrowser(t, app)

	b.open("/auth/login")
	rings := b.tabThrough()
	if len(rings) < 4 {
		t.Fatalf("login page: Tab rested on %d elements, want the skip link, the fields and the button", len(rings))
	}
	if !strings.Contains(rings[0].Element, "Skip to the content") {
		t.Errorf("the first Tab rests on %s, want the skip link", rings[0].Element)
	}
	wantVisibleFocus(t, "login page", rings)

	b.open("/auth/login")
	b.fromTheTop()
	b.do(chromedp.KeyEvent("\t"), chromedp.KeyEvent("\r"))
	if got := run(b, chromedp.Evaluate[string](`document.activeElement.id`)); got != "main" {
		t.Errorf("after the skip link the focus is on #%s, want #main", got)
	}

	b.logInWithForm("ada@example.com", goodPassword)
	if got := b.path(); got != "/auth/2fa" {
		t.Fatalf("after the password the browser is at %s, want /auth/2fa", got)
	}
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("details").open = true`))
	rings = b.tabThrough()
	var summary bool
	for _, r := range rings {
		summary = summary || strings.HasPrefix(r.Element, "summary")
	}
	if !summary {
		t.Errorf("Tab never rests on the recovery-code summary: %v", rings)
	}
	wantVisibleFocus(t, "2FA step", rings)

	primary := run(b, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('form[action="/auth/2fa"] button:not(.secondary)')).backgroundColor`))
	secondary := run(b, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("button.secondary")).backgroundColor`))
	if primary == secondary {
		t.Errorf("the secondary button has the primary's background %s", primary)
	}
}

// fieldState is a form field as assistive technology meets it.
type fieldState struct {
	Focused   string `json:"focused"`
	Invalid   string `json:"invalid"`
	Described string `json:"described"` // the text of the elements aria-describedby names
}

// field describes the field with id, and which element has the focus.
func (b *browser) field(id string) fieldState {
	b.t.Helper()
	// Chromium focuses an autofocus field at a later rendering step than
	// the load event: on a busy machine the page may be read before it.
	run(b, chromedp.Poll[chromedp.Void](`!document.querySelector("[autofocus]") || document.activeElement !== document.body`,
		chromedp.WithPollingTimeout(stepTimeout)))
	return run(b, chromedp.Evaluate[fieldState](`(() => {
		const el = document.getElementById(`+strconv.Quote(id)+`);
		const ids = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
		return {focused: document.activeElement.id, invalid: el.getAttribute("aria-invalid") || "",
			described: ids.map(i => { const d = document.getElementById(i); return d ? d.textContent.trim() : "(missing #" + i + ")"; }).join(" | ")};
	})()`))
}

// TestChromiumFieldErrors: a form sent back with errors marks each field
// in error (aria-invalid), ties its message to it (aria-describedby) and
// puts the focus on the first one; the 2FA step ties its message to the
// code field.
func TestChromiumFieldErrors(t *testing.T) {
	t.Parallel()
	app, _, _, _ := newMFAApp(t, sqliteDB)
	b := newBrowser(t, app)

	b.open("/auth/register")
	b.fill("#email", "grace@example.com")
	b.fill("#password", "short")
	b.clickThrough(`form[action="/auth/register"] button[type=submit]`)
	name := b.field("full_name")
	if name.Focused != "full_name" {
		t.Errorf("after a failed sign-up the focus is on #%s, want #full_name, the first field in error", name.Focused)
	}
	if name.Invalid != "true" || name.Described == "" {
		t.Errorf("#full_name: aria-invalid %q, described by %q; want true and its message", name.Invalid, name.Described)
	}
	password := b.field("password")
	if password.Invalid != "true" || !strings.Contains(password.Described, "8 to 256 characters") || !strings.Contains(password.Described, " | ") {
		t.Errorf("#password: aria-invalid %q, described by %q; want true, its help and its message", password.Invalid, password.Described)
	}
	if email := b.field("email"); email.Invalid != "" || email.Described != "" {
		t.Errorf("#email, which is fine: aria-invalid %q, described by %q; want neither", email.Invalid, email.Described)
	}

	b.open("/auth/login")
	b.logInWithForm("ada@example.com", goodPassword)
	b.fill("#code", "000000")
	b.clickThrough(`form[action="/auth/2fa"] button`)
	code := b.field("code")
	if code.Focused != "code" || code.Invalid != "true" || !strings.Contains(code.Described, "not valid") {
		t.Errorf("2FA step after a wrong code: focus on #%s, #code aria-invalid %q, described by %q; want the focus on it, true and the message",
			code.Focused, code.Invalid, code.Described)
	}
}

// codesLayout is how the recovery codes and the set-up key are laid out.
type codesLayout struct {
	Lefts      []int `json:"lefts"`      // the left edge of each code
	Lines      []int `json:"lines"`      // the lines each code takes
	CardRight  int   `json:"cardRight"`  // the right edge of the card's content
	CodesRight int   `json:"codesRight"` // the right edge of the widest code
}

// TestChromiumRecoveryCodes sets up two-factor authentication on a phone:
// the set-up key is shown in groups of four within the card; the
// recovery codes stand in one column, each on one line; "Copy the codes"
// (static/js/recovery-codes.js) copies all ten, one a line, and says so;
// "Download as a text file" saves them.
func TestChromiumRecoveryCodes(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", goodPassword)
	b := newBrowser(t, app)
	b.watchCSP()
	b.asPhone()

	b.open("/auth/login")
	b.logInWithForm("ada@example.com", goodPassword)
	b.open("/admin/me/2fa")
	b.clickThrough("#setup-button")
	groups := run(b, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#secret span"), s => s.textContent)`))
	if len(groups) < 8 || len(groups[0]) != 4 {
		t.Errorf("the set-up key is shown as %q, want groups of four", groups)
	}
	if right := run(b, chromedp.Evaluate[int](`Math.ceil(document.querySelector("#secret").getBoundingClientRect().right - document.querySelector("#setup").getBoundingClientRect().right)`)); right > 0 {
		t.Errorf("the set-up key runs %d px past its card", right)
	}
	secret := b.secretOnPage()
	b.fill("#code", totpCode(t, secret, app.clock.Now()))
	b.clickThrough(`form[action="/admin/me/2fa/totp/enable"] button`)

	layout := run(b, chromedp.Evaluate[codesLayout](`(() => {
		const codes = Array.from(document.querySelectorAll("#codes code"));
		const card = document.querySelector("#recovery-codes"), pad = parseFloat(getComputedStyle(card).paddingRight);
		return {lefts: codes.map(c => Math.round(c.getBoundingClientRect().left)),
			lines: codes.map(c => c.getClientRects().length),
			cardRight: Math.floor(card.getBoundingClientRect().right - pad),
			codesRight: Math.ceil(Math.max(...codes.map(c => c.getBoundingClientRect().right)))};
	})()`))
	if len(layout.Lefts) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(layout.Lefts))
	}
	for i, left := range layout.Lefts {
		if left != layout.Lefts[0] || layout.Lines[i] != 1 {
			t.Errorf("on a phone, code %d starts at %d px on %d lines; want one column (%d px), one line each", i+1, left, layout.Lines[i], layout.Lefts[0])
		}
	}
	if layout.CodesRight > layout.CardRight {
		t.Errorf("the codes reach %d px, past the card's %d px", layout.CodesRight, layout.CardRight)
	}
	codes := run(b, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#codes code"), c => c.textContent)`))

	// The script copies through the Clipboard API; the test stands in for
	// the clipboard, which headless Chromium keeps to itself.
	b.do(
		chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText = text => { window.__copied = text; return Promise.resolve(); }`),
		chromedp.Click(chromedp.CSS("#copy-codes"), chromedp.NodeVisible),
		chromedp.Poll[chromedp.Void](`document.querySelector("#copy-status").textContent !== ""`, chromedp.WithPollingTimeout(stepTimeout)),
	)
	if got := run(b, chromedp.Evaluate[string](`window.__copied || ""`)); got != strings.Join(codes, "\n")+"\n" {
		t.Errorf("copied %q, want the ten codes one a line", got)
	}
	if got := b.text("#copy-status"); !strings.HasPrefix(got, "Copied") {
		t.Errorf("after copying the page says %q", got)
	}

	dir := t.TempDir()
	done := make(chan string, 1)
	listen := func(ev any) {
		if p, ok := ev.(*cdpbrowser.EventDownloadProgress); ok && p.State == cdpbrowser.DownloadProgressStateCompleted {
			select {
			case done <- p.GUID:
			default:
			}
		}
	}
	// The download's events come to the session that asked for them: the tab's.
	if err := chromedp.Listen(b.ctx, listen); err != nil {
		t.Fatal(err)
	}
	b.do(
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptrTo(true)})
			return err
		}),
		chromedp.Click(chromedp.CSS("#download-codes"), chromedp.NodeVisible),
	)
	select {
	case guid := <-done:
		text, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil {
			t.Fatal(err)
		}
		for _, code := range codes {
			if !strings.Contains(string(text), "\n"+code+"\n") {
				t.Errorf("the downloaded file lacks code %s:\n%s", code, text)
			}
		}
	case <-time.After(stepTimeout):
		t.Error("the download did not finish")
	}
	b.wantNoCSPViolations()
}

func ptrTo[T any](v T) *T { return &v }
