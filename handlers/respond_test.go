package handlers

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// Browsers' default Accept headers for a page load.
const (
	acceptChrome  = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
	acceptFirefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptSafari  = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
)

// readRequest parses a raw HTTP/1.1 request with the given header lines, so
// header names arrive exactly as a client wrote them and go through
// net/http's own parsing, as they would in the server.
func readRequest(t *testing.T, headers ...string) *http.Request {
	t.Helper()
	raw := "GET / HTTP/1.1\r\nHost: gate.example\r\n" + strings.Join(headers, "\r\n")
	if len(headers) > 0 {
		raw += "\r\n"
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n")))
	if err != nil {
		t.Fatalf("read request: %v", err)
	}
	return r
}

func TestWantsJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		headers  []string
		wantJSON bool
	}{
		{"no headers get HTML", nil, false},
		{"x-expected-format application/json", []string{"x-expected-format: application/json"}, true},
		{"the header name in capitals", []string{"X-EXPECTED-FORMAT: application/json"}, true},
		{"the header value in mixed case", []string{"X-Expected-Format: Application/JSON"}, true},
		{"the header value with parameters", []string{"X-Expected-Format: application/json; charset=utf-8"}, true},
		{"the header value with spaces around it", []string{"X-Expected-Format:   application/json  "}, true},
		{"x-expected-format text/html", []string{"X-Expected-Format: text/html"}, false},
		{"x-expected-format with a longer subtype", []string{"X-Expected-Format: application/jsonp"}, false},
		{"x-expected-format json without a type", []string{"X-Expected-Format: json"}, false},
		{"a malformed x-expected-format falls back to Accept", []string{"X-Expected-Format: ;;", "Accept: application/json"}, true},
		{"x-expected-format text/html does not hide an Accept for JSON", []string{"X-Expected-Format: text/html", "Accept: application/json"}, true},
		{"x-expected-format JSON wins over a browser's Accept", []string{"X-Expected-Format: application/json", "Accept: " + acceptChrome}, true},

		{"Accept application/json", []string{"Accept: application/json"}, true},
		{"Accept application/json with a charset", []string{"Accept: application/json; charset=utf-8"}, true},
		{"Accept in capitals", []string{"Accept: APPLICATION/JSON"}, true},
		{"Accept text/html", []string{"Accept: text/html"}, false},
		{"JSON and HTML at the same quality: a tie goes to HTML", []string{"Accept: application/json, text/html"}, false},
		{"JSON listed first does not break a tie", []string{"Accept: application/json,text/html;q=1.0"}, false},
		{"HTML at a lower quality", []string{"Accept: text/html;q=0.9, application/json"}, true},
		{"both below one, JSON higher", []string{"Accept: application/json;q=0.5, text/html;q=0.4"}, true},
		{"both below one, HTML higher", []string{"Accept: application/json;q=0.4, text/html;q=0.5"}, false},
		{"JSON refused with q=0", []string{"Accept: application/json;q=0"}, false},
		{"JSON refused with q=0 while everything else is welcome", []string{"Accept: application/json;q=0, */*"}, false},
		{"application/* without text/html", []string{"Accept: application/*"}, true},
		{"text/* beats JSON at a lower quality", []string{"Accept: text/*, application/json;q=0.9"}, false},
		{"a low */* does not lift HTML above JSON", []string{"Accept: application/json, */*;q=0.1"}, true},
		{"*/* lifts HTML to a tie with a lower JSON", []string{"Accept: application/json;q=0.9, */*"}, false},
		{"the most specific range decides HTML's quality", []string{"Accept: */*, text/html;q=0.1, application/json;q=0.5"}, true},
		{"the most specific range decides JSON's quality", []string{"Accept: application/*;q=1, application/json;q=0.1, text/html;q=0.5"}, false},
		{"Accept split over two header lines", []string{"Accept: text/html;q=0.1", "Accept: application/json"}, false},
		{"*/* alone gets HTML", []string{"Accept: */*"}, false},
		{"an empty Accept gets HTML", []string{"Accept: "}, false},
		{"Chrome's page load", []string{"Accept: " + acceptChrome}, false},
		{"Firefox's page load", []string{"Accept: " + acceptFirefox}, false},
		{"Safari's page load", []string{"Accept: " + acceptSafari}, false},
		{"axios's default names JSON outright and HTML only by */*", []string{"Accept: application/json, text/plain, */*"}, true},
		{"both named outright at the same quality is a tie: HTML", []string{"Accept: application/json, text/html"}, false},
		{"a malformed quality counts as one", []string{"Accept: application/json;q=abc"}, true},
		{"a quality above one counts as one", []string{"Accept: text/html;q=2, application/json;q=0.9"}, false},
		{"a negative quality counts as one", []string{"Accept: application/json;q=-1"}, true},
		{"an unparsable entry is skipped", []string{"Accept: application/json;q=, text/html;q=0.1"}, false},
		{"garbage", []string{"Accept: garbage"}, false},
		{"only separators", []string{"Accept: ,,,;;"}, false},
		{"a parameter without a type", []string{"Accept: ;q=0.5"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := readRequest(t, tc.headers...)
			if got := wantsJSON(r); got != tc.wantJSON {
				t.Errorf("wantsJSON(%q): got %v, want %v", tc.headers, got, tc.wantJSON)
			}
		})
	}
}

