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
	"slices"
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
	"has":     slices.Contains[[]string],
	"browser": browserName,
	// recoveryFile is recovery codes as a text file to download (a data:
	// URL of text we wrote: no script, nothing fetched).
	"recoveryFile": func(codes []string) template.URL {
		text := "Gatehouse recovery codes. Each one logs you in once.\n\n" + strings.Join(codes, "\n") + "\n"
		return template.URL("data:text/plain;charset=utf-8;base64," + base64.StdEncoding.EncodeToString([]byte(text)))
	},
	"fields": fields,
	"groups": groups,
}

// Field is one form field as _form_errors.html draws it: its name, its
// element's id (the name unless WithID says otherwise), the message of its
// error if it has one, the id of its help text, and whether it takes the
// focus when the page loads.
type Field struct {
	Name, ID, Error, Help string
	Focus                 bool
}

// DescribedBy is the field's aria-describedby: its help, then its error.
func (f Field) DescribedBy() string {
	ids := []string{}
	if f.Help != "" {
		ids = append(ids, f.Help)
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// WithID is the field drawn by the element with id id (a page with two
// fields of one name).
func (f Field) WithID(id string) Field {
	f.ID = id
	return f
}

// WithHelp is the field described by the element with id help too.
func (f Field) WithHelp(help string) Field {
	f.Help = help
	return f
}

// fields describes a form's fields, names in the order the form shows
// them, from the problem's per-field messages (a map[string]string, or
// nothing when the form has no errors). The first field in error takes
// the focus, so a person lands where the form needs them; without errors
// the first field does, when autofocus asks for it.
func fields(problem any, autofocus bool, names ...string) map[string]Field {
	msgs, _ := problem.(map[string]string)
	out := make(map[string]Field, len(names))
	focused := false
	for _, name := range names {
		f := Field{Name: name, ID: name, Error: msgs[name]}
		if f.Error != "" && !focused {
			f.Focus, focused = true, true
		}
		out[name] = f
	}
	if !focused && autofocus && len(names) > 0 && len(msgs) == 0 {
		f := out[names[0]]
		f.Focus = true
		out[names[0]] = f
	}
	return out
}

// groups cuts s into groups of n characters (the last may be shorter), as
// a set-up key is written for typing.
func groups(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
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
