package templates

import (
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
)

// mailKinds are the kinds the rest of Gatehouse enqueues; each needs its
// templates.
var mailKinds = []string{models.MailPasswordReset, models.MailVerifyEmail, models.MailConfirmEmail,
	models.MailEmailChangeAsked, models.MailPasswordChanged, models.MailNewLogin, models.MailMFAEnabled, models.MailMFADisabled,
	models.MailCodesLocked}

// TestMailTemplates renders every mail kind, with zero data and with
// full data: a subject on one line, the link written out in the text
// part and present in the HTML part, no images, and HTML escaping.
func TestMailTemplates(t *testing.T) {
	t.Parallel()
	m, err := ParseMail()
	if err != nil {
		t.Fatalf("ParseMail: %v", err)
	}
	for _, kind := range mailKinds {
		if !slices.Contains(m.Kinds(), kind) {
			t.Errorf("mail kind %q has no templates", kind)
		}
	}
	full := MailView{Name: "Ada <b>", Email: "ada@example.com", NewEmail: "ada@new.example", IP: "192.0.2.1",
		Browser: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", At: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Link: "http://127.0.0.1:8000/auth/reset?token=abc_DEF-123", Site: "http://127.0.0.1:8000", To: "ada@example.com",
		ResetTTL: "30 minutes", LinkTTL: "24 hours"}
	for _, kind := range m.Kinds() {
		for _, v := range []MailView{{}, full} {
			subject, text, html, err := m.Render(kind, v)
			if err != nil {
				t.Errorf("%s: %v", kind, err)
				continue
			}
			if subject == "" || strings.ContainsAny(subject, "\r\n") {
				t.Errorf("%s: subject %q, want one line", kind, subject)
			}
			if strings.Contains(html, "<img") {
				t.Errorf("%s: the HTML part has an image", kind)
			}
			if v.Name != "" && strings.Contains(html, "Ada <b>") {
				t.Errorf("%s: the HTML part does not escape the name", kind)
			}
			if v.Link != "" && strings.Contains(html, v.Link) != strings.Contains(text, v.Link) {
				t.Errorf("%s: the link is in one part only", kind)
			}
		}
	}
	_, text, _, _ := m.Render(models.MailPasswordReset, full)
	if !strings.Contains(text, full.Link) || !strings.Contains(text, "30 minutes") {
		t.Errorf("the reset mail's text lacks the link or its lifetime:\n%s", text)
	}
	_, text, _, _ = m.Render(models.MailNewLogin, full)
	if !strings.Contains(text, "192.0.2.1") || !strings.Contains(text, "Firefox") {
		t.Errorf("the new-login notice lacks the IP or the browser:\n%s", text)
	}
}
