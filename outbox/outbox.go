// Package outbox delivers the mails that the rest of Gatehouse writes to
// the outbox table (contract §6): it claims due mails (safely across
// instances, see models.Store.ClaimMails), completes them
// (auth.Service.PrepareMail, passed in), renders their text and HTML
// parts from templates/mail, and sends them over SMTP_URL with go-mail —
// or, without SMTP_URL, writes them to the server log. A failed delivery
// is retried with backoff for up to 24 hours; the outcome is recorded on
// the row. It imports models, config and templates, never handlers or
// auth.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"gatehouse/config"
	"gatehouse/models"
	"gatehouse/templates"
)

// Prepare completes a mail just before delivery (auth.Service.PrepareMail):
// the data to render, or send false when there is nothing to send.
type Prepare func(ctx context.Context, m *models.Mail) (data models.MailData, send bool, err error)

// Options tune the sender; zero values take the defaults.
type Options struct {
	Poll  time.Duration // how often to look for due mail (default 2 s)
	Lease time.Duration // how long a claimed mail is this sender's alone (default 2 min)
	Batch int           // how many mails one pass claims at most (default 20)
}

// The retry schedule: the first retry after retryFirst, each later one
// after twice the wait before it, at most retryMax apart, until
// giveUpAfter from the mail's creation.
const (
	retryFirst  = 30 * time.Second
	retryMax    = time.Hour
	giveUpAfter = 24 * time.Hour
	sendTimeout = 30 * time.Second // one SMTP conversation; well within the default lease
)

// Sender delivers the outbox. Several senders — in one process or in many
// instances on one database — never deliver one mail twice.
type Sender struct {
	store   *models.Store
	cfg     config.Config
	now     func() time.Time
	log     *slog.Logger
	prepare Prepare
	mails   *templates.Mails
	opts    Options
}

