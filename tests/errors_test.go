package tests

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestErrorShapes checks that every kind of bad request gets the
// contract's JSON error shape (or a page with the same status), and that
// no Go error text, SQL or stack trace reaches a client.
func TestErrorShapes(t *testing.T) {
	app := newApp(t, sqliteDB)
	c := app.client(t)
	huge := `{"username": "` + strings.Repeat("a", 2<<20) + `", "password": "x"}`
	cases := []struct {
		name        string
		method      string
		path        string
		body        any
		contentType string
		wantStatus  int
		wantCode    string
		wantAllow   string
	}{
		{"unknown /api route", http.MethodGet, "/api/nope", nil, "", 404, "not_found", ""},
		{"unknown page asking for JSON", http.MethodGet, "/nope", nil, "", 404, "not_found", ""},
		{"wrong method on an /api route", http.MethodGet, "/api/login", nil, "", 405, "method_not_allowed", "OPTIONS, POST"},
		{"malformed JSON", http.MethodPost, "/api/login", `{"username": `, "", 400, "bad_request", ""},
		{"JSON of the wrong type", http.MethodPost, "/api/login", `{"username": 12, "password": []}`, "", 400, "bad_request", ""},
		{"a body type the route does not read", http.MethodPost, "/api/login", "<login/>", "application/xml", 415, "unsupported_media_type", ""},
		{"a body over 1 MiB", http.MethodPost, "/api/login", huge, "", 413, "payload_too_large", ""},
		{"an empty body", http.MethodPost, "/api/login", nil, "", 422, "invalid_input", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			headers := []header{asJSON}
			if tc.contentType != "" {
				headers = append(headers, header{"Content-Type", tc.contentType})
			}
			resp := c.do(tc.method, tc.path, tc.body, headers...)
			resp.wantStatus(t, tc.wantStatus)
			p := resp.problem(t)
			if p.Error != tc.wantCode {
				t.Errorf("error = %q, want %q", p.Error, tc.wantCode)
			}
			for _, leak := range []string{"Syntax error", "Unmarshal", "json:", "offset", "sql", "goroutine", ".go:"} {
				if strings.Contains(string(resp.Body), leak) {
					t.Errorf("body leaks %q: %s", leak, resp.Body)
				}
			}
			if tc.wantAllow != "" && resp.Header.Get("Allow") != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", resp.Header.Get("Allow"), tc.wantAllow)
			}
		})
	}
	t.Run("an HTML 404 is a page with the same status", func(t *testing.T) {
		doc := c.get("/nope", asHTML).wantStatus(t, http.StatusNotFound).doc(t)
		if got := doc.Find("h1").Text(); got != "Page not found" {
			t.Errorf("h1 = %q, want Page not found", got)
		}
		// Said once: the heading, then what it means, and no banner repeating it.
		if got := doc.Find("main").Text(); strings.Count(strings.ToLower(got), "not found") != 1 {
			t.Errorf("the 404 page says \"not found\" %d times: %q", strings.Count(strings.ToLower(got), "not found"), got)
		}
		if got := doc.Find("title").Text(); got != "Page not found · Gatehouse" {
			t.Errorf("title = %q", got)
		}
	})
	t.Run("the wrong field on the form redraws the login page with 422", func(t *testing.T) {
		resp := c.post("/auth/token", formOf("username", "ada@example.com"), asHTML).wantStatus(t, http.StatusUnprocessableEntity)
		if resp.doc(t).Find(`form[action="/auth/token"]`).Length() != 1 {
			t.Errorf("the login form is not shown again")
		}
	})
}

