package templates

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gatehouse/models"
)

// view mirrors the envelope handlers/render.go passes to every page:
// templates only see its field names, so the same names are enough here.
type view struct {
	Page    any
	User    *models.User
	Admin   bool
	Flash   string
	Problem *problem
}

// problem mirrors the fields of the handlers' problem a template may use.
type problem struct {
	Title   string
	Message string
	Detail  string
	Fields  map[string]string
}

// pageData is the data this test renders pages with: nil for the pages
// that do not read .Page, and a stand-in with the handler's field names
// for the login page (templates only see field names). The other pages
// read typed data that lives in handlers; handlers/render_test.go renders
// every page with its handler's real type, so they are left to it here.
var pageData = map[string]any{
	"login.html": struct {
		Username, Next, Message string
		AllowRegistration       bool
		Passkeys                bool
		Providers               []struct{ Name, URL string }
	}{},
	"home.html":  nil,
	"error.html": nil,
}

// publicPages are shown to visitors who are not logged in; every other
// page sits behind a login, so it always has a User.
var publicPages = map[string]bool{
	"login.html": true,
	"error.html": true,
}

func TestParse(t *testing.T) {
	t.Parallel()
	set, err := Parse()
	if err != nil {
		t.Fatalf("Parse: got error %v, want none", err)
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range entries {
		name := e.Name()
		if filepath.Ext(name) != ".html" || name == "layout.html" || strings.HasPrefix(name, "_") {
			continue
		}
		want = append(want, name)
	}
	if diff := cmp.Diff(want, set.Pages()); diff != "" {
		t.Errorf("pages: one per page file, without layout and partials (-want +got):\n%s", diff)
	}
}

func TestRenderEveryPage(t *testing.T) {
	t.Parallel()
	set, err := Parse()
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	envelopes := []struct {
		name   string
		public bool // only pages a visitor can see
		view   view
	}{
		{"logged in, all zero", false, view{User: &models.User{}}},
		{"logged-in admin with a flash and a problem", false, view{User: &models.User{}, Admin: true, Flash: "Saved.",
			Problem: &problem{Title: "Not accepted", Message: "Some fields are not valid.", Detail: "Some fields are not valid.", Fields: map[string]string{"email": "Enter your email."}}}},
		{"a visitor", true, view{}},
		{"a visitor with a problem", true, view{Problem: &problem{Title: "Not logged in", Message: "Incorrect username or password", Detail: "Incorrect username or password"}}},
	}
	for _, page := range set.Pages() {
		for _, env := range envelopes {
			if env.public && !publicPages[page] {
				continue
			}
			if _, ok := pageData[page]; !ok {
				continue // rendered with its real data by handlers/render_test.go
			}
			t.Run(page+"/"+env.name, func(t *testing.T) {
				t.Parallel()
				v := env.view
				v.Page = pageData[page]
				var buf bytes.Buffer
				if err := set.Render(&buf, page, v); err != nil {
					t.Fatalf("Render: got error %v, want none", err)
				}
				html := buf.String()
				if !strings.Contains(html, "<html") || !strings.Contains(html, "</html>") {
					t.Errorf("page: got %.200q, want a whole document from the layout", html)
				}
				if v.Problem != nil && !strings.Contains(html, v.Problem.Message) {
					t.Errorf("page: got no %q, want the problem's message shown", v.Problem.Message)
				}
				if v.Flash != "" && !strings.Contains(html, v.Flash) {
					t.Errorf("page: got no %q, want the flash shown", v.Flash)
				}
			})
		}
	}
}

func TestRenderUnknownPage(t *testing.T) {
	t.Parallel()
	set, err := Parse()
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := set.Render(&bytes.Buffer{}, "nope.html", nil); err == nil {
		t.Errorf("Render(nope.html): got no error, want one")
	}
}

func TestDateFunc(t *testing.T) {
	t.Parallel()
	date := funcs["date"].(func(time.Time) string)
	cases := []struct {
		name string
		in   time.Time
		want string
	}{
		{"the zero time is empty", time.Time{}, ""},
		{"a time is shown in UTC", time.Date(2025, 3, 4, 23, 30, 0, 0, time.FixedZone("CET", -3600)), "2025-03-05 00:30 UTC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := date(tc.in); got != tc.want {
				t.Errorf("date(%v): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
