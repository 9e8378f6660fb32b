package handlers

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// wantsJSON reports whether the client asked for JSON: an
// x-expected-format header of application/json (the /api group sets it),
// or an Accept header that prefers application/json to text/html.
// Anything else gets HTML.
func wantsJSON(r *http.Request) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("X-Expected-Format"))
	if err == nil && mediaType == "application/json" { // ParseMediaType lower-cases; params ignored
		return true
	}
	return prefersJSON(r.Header.Get("Accept"))
}

// prefersJSON reports whether an Accept header prefers application/json to
// text/html. Each type's quality comes from its most specific matching
// range (type/subtype over type/* over */*), as RFC 9110 §12.5.1 says. At
// equal quality the type the client named outright wins over one it only
// reached by a wildcard (axios's "application/json, text/plain, */*" wants
// JSON); a full tie goes to HTML. Written here rather than taken from a
// library: it is short and table-tested in respond_test.go.
func prefersJSON(accept string) bool {
	if accept == "" {
		return false
	}
	qJSON, sJSON := quality(accept, "application", "json")
	qHTML, sHTML := quality(accept, "text", "html")
	return qJSON > qHTML || (qJSON == qHTML && qJSON > 0 && sJSON > sHTML)
}

// quality returns the q-value an Accept header gives typ/sub and how
// specific the range that gave it was (2 exact, 1 type/*, 0 */*, -1 none).
func quality(accept, typ, sub string) (float64, int) {
	best, bestSpecificity := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		t, s, _ := strings.Cut(mediaType, "/")
		specificity := -1
		switch {
		case t == typ && s == sub:
			specificity = 2
		case t == typ && s == "*":
			specificity = 1
		case t == "*" && s == "*":
			specificity = 0
		}
		if specificity < bestSpecificity || specificity < 0 {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		if specificity > bestSpecificity || q > best {
			best, bestSpecificity = q, specificity
		}
	}
	return best, bestSpecificity
}

// respond answers with data: as JSON, or as page with data as its Page.
func respond(c echo.Context, status int, page string, data any) error {
	if wantsJSON(c.Request()) {
		return c.JSON(status, data)
	}
	return c.Render(status, page, data)
}

// detail is the body of a JSON answer that only says what happened.
type detail struct {
	Detail string `json:"detail"`
}

// pageError names the page that shows err to a browser and how to build
// the data to redraw it with. JSON clients never see it, and its data is
// built only when the page is drawn.
type pageError struct {
	err   error
	page  string
	build func() (any, error)
}

func (p *pageError) Error() string { return p.err.Error() }
func (p *pageError) Unwrap() error { return p.err }

// withPage names the page that shows err to a browser and the function
// that builds the data to redraw it with (the user's input, never a
// password). The error handler calls build only when it renders HTML, so
// a JSON client costs no page reads.
func withPage(err error, page string, build func() (any, error)) error {
	return &pageError{err: err, page: page, build: build}
}

// data is a page's build function for data already at hand.
func data(page any) func() (any, error) {
	return func() (any, error) { return page, nil }
}

// localPathOr returns next when it is a safe local path — one that stays
// on this site — and fallback otherwise. Refused: absolute URLs,
// scheme-relative "//host", backslash tricks "/\host" (browsers read "\"
// as "/"), control characters, and anything not starting with "/".
func localPathOr(next, fallback string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return fallback
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return fallback
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fallback
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return fallback
	}
	return next
}