func TestNegotiation(t *testing.T) {
	app := newApp(t, sqliteDB)
	c := app.client(t)
	cases := []struct {
		name    string
		headers []header
		want    string // "json" or "html"
	}{
		{"no headers", nil, "html"},
		{"a browser's Accept", []header{asHTML}, "html"},
		{"Accept application/json", []header{{"Accept", "application/json"}}, "json"},
		{"Accept prefers JSON by q", []header{{"Accept", "text/html;q=0.5, application/json"}}, "json"},
		{"Accept prefers HTML by q", []header{{"Accept", "text/html, application/json;q=0.9"}}, "html"},
		{"x-expected-format in any case, with parameters", []header{{"X-EXPECTED-FORMAT", "Application/JSON; charset=utf-8"}}, "json"},
		{"x-expected-format wins over a browser Accept", []header{asHTML, {"x-expected-format", "application/json"}}, "json"},
		{"x-expected-format of something else", []header{{"x-expected-format", "text/html"}}, "html"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := c.get("/admin/me", tc.headers...)
			got := "html"
			if resp.StatusCode == http.StatusUnauthorized && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				got = "json"
			} else if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status = %d, want 401 (JSON) or 303 (page)", resp.StatusCode)
			}
			if got != tc.want {
				t.Errorf("answered %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("the /api twin always answers JSON", func(t *testing.T) {
		resp := c.get("/api/me", asHTML).wantStatus(t, http.StatusUnauthorized)
		if p := resp.problem(t); p.Error != "not_authenticated" || p.Detail != "Not authenticated" {
			t.Errorf("problem = %+v", p)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("WWW-Authenticate = %q, want Bearer", got)
		}
	})
	t.Run("health probes answer JSON", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			var body map[string]string
			c.get(path, asHTML).wantStatus(t, http.StatusOK).decode(t, &body)
			if body["status"] != "ok" {
				t.Errorf("%s = %v", path, body)
			}
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	app := newApp(t, sqliteDB)
	resp := app.client(t).get("/auth/login", asHTML).wantStatus(t, http.StatusOK)
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "same-origin",
		"Cache-Control":          "no-store",
	}
	for name, value := range want {
		if got := resp.Header.Get(name); got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("HSTS is sent over plain http")
	}
	css := app.client(t).get("/static/css/gatehouse.css").wantStatus(t, http.StatusOK)
	if !strings.Contains(css.Header.Get("Cache-Control"), "max-age") {
		t.Errorf("static assets are not cacheable: %q", css.Header.Get("Cache-Control"))
	}
}

