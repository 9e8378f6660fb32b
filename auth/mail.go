package auth

import (
	"context"
	"errors"
	"time"

	"gatehouse/models"
)

// The pages a mailed link opens. The route table serves them at these
// paths, so a link and its route cannot drift apart.
const (
	ResetPath  = "/auth/reset"
	VerifyPath = "/auth/verify"
)

// Notice is a notification of kind (one of the models.Mail… kinds) to
// u's address about something that came from client, ready for
// Store.Enqueue — inside the Atomically of the action it reports, so the
// notice and the action commit together:
//
//	err := s.store.Atomically(ctx, func(tx *models.Store) error {
//		// … the action, on tx …
//		return tx.Enqueue(ctx, s.Notice(u, models.MailMFAEnabled, client))
//	})
func (s *Service) Notice(u *models.User, kind string, client Client) *models.Mail {
	return models.NewMail(kind, u.ID, u.Email, models.MailData{Name: u.FullName, Email: u.Email,
		IP: client.ip(), Browser: client.userAgent(), At: s.now().UTC()}, s.now())
}

// PrepareMail completes a mail just before the outbox delivers it: it
// fills the link of the mails that carry one, making the link now, so no
// usable token ever waits in the outbox (a newer link replaces the
// account's older ones of the same purpose). A password reset mail is
// addressed to what someone typed: its account is looked up only now,
// and there is nothing to send (send false) when no enabled account has
// that address — which keeps the forgot-password request itself the same
// work for every address (ForgotPassword). A link mail whose account has
// since moved on (deleted, another address) is not sent either.
func (s *Service) PrepareMail(ctx context.Context, m *models.Mail) (data models.MailData, send bool, err error) {
	data = m.Content()
	var (
		purpose string
		path    string
		ttl     time.Duration
		u       *models.User
	)
	switch m.Kind {
	case models.MailPasswordReset:
		purpose, path, ttl = models.LinkReset, ResetPath, s.cfg.Mail.PasswordResetTTL
		u, err = s.store.UserByEmail(ctx, m.Recipient)
		if errors.Is(err, models.ErrNotFound) || (err == nil && u.Disabled) {
			return data, false, nil
		}
	case models.MailVerifyEmail:
		purpose, path, ttl = models.LinkVerify, VerifyPath, s.cfg.Mail.EmailLinkTTL
		u, err = s.store.UserByID(ctx, m.UserID)
		if err == nil && (u.Email != m.Recipient || u.EmailVerified) {
			return data, false, nil // verified meanwhile, or the address changed
		}
	case models.MailConfirmEmail:
		purpose, path, ttl = models.LinkChange, VerifyPath, s.cfg.Mail.EmailLinkTTL
		u, err = s.store.UserByID(ctx, m.UserID)
	default:
		return data, true, nil // a notice: nothing to add
	}
	if errors.Is(err, models.ErrNotFound) {
		return data, false, nil
	}
	if err != nil {
		return data, false, err
	}
	token := randomID(32) // 256 bits
	now := s.now()
	link := &models.EmailLink{TokenHash: hashToken(token), UserID: u.ID, Purpose: purpose,
		Email: m.Recipient, ExpiresAt: now.Add(ttl).UTC(), CreatedAt: now.UTC()}
	if err := s.store.ReplaceEmailLink(ctx, link); err != nil {
		return data, false, err
	}
	if m.Kind == models.MailPasswordReset {
		s.Record(ctx, u.ID, models.EventPasswordResetRequested, Client{IP: data.IP, UserAgent: data.Browser}, "")
	}
	data.Name = u.FullName
	data.Link = s.cfg.BaseURL.String() + path + "?token=" + token
	return data, true, nil
}
