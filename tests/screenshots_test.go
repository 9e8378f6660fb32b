package tests

import (
	"bytes"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestScreenshots takes the README's pictures of the pages in Chromium.
// Normally it writes them to a temporary directory, so every run checks
// that they can be made; with GATEHOUSE_SCREENSHOTS=1 it writes them to
// docs/img/ for committing:
//
//	GATEHOUSE_SCREENSHOTS=1 go test ./tests -run TestScreenshots
func TestScreenshots(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if os.Getenv("GATEHOUSE_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "docs", "img")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", "correct horse battery", withName("Ada Lovelace"))
	// A second session, so the sessions page has another one to end.
	app.client(t).loginAPI("ada@example.com", "correct horse battery")

	b := newBrowser(t, app)
	b.do(chromedp.EmulateViewport(1100, 700))
	shots := []struct {
		name, path string
		loggedIn   bool
		phone      bool // phoneWidth×740 instead of 1100×700
	}{
		{"login", "/auth/login", false, false},
		{"home", "/auth/home", true, false},
		{"me", "/admin/me", true, false},
		{"sessions", "/admin/me/sessions", true, false},
		{"docs", "/docs", true, false},
		{"phone-sessions", "/admin/me/sessions", true, true},
	}
	loggedIn := false
	for _, shot := range shots {
		if shot.loggedIn && !loggedIn {
			b.open("/auth/login")
			b.logInWithForm("ada@example.com", "correct horse battery")
			loggedIn = true
		}
		width, height := 1100, 700
		if shot.phone {
			width, height = phoneWidth, 740
			b.asPhone()
		}
		if resp := run(b, chromedp.NavigateResponse(app.URL+shot.path)); resp.Status != http.StatusOK {
			t.Fatalf("%s: status %d", shot.path, resp.Status)
		}
		if shot.name == "docs" { // the Authorize button and the first operations
			b.do(
				chromedp.WaitVisible(chromedp.CSS("#operations-me-getMe")),
				chromedp.Evaluate[chromedp.Void](`document.querySelector(".scheme-container").scrollIntoView({block: "start"})`),
			)
		}
		data := run(b, chromedp.CaptureScreenshot())
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", shot.name, err)
		}
		if size := img.Bounds().Size(); size.X != width || size.Y != height {
			t.Errorf("%s: picture is %v, want %d×%d", shot.name, size, width, height)
		}
		if err := os.WriteFile(filepath.Join(dir, shot.name+".png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