// TestLogsKeepSecrets: the request log never holds a password, a token, a
// cookie or a query string.
func TestLogsKeepSecrets(t *testing.T) {
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", "correct horse battery")
	c := app.client(t)
	tok := c.loginAPI("ada@example.com", "correct horse battery")
	c.post("/api/login", formOf("username", "ada@example.com", "password", "a wrong guess")).wantStatus(t, http.StatusUnauthorized)
	c.get("/api/me?code=secret-code-123", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
	cookie := sessionCookie(t, c)
	logs := app.logs.String()
	if !strings.Contains(logs, "route=/api/me") {
		t.Fatalf("no request lines logged:\n%s", logs)
	}
	for _, secret := range []string{"correct horse battery", "a wrong guess", tok.AccessToken, cookie, "secret-code-123"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// TestInputLimits: the edges of what the server reads all answer 4xx with
// the error shape, never 5xx.
func TestInputLimits(t *testing.T) {
	app := newApp(t, sqliteDB)
	app.createUser(t, "root@example.com", "correct horse battery", withScopes("admin:read", "admin:write", "user:read", "user:write"))
	c := app.client(t)
	admin := bearer(c.loginAPI("root@example.com", "correct horse battery").AccessToken)
	longTitle := `{"title": "` + strings.Repeat("a", 1_040_000) + `", "body": "x"}`
	cases := []struct {
		name       string
		method     string
		path       string
		body       any
		headers    []header
		wantStatus int
		wantCode   string
	}{
		{"a body over 10^6 bytes but under 1 MiB is read", http.MethodPost, "/api/posts", longTitle, []header{admin}, 422, "invalid_input"},
		{"a username longer than any email", http.MethodPost, "/api/login", formOf("username", strings.Repeat("a", 300)+"@example.com", "password", "x"), nil, 422, "invalid_input"},
		{"a user id past the signed 64-bit range", http.MethodGet, "/api/users/9223372036854775808", nil, []header{admin}, 404, "not_found"},
		{"a user id that is not a number", http.MethodGet, "/api/users/abc", nil, []header{admin}, 404, "not_found"},
		{"a page number that would overflow the offset", http.MethodGet, "/api/users?page=9223372036854775807&per_page=100", nil, []header{admin}, 422, "invalid_input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := c.do(tc.method, tc.path, tc.body, tc.headers...)
			resp.wantStatus(t, tc.wantStatus)
			if p := resp.problem(t); p.Error != tc.wantCode {
				t.Errorf("error = %q, want %q", p.Error, tc.wantCode)
			}
		})
	}
	t.Run("a chunked body over 1 MiB is 413 too", func(t *testing.T) {
		for _, contentType := range []string{"application/json", "application/x-www-form-urlencoded"} {
			body := io.MultiReader(strings.NewReader(`{"username": "`), strings.NewReader(strings.Repeat("a", 2<<20)))
			req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/login", body) // no length: sent chunked
			req.Header.Set("Content-Type", contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%s: status = %d, want 413", contentType, resp.StatusCode)
			}
		}
	})
}

// TestBodyLimits checks contract §9's limits on bodies: 1 MiB everywhere
// and 64 KiB on the routes anyone may post to, whether the body says its
// length or comes chunked, and a JSON body that is exactly one value.
func TestBodyLimits(t *testing.T) {
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", goodPassword)
	c := app.client(t)
	tok := c.loginAPI("ada@example.com", goodPassword)

	// chunked sends body with no Content-Length, as a stream.
	chunked := func(t *testing.T, path string, body io.Reader, headers ...header) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, app.URL+path, body)
		req.Header.Set("Content-Type", "application/json")
		for _, h := range headers {
			req.Header.Set(h.name, h.value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	login := `{"username": "ada@example.com", "password": "` + goodPassword + `"}`
	padded := func(n int) io.Reader { return strings.NewReader(login + strings.Repeat(" ", n)) }

	t.Run("a short JSON value padded past the limit is 413, chunked", func(t *testing.T) {
		if got := chunked(t, "/api/login", padded(100<<10)); got != http.StatusRequestEntityTooLarge {
			t.Errorf("login padded to 100 KiB: status %d, want 413", got)
		}
		post := `{"title": "t", "body": "b"}` + strings.Repeat(" ", 3<<19)
		if got := chunked(t, "/api/posts", strings.NewReader(post), bearer(tok.AccessToken)); got != http.StatusRequestEntityTooLarge {
			t.Errorf("post padded to 1.5 MiB: status %d, want 413", got)
		}
	})
	t.Run("within the limit, padding is only whitespace", func(t *testing.T) {
		if got := chunked(t, "/api/login", padded(60<<10)); got != http.StatusOK {
			t.Errorf("login padded to 60 KiB: status %d, want 200", got)
		}
	})
	t.Run("login, sign-up: 64 KiB with a length", func(t *testing.T) {
		big := `{"username": "ada@example.com", "password": "` + strings.Repeat("a", 65<<10) + `"}`
		for _, path := range []string{"/api/login", "/api/register"} {
			c.post(path, big).wantProblem(t, http.StatusRequestEntityTooLarge, "payload_too_large")
		}
		page := c.post("/auth/token", url.Values{"username": {"ada@example.com"}, "password": {strings.Repeat("a", 65<<10)}}, asHTML)
		page.wantStatus(t, http.StatusRequestEntityTooLarge)
	})
	t.Run("trailing data after the JSON value is 400", func(t *testing.T) {
		c.post("/api/login", login+` xyz`).wantProblem(t, http.StatusBadRequest, "bad_request")
		c.post("/api/login", login+login).wantProblem(t, http.StatusBadRequest, "bad_request")
	})
	t.Run("a password over 256 characters is refused without a check", func(t *testing.T) {
		long := strings.Repeat("é", 257)
		for _, email := range []string{"ada@example.com", "nobody@example.com"} {
			c.post("/api/login", url.Values{"username": {email}, "password": {long}}).
				wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		}
		// Not even counted as a guess: more than LOGIN_MAX_FAILURES of them
		// leave the right password working.
		for range 6 {
			c.post("/api/login", url.Values{"username": {"ada@example.com"}, "password": {long}}).
				wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		}
		c.loginAPI("ada@example.com", goodPassword)
		c.post("/api/login", url.Values{"username": {"ada@example.com"}, "password": {strings.Repeat("é", 256)}}).
			wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
	})
}

// TestRequestID checks that a client's X-Request-Id is echoed and logged
// only when it is short and plain (contract §9); any other gets an id of
// ours, and the client's value reaches neither the answer nor the log.
func TestRequestID(t *testing.T) {
	app := newApp(t, sqliteDB)
	cases := []struct {
		name, sent string
		kept       bool
	}{
		{"a plain id is kept", "req-42_abc.DEF", true},
		{"64 characters are kept", strings.Repeat("a", 64), true},
		{"65 characters are replaced", strings.Repeat("b", 65), false},
		{"60 KB are replaced", strings.Repeat("c", 60<<10), false},
		{"a space is replaced", "req 42", false},
		{"a tab is replaced", "req\tid", false},
		{"a quote is replaced", `req"level=ERROR`, false},
		{"non-ASCII is replaced", "réq", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, app.URL+"/healthz", nil)
			req.Header["X-Request-Id"] = []string{tc.sent} // raw: no canonical cleaning by the client
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get("X-Request-Id")
			if tc.kept {
				if got != tc.sent {
					t.Errorf("X-Request-Id: got %q, want %q kept", got, tc.sent)
				}
			} else if got == tc.sent || !plainID(got) {
				t.Errorf("X-Request-Id: got %.80q, want a fresh plain id", got)
			}
			if !strings.Contains(app.logs.String(), "request_id="+got) {
				t.Errorf("the request log does not carry request_id=%s", got)
			}
			if !tc.kept && len(tc.sent) > 8 && strings.Contains(app.logs.String(), tc.sent) {
				t.Errorf("the client's id reached the log")
			}
		})
	}
}

func plainID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	return strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == ""
}