// New builds a sender. now is the clock every schedule is judged by.
func New(store *models.Store, cfg config.Config, now func() time.Time, log *slog.Logger, prepare Prepare, opts Options) (*Sender, error) {
	mails, err := templates.ParseMail()
	if err != nil {
		return nil, err
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Batch <= 0 {
		opts.Batch = 20
	}
	return &Sender{store: store, cfg: cfg, now: now, log: log, prepare: prepare, mails: mails, opts: opts}, nil
}

// Run delivers due mail every Poll until ctx ends. Failures are logged
// and retried; they never stop it.
func (s *Sender) Run(ctx context.Context) {
	tick := time.NewTicker(s.opts.Poll)
	defer tick.Stop()
	// A pass runs to its end even when ctx ends during it: the mails it
	// holds are delivered (each within sendTimeout) rather than dropped
	// mid-conversation and left to wait out their lease (a graceful stop,
	// contract §12). Run returns once that pass is done.
	pass := context.WithoutCancel(ctx)
	for {
		if _, err := s.SendDue(pass); err != nil {
			s.log.Warn("outbox pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// SendDue claims the mails that are due and delivers them, one pass. It
// says how many it delivered.
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	due, err := s.store.ClaimMails(ctx, s.now(), s.opts.Lease, s.opts.Batch)
	sent := 0
	for i := range due {
		ok, ferr := s.deliver(ctx, &due[i])
		if ok {
			sent++
		}
		err = errors.Join(err, ferr)
	}
	return sent, err
}

// deliver prepares, renders and sends one claimed mail, and records the
// outcome: sent, dropped (nothing to send), failed (refused for good or
// out of time) or due again later.
func (s *Sender) deliver(ctx context.Context, m *models.Mail) (bool, error) {
	data, send, err := s.prepare(ctx, m)
	if err == nil && !send {
		return false, s.store.MailDelivered(ctx, m.ID, m.Claim, models.MailDropped, "", s.now())
	}
	var msg *gomail.Msg
	if err == nil {
		msg, err = s.message(m, data)
		if err != nil { // a template bug: retrying will not help
			s.log.Error("mail cannot be rendered", "mail_id", m.ID, "kind", m.Kind, "err", err)
			return false, s.store.MailDelivered(ctx, m.ID, m.Claim, models.MailFailed, err.Error(), s.now())
		}
		err = s.send(ctx, msg, m, data)
	}
	if err == nil {
		s.log.Info("mail sent", "mail_id", m.ID, "kind", m.Kind, "attempt", m.Attempts)
		return true, s.store.MailDelivered(ctx, m.ID, m.Claim, models.MailSent, "", s.now())
	}
	now := s.now()
	next := now.Add(backoff(m.Attempts))
	if permanent(err) || next.Sub(m.CreatedAt) > giveUpAfter {
		s.log.Error("mail not delivered; giving up", "mail_id", m.ID, "kind", m.Kind, "attempts", m.Attempts, "err", err)
		return false, s.store.MailDelivered(ctx, m.ID, m.Claim, models.MailFailed, err.Error(), now)
	}
	s.log.Warn("mail not delivered; will retry", "mail_id", m.ID, "kind", m.Kind, "attempt", m.Attempts, "retry_at", next, "err", err)
	return false, s.store.MailRetry(ctx, m.ID, m.Claim, next, err.Error())
}

// backoff is the wait after the attempt-th failed attempt.
func backoff(attempt int) time.Duration {
	d := retryFirst
	for i := 1; i < attempt && d < retryMax; i++ {
		d *= 2
	}
	return min(d, retryMax)
}

// permanent reports whether the SMTP server refused the mail for good (a
// 5xx to the sender, a recipient or the content); anything else —
// connection refused, timeouts, 4xx — is worth another try.
func permanent(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() {
		return false
	}
	switch se.Reason {
	case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		return true
	}
	return false
}

// message renders m into a go-mail message: a text part and its HTML
// alternative. Its Message-ID is fixed by the row, so a mail that was
// delivered again after a crash mid-send (the SMTP server accepted it,
// the instance died before recording that) is recognisable as the same.
func (s *Sender) message(m *models.Mail, d models.MailData) (*gomail.Msg, error) {
	view := templates.MailView{Name: d.Name, Email: d.Email, NewEmail: d.NewEmail, IP: d.IP, Browser: d.Browser,
		At: d.At, Link: d.Link, Site: s.cfg.BaseURL.String(), To: m.Recipient,
		ResetTTL: words(s.cfg.Mail.PasswordResetTTL), LinkTTL: words(s.cfg.Mail.EmailLinkTTL)}
	subject, text, html, err := s.mails.Render(m.Kind, view)
	if err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.cfg.Mail.From); err != nil {
		return nil, fmt.Errorf("MAIL_FROM: %w", err)
	}
	if err := msg.To(m.Recipient); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(subject)
	msg.SetMessageIDWithValue("mail-" + strconv.FormatUint(m.ID, 10) + "-" + m.CreatedAt.UTC().Format("20060102T150405") + "@" + s.cfg.BaseURL.Hostname())
	msg.SetDateWithValue(s.now())
	msg.SetBodyString(gomail.TypeTextPlain, text)
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	return msg, nil
}

// send hands msg to the SMTP server of SMTP_URL, or, without one, writes
// it to the log (contract §6: `go run .` works with no set-up).
func (s *Sender) send(ctx context.Context, msg *gomail.Msg, m *models.Mail, d models.MailData) error {
	u := s.cfg.Mail.SMTPURL
	if u == nil {
		s.log.Info("mail (no SMTP_URL: written here instead of sent)", "to", m.Recipient, "kind", m.Kind, "link", d.Link)
		return nil
	}
	client, err := newClient(u)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	return client.DialAndSendWithContext(ctx, msg)
}

// words says a duration the way a person would ("30 minutes", "24 hours").
func words(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	default:
		return d.String()
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
