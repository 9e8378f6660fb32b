package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"
)

// The mail templates (contract §6): for each kind, KIND.txt and
// KIND.html, each defining "subject" and "body", framed by
// mail/_layout.txt and mail/_layout.html. The HTML part reads without
// images, and the text part writes every link out.
//
//go:embed mail/*.txt mail/*.html
var mailFiles embed.FS

// MailView is what a mail template receives. The outbox fills it from the
// mail's data; fields a kind does not use stay empty.
type MailView struct {
	Name, Email, NewEmail string // the account's name and address, an address change's new one
	IP, Browser           string // where the action came from (Browser: its User-Agent)
	At                    time.Time
	Link                  string // the link to follow, written out in full
	Site                  string // BASE_URL
	To                    string // the recipient
	ResetTTL, LinkTTL     string // how long the links live, worded ("30 minutes")
}

// Mails holds the parsed mail templates by kind.
type Mails struct {
	text map[string]*texttemplate.Template
	html map[string]*template.Template
}

// ParseMail parses every mail kind's text and HTML templates.
func ParseMail() (*Mails, error) {
	names, err := fs.Glob(mailFiles, "mail/*.txt")
	if err != nil {
		return nil, err
	}
	m := &Mails{text: map[string]*texttemplate.Template{}, html: map[string]*template.Template{}}
	for _, name := range names {
		kind := strings.TrimSuffix(strings.TrimPrefix(name, "mail/"), ".txt")
		if strings.HasPrefix(kind, "_") {
			continue
		}
		t, err := texttemplate.New(kind).Funcs(texttemplate.FuncMap(funcs)).ParseFS(mailFiles, "mail/_layout.txt", name)
		if err != nil {
			return nil, fmt.Errorf("parse mail template %s: %w", name, err)
		}
		h, err := template.New(kind).Funcs(funcs).ParseFS(mailFiles, "mail/_layout.html", "mail/"+kind+".html")
		if err != nil {
			return nil, fmt.Errorf("parse mail template %s.html: %w", kind, err)
		}
		m.text[kind], m.html[kind] = t, h
	}
	return m, nil
}

// Kinds lists the mail kinds, sorted.
func (m *Mails) Kinds() []string {
	out := make([]string, 0, len(m.text))
	for k := range m.text {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Render renders a mail of kind: its subject (one line), its text part
// and its HTML part.
func (m *Mails) Render(kind string, v MailView) (subject, text, html string, err error) {
	t, ok := m.text[kind]
	if !ok {
		return "", "", "", fmt.Errorf("no mail template %q", kind)
	}
	var s, b, h bytes.Buffer
	if err := t.ExecuteTemplate(&s, "subject", v); err != nil {
		return "", "", "", err
	}
	if err := t.ExecuteTemplate(&b, "body", v); err != nil {
		return "", "", "", err
	}
	if err := m.html[kind].ExecuteTemplate(&h, "layout", v); err != nil {
		return "", "", "", err
	}
	subject = strings.Join(strings.Fields(s.String()), " ")
	return subject, b.String(), h.String(), nil
}
