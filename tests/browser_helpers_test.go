package tests

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium. Without it the browser tests skip,
// except under CI=true, where a missing browser is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := "/usr/bin/chromium"
	if p := os.Getenv("CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but there is no Chromium at %s: the browser tests cannot run (apt-get install chromium)", path)
		}
		t.Skipf("no Chromium at %s (apt-get install chromium, or set CHROMIUM)", path)
	}
	return path
}

// browser is one headless Chromium with one tab, for one test. When the
// test fails, a screenshot of the tab is saved (see saveScreenshot).
type browser struct {
	t   *testing.T
	app *app
	ctx context.Context // the tab; each step gets its own timeout
}

// stepTimeout bounds each browser step, so a selector that never appears
// fails the test in seconds rather than at the suite's timeout.
const stepTimeout = 20 * time.Second

// newBrowser starts Chromium for a test on app: headless, no sandbox (CI
// runs as root), no GPU, a 1280×900 window.
func newBrowser(t *testing.T, a *app) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	// The first Run starts the browser and binds it to ctx: no timeout here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	b := &browser{t: t, app: a, ctx: ctx}
	t.Cleanup(func() { // runs before the cancels above: cleanups run last-in first-out
		if t.Failed() {
			b.saveScreenshot()
		}
	})
	return b
}

// do runs steps, failing the test on the first error.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

// run runs one action that returns a value.
func run[T any](b *browser, action chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
	return v
}

// open loads path of the app and waits for the page.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.app.URL + path))
}

// clickThrough clicks sel (a link or a submit button) and waits for the
// page it leads to.
func (b *browser) clickThrough(sel chromedp.CSS) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(sel, chromedp.NodeVisible)); err != nil {
		b.t.Fatalf("browser: click %s: %v (at %s)", sel, err, b.location())
	}
}

// text is the visible text of the first element matching sel.
func (b *browser) text(sel chromedp.CSS) string {
	b.t.Helper()
	return run(b, chromedp.Text(sel, chromedp.NodeVisible))
}

// path is the tab's current path and query, without the app's origin.
func (b *browser) path() string {
	b.t.Helper()
	loc := run(b, chromedp.Location())
	if len(loc) >= len(b.app.URL) && loc[:len(b.app.URL)] == b.app.URL {
		return loc[len(b.app.URL):]
	}
	return loc
}

// location is the current URL for failure messages; it never fails.
func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown location"
	}
	return loc
}

// logInWithForm logs in through the login page's form, from wherever the
// tab is (it must show the login form).
func (b *browser) logInWithForm(email, password string) {
	b.t.Helper()
	b.do(
		chromedp.Clear(chromedp.CSS("#username"), chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.CSS("#username"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
	)
	b.clickThrough(`form[action="/auth/token"] button[type=submit]`)
}

// artifactsDir is where failure screenshots go: $ARTIFACTS_DIR, or
// tests/artifacts (ignored by git).
func artifactsDir() string {
	if dir := os.Getenv("ARTIFACTS_DIR"); dir != "" {
		return dir
	}
	return "artifacts"
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// saveScreenshot saves the tab as a PNG named after the test and logs where.
func (b *browser) saveScreenshot() {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	dir := artifactsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	path, err := filepath.Abs(filepath.Join(dir, unsafeFileChars.ReplaceAllString(b.t.Name(), "_")+".png"))
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot of the failure (%s): %s", b.location(), path)
}
