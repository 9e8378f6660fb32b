// Package templates embeds Gatehouse's HTML templates and parses them once
// at start-up: one set per page (layout + partials + page), so a parse
// failure stops the start instead of failing a request. Template funcs are
// pure formatting. It knows nothing of the database or HTTP.
package templates

import (
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"
)

//go:embed *.html
var files embed.FS

// Set holds every parsed page, by file name ("login.html").
type Set struct {
	pages map[string]*template.Template
}

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join":    strings.Join,
	"browser": browserName,
	// recoveryFile is recovery codes as a text file to download (a data:
	// URL of text we wrote: no script, nothing fetched).
	"recoveryFile": func(codes []string) template.URL {
		text := "Gatehouse recovery codes. Each one logs you in once.\n\n" + strings.Join(codes, "\n") + "\n"
		return template.URL("data:text/plain;charset=utf-8;base64," + base64.StdEncoding.EncodeToString([]byte(text)))
	},
}

// Parse parses every page with the layout and the partials.
func Parse() (*Set, error) {
	names, err := fs.Glob(files, "*.html")
	if err != nil {
		return nil, err
	}
	s := &Set{pages: map[string]*template.Template{}}
	for _, name := range names {
		if name == "layout.html" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "layout.html", "_*.html", name)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return s, nil
}

// Pages lists the page names, sorted.
func (s *Set) Pages() []string {
	out := make([]string, 0, len(s.pages))
	for name := range s.pages {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Render writes page with data.
func (s *Set) Render(w io.Writer, page string, data any) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("no template %q", page)
	}
	return t.ExecuteTemplate(w, "layout.html", data)
}
