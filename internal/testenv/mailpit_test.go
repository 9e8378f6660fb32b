package testenv

import (
	"net/smtp"
	"testing"
)

// TestMailpit builds (once per machine) and starts Mailpit, sends it a
// mail over SMTP, and reads it back through the API; it also survives a
// stop and start on the same ports. .ci/run runs it before the other
// tests, so they do not spend their timeout building Mailpit.
func TestMailpit(t *testing.T) {
	t.Parallel()
	mp := StartMailpit(t)
	send := func(subject string) {
		t.Helper()
		msg := "To: ada@example.com\r\nSubject: " + subject + "\r\n\r\nHello\r\n"
		if err := smtp.SendMail(mp.SMTPAddr, nil, "test@example.com", []string{"ada@example.com"}, []byte(msg)); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	send("first")
	if got := mp.WaitForMail(t, "ada@example.com", 1); got[0].Subject != "first" || got[0].Text == "" {
		t.Errorf("got %+v, want the first mail with its text", got[0])
	}
	mp.Stop()
	mp.Start()
	send("second")
	if got := mp.WaitForMail(t, "ada@example.com", 1); got[0].Subject != "second" {
		t.Errorf("after a restart: got %q, want the second mail", got[0].Subject)
	}
}