// TestLocalPathOr follows go-pkgz/auth's attack table for the next
// parameter: only paths on this site pass; everything else is the fallback.
func TestLocalPathOr(t *testing.T) {
	t.Parallel()
	const fallback = "/auth/home"
	long := "/" + strings.Repeat("a", 2047)
	cases := []struct {
		name, next, want string
	}{
		{"an empty next", "", fallback},
		{"the root", "/", "/"},
		{"a local path", "/admin/me", "/admin/me"},
		{"a local path with a query and a fragment", "/ok?x=1#y", "/ok?x=1#y"},
		{"a local path with an encoded query", "/posts?next=%2F%2Fevil.example", "/posts?next=%2F%2Fevil.example"},
		{"an @ in the path stays a path", "/@evil.example", "/@evil.example"},
		{"a path of exactly 2048 bytes", long, long},
		{"a path over 2048 bytes", long + "a", fallback},
		{"a scheme-relative URL", "//evil.example", fallback},
		{"a scheme-relative URL with a path", "//evil.example/auth/home", fallback},
		{"three slashes", "///evil.example", fallback},
		{"an absolute https URL", "https://evil.example", fallback},
		{"an absolute http URL to this site", "http://127.0.0.1:8000/admin/me", fallback},
		{"a slash and a backslash", "/\\evil.example", fallback},
		{"a backslash and a slash", "\\/evil.example", fallback},
		{"two backslashes", "\\\\evil.example", fallback},
		{"a backslash later in the path", "/a\\..\\\\evil.example", fallback},
		{"a javascript URL", "javascript:alert(1)", fallback},
		{"a javascript URL behind a slash-less scheme", "JaVaScRiPt:alert(1)", fallback},
		{"a data URL", "data:text/html,<script>alert(1)</script>", fallback},
		{"a relative path", "admin/me", fallback},
		{"a host without a scheme", "evil.example", fallback},
		{"a scheme with one slash", "https:/evil.example", fallback},
		{"a leading space", " /admin/me", fallback},
		// Refused on purpose: the decoded path is "//evil.example", which is
		// scheme-relative if anything downstream decodes it before redirecting.
		{"percent-encoded slashes", "/%2F%2Fevil.example", fallback},
		{"a tab after the slash", "/\t/evil.example", fallback},
		{"a newline for header injection", "/ok\nSet-Cookie: a=b", fallback},
		{"a carriage return", "/ok\rLocation: //evil.example", fallback},
		{"CRLF", "/ok\r\nX: y", fallback},
		{"a NUL byte", "/ok\x00", fallback},
		{"DEL", "/ok\x7f", fallback},
		{"a URL that does not parse", "/%zz", fallback},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := localPathOr(tc.next, fallback); got != tc.want {
				t.Errorf("localPathOr(%q): got %q, want %q", tc.next, got, tc.want)
			}
		})
	}
}
