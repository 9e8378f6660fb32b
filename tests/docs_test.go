package tests

import (
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestDocsPage checks the Swagger UI page over HTTP: it is served from
// this app alone (no CDN), every asset it names is here, and it keeps the
// app's strict Content-Security-Policy. TestChromiumSwaggerUI runs it.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	c := app.client(t)
	resp := c.get("/docs", asHTML).wantStatus(t, http.StatusOK)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy = %q, want the app's strict policy", csp)
	}
	doc := resp.doc(t)
	if doc.Find("#swagger-ui").Length() != 1 {
		t.Fatalf("no #swagger-ui element")
	}
	var assets []string
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		src, ok := s.Attr("src")
		if !ok {
			t.Errorf("an inline script, which the CSP would block: %q", s.Text())
		}
		assets = append(assets, src)
	})
	doc.Find(`link[rel=stylesheet]`).Each(func(_ int, s *goquery.Selection) {
		href, _ := s.Attr("href")
		assets = append(assets, href)
	})
	if len(assets) < 4 {
		t.Errorf("the page names %v; want Swagger UI's script and CSS, docs.js and the app's CSS", assets)
	}
	for _, a := range assets {
		if !strings.HasPrefix(a, "/static/") {
			t.Errorf("%s is not served by the app", a)
			continue
		}
		asset := c.get(a).wantStatus(t, http.StatusOK)
		if len(asset.Body) == 0 {
			t.Errorf("%s is empty", a)
		}
	}
}
