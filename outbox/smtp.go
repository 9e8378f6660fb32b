package outbox

import (
	"net/url"
	"strconv"

	gomail "github.com/wneessen/go-mail"
)

// newClient is a go-mail client for SMTP_URL: smtp:// speaks STARTTLS
// when the server offers it (port 587 unless given), smtps:// TLS from
// the start (port 465 unless given); a user in the URL logs in with the
// best mechanism the server offers.
func newClient(u *url.URL) (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithTimeout(sendTimeout)}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		port = p
	}
	opts = append(opts, gomail.WithPort(port))
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(user), gomail.WithPassword(pass))
	}
	return gomail.NewClient(u.Hostname(), opts...)
}
