package handlers

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// formBody is fields as a URL-encoded form or as multipart form data,
// and its Content-Type.
func formBody(t testing.TB, isMultipart bool, fields [][2]string) ([]byte, string) {
	t.Helper()
	if !isMultipart {
		var b strings.Builder
		for i, f := range fields {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString(f[0] + "=" + f[1]) // the tests' values need no escaping
		}
		return []byte(b.String()), echo.MIMEApplicationForm
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

// formRequest is a POST of body to target.
func formRequest(target string, body []byte, contentType string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set(echo.HeaderContentType, contentType)
	return req
}

// TestBindForm: a form binds as Echo's binder binds it — fields by their
// form tags, embedded structs' too, a URL-encoded form's query parameters
// after its body's — and afterwards the request keeps only those fields
// and "next" (FormValue still reads it), nothing else of the body.
func TestBindForm(t *testing.T) {
	for _, kind := range []struct {
		name        string
		isMultipart bool
	}{{"form", false}, {"multipart", true}} {
		t.Run(kind.name, func(t *testing.T) {
			body, contentType := formBody(t, kind.isMultipart, [][2]string{
				{"username", "ada@example.com"}, {"password", "pw"}, {"refresh_token", "rt"},
				{"next", "/admin/me"}, {"pad", strings.Repeat("x", 1000)},
			})
			req := formRequest("/api/login?scope=from-query", body, contentType)
			c := echo.New().NewContext(req, httptest.NewRecorder())
			var in loginRequest
			if err := bind(c, &in); err != nil {
				t.Fatal(err)
			}
			wantScope := "from-query" // URL-encoded: Echo binds r.Form, the body's fields then the query's
			if kind.isMultipart {
				wantScope = "" // multipart: the body's fields only
			}
			if in.Username != "ada@example.com" || in.Password != "pw" || in.RefreshToken != "rt" || in.Scope != wantScope {
				t.Errorf("bound %+v, want ada@example.com, pw, refresh token rt, scope %q", in, wantScope)
			}
			if got := c.FormValue("next"); got != "/admin/me" {
				t.Errorf(`FormValue("next") = %q, want /admin/me`, got)
			}
			if got := c.FormValue("pad"); got != "" {
				t.Errorf(`FormValue("pad") = %d bytes, want nothing: no handler reads it`, len(got))
			}
			if _, ok := req.PostForm["pad"]; ok {
				t.Error("PostForm still holds pad")
			}
			if req.MultipartForm != nil && req.MultipartForm.Value["pad"] != nil {
				t.Error("MultipartForm still holds pad")
			}
		})
	}
}

// TestBindFormHoldsOnlyItsFields binds many 60 KiB logins whose fields
// are short and keeps them — the bound values and the requests — as
// logins waiting for a hashing slot do: what stays reachable must be
// about the fields, not the bodies (issue 18: net/http's form strings
// share the body's memory, so before bindForm copied them each waiting
// login held its whole body). The requests read one shared body, as a
// server's read a connection: it holds no copy of its own.
func TestBindFormHoldsOnlyItsFields(t *testing.T) {
	const n = 100
	fields := [][2]string{{"username", "ada@example.com"}, {"password", "correct horse"}, {"pad", strings.Repeat("x", 60<<10)}}
	for _, kind := range []struct {
		name        string
		isMultipart bool
	}{{"form", false}, {"multipart", true}} {
		t.Run(kind.name, func(t *testing.T) {
			body, contentType := formBody(t, kind.isMultipart, fields)
			held := make([]loginRequest, n)
			reqs := make([]*http.Request, n)
			e := echo.New()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range n {
				reqs[i] = formRequest("/api/login", body, contentType)
				if err := bind(e.NewContext(reqs[i], httptest.NewRecorder()), &held[i]); err != nil {
					t.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perLogin := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
			if perLogin > 16<<10 {
				t.Errorf("%d bytes reachable per bound login, want under 16 KiB (its body is 60 KiB)", perLogin)
			}
			for i := range n {
				if held[i].Username != "ada@example.com" || held[i].Password != "correct horse" {
					t.Fatalf("login %d bound %+v", i, held[i])
				}
			}
			runtime.KeepAlive(reqs)
		})
	}
}

// TestBindFormCopiesOnce: a long field the route reads (scope) is held
// once per bound login — in the bound value, r.Form and r.PostForm alike —
// not once per map.
func TestBindFormCopiesOnce(t *testing.T) {
	const n = 50
	fields := [][2]string{{"username", "ada@example.com"}, {"password", "correct horse"}, {"scope", strings.Repeat("x", 60<<10)}}
	for _, kind := range []struct {
		name        string
		isMultipart bool
	}{{"form", false}, {"multipart", true}} {
		t.Run(kind.name, func(t *testing.T) {
			body, contentType := formBody(t, kind.isMultipart, fields)
			held := make([]loginRequest, n)
			reqs := make([]*http.Request, n)
			e := echo.New()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range n {
				reqs[i] = formRequest("/api/login", body, contentType)
				if err := bind(e.NewContext(reqs[i], httptest.NewRecorder()), &held[i]); err != nil {
					t.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perLogin := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
			if perLogin > 60<<10+16<<10 {
				t.Errorf("%d bytes reachable per bound login, want its 60 KiB scope once and little more", perLogin)
			}
			for i := range n {
				if len(held[i].Scope) != 60<<10 {
					t.Fatalf("login %d bound a scope of %d bytes", i, len(held[i].Scope))
				}
			}
			runtime.KeepAlive(reqs)
		})
	}
}
