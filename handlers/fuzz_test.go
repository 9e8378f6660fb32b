package handlers

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"gatehouse/models"
)

// The fuzz targets below parse what any client may send. Their seed
// corpora run in every `go test`; CI also fuzzes each for a few seconds
// (.ci/run). Each checks properties that must hold for every input, not
// just "no panic".

// FuzzWantsJSON: negotiation never panics, and the /api header always
// wins whatever the Accept header says.
func FuzzWantsJSON(f *testing.F) {
	for _, s := range []string{"", "application/json", "text/html", "*/*", "application/json;q=0.5, text/html",
		"application/json, text/plain, */*", "text/*;q=0.9, application/*;q=0.9", "application/json;q=abc", ";;,,", "\x00"} {
		f.Add(s, "")
		f.Add(s, "application/json")
	}
	f.Fuzz(func(t *testing.T, accept, expected string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Accept"] = []string{accept}
		r.Header["X-Expected-Format"] = []string{expected}
		got := wantsJSON(r)
		if strings.EqualFold(strings.TrimSpace(expected), "application/json") && !got {
			t.Errorf("X-Expected-Format %q with Accept %q: got HTML, want JSON", expected, accept)
		}
	})
}

// FuzzLocalPathOr: whatever next is, the answer is the fallback or a path
// that stays on this site.
func FuzzLocalPathOr(f *testing.F) {
	for _, s := range []string{"/auth/home", "//evil.example", "/\\evil.example", "https://evil.example/", "/%2F%2Fevil",
		"/a?next=//x", "javascript:alert(1)", "/\t/evil", " /x", "/x#y", "", "/", "\\\\evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := localPathOr(next, "/fallback")
		if got == "/fallback" {
			return
		}
		if got != next {
			t.Fatalf("localPathOr(%q) = %q: neither the input nor the fallback", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\x00\r\n\t") {
			t.Fatalf("localPathOr(%q) let through %q, which can leave the site", next, got)
		}
		// What a browser does with it: resolved against our origin, it
		// stays on our origin.
		base, _ := url.Parse("https://gatehouse.example/auth/login")
		if r := base.ResolveReference(u); r.Host != "gatehouse.example" {
			t.Fatalf("localPathOr(%q) = %q resolves to host %q", next, got, r.Host)
		}
	})
}

// FuzzBind: any body under any of the three content types binds or fails
// with a client error (400, 413, 415) — never anything a handler would
// answer with 500.
func FuzzBind(f *testing.F) {
	seeds := []struct{ ct, body string }{
		{"application/json", `{"username": "ada@example.com", "password": "x"}`},
		{"application/json", `{"username": "ada@example.com"} xyz`},
		{"application/json", `[1, 2]`},
		{"application/json", `{"username": 5}`},
		{"application/json", `"` + strings.Repeat("a", 100) + `"`},
		{"application/x-www-form-urlencoded", "username=ada%40example.com&password=x&scope=user%3Aread"},
		{"application/x-www-form-urlencoded", "%zz=%"},
		{"application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=abc&refresh_token=def"},
		{"application/json", `{"grant_type": "refresh_token", "refresh_token": ["a"]}`},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nada\r\n--X--\r\n"},
		{"multipart/form-data", "--X\r\n"},
		{"text/xml", "<login/>"},
	}
	for _, s := range seeds {
		f.Add(s.ct, s.body)
	}
	f.Fuzz(func(t *testing.T, contentType, body string) {
		req := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader(body))
		req.Header.Set(echo.HeaderContentType, contentType)
		c := echo.New().NewContext(req, httptest.NewRecorder())
		var in loginRequest // what POST /api/login reads: both grants
		err := bind(c, &in)
		if err == nil {
			return
		}
		var me *models.Error
		var he *echo.HTTPError
		switch {
		case errors.As(err, &me) && me.Kind == models.BadRequest:
		case errors.As(err, &he) && he.Code >= 400 && he.Code < 500:
		default:
			t.Fatalf("bind(%q, %q) = %v: not a client error", contentType, body, err)
		}
		if p := problemFor(err); p.Status < 400 || p.Status >= 500 {
			t.Fatalf("bind(%q, %q) = %v answers %d", contentType, body, err, p.Status)
		}
	})
}

// FuzzRequestID: a client's id is kept exactly when it is plain.
func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "req-1_2.3", strings.Repeat("a", 64), strings.Repeat("a", 65), "a b", "é", "a\x1b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := len(id) >= 1 && len(id) <= 64 && strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == ""
		if got := plainRequestID(id); got != want {
			t.Fatalf("plainRequestID(%q) = %v, want %v", id, got, want)
		}
	})
}
