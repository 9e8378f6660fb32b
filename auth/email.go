package auth

import (
	"context"
	"errors"
	"strconv"
	"time"

	"gatehouse/models"
)

// Email failures (contract §5 and §6).
var (
	ErrInvalidLink = &models.Error{Kind: models.BadRequest, Code: "invalid_link",
		Detail: "This link is not valid: it is unknown, has been used already or has expired."}
	// ErrEmailNotVerified refuses a password login while
	// REQUIRE_VERIFIED_EMAIL is on and the account's address is not
	// verified (after the password verified).
	ErrEmailNotVerified = &models.Error{Kind: models.Forbidden, Code: "unverified_email",
		Detail: "Confirm your email address first: follow the link we sent you."}
	errTooManyMails = &models.Error{Kind: models.TooManyRequests, Code: "too_many_attempts",
		Detail: "Too many requests for mail; try again later."}
)

// Mail throttles (contract §6): per address or account, per hour.
const (
	mailsPerHour = 3
	mailWindow   = time.Hour
)

// ForgotSent is the one answer to a forgot-password request, whether the
// address has an account or not.
const ForgotSent = "If that address has an account, we have sent it a link to reset the password"

// ForgotPassword asks for a password reset link for email. Whether the
// address has an account is decided only when the mail is delivered
// (PrepareMail), so the request does exactly the same work for every
// address — two throttle rows, two counts and one outbox row — and its
// answer (nil) tells nothing (contract §6). At most 3 requests per
// address per hour and LOGIN_MAX_FAILURES_PER_IP per client IP within
// LOGIN_FAILURE_WINDOW, then 429; a refused request is not counted.
func (s *Service) ForgotPassword(ctx context.Context, email string, client Client) error {
	email = models.CanonicalEmail(email)
	if msg := ValidateEmail(email); msg != "" {
		return models.InvalidFields(map[string]string{"email": msg})
	}
	if err := s.throttleMail(ctx, client, "forgot:"+hashToken(email), "forgot-ip:"+client.IP); err != nil {
		return err
	}
	now := s.now()
	return s.store.Enqueue(ctx, models.NewMail(models.MailPasswordReset, 0, email,
		models.MailData{Email: email, IP: client.ip(), Browser: client.userAgent(), At: now.UTC()}, now))
}

// throttleMail counts one request under key (at most mailsPerHour an
// hour) and, when ipKey is set, under it (the login's per-IP limit and
// window). Over either limit it is 429 and the request is not counted.
func (s *Service) throttleMail(ctx context.Context, client Client, key string, ipKey ...string) error {
	limits := []limit{{key, mailsPerHour, mailWindow}}
	for _, k := range ipKey {
		limits = append(limits, limit{k, s.cfg.LoginMaxFailuresPerIP, s.cfg.LoginFailureWindow})
	}
	_, err := s.countAttempt(ctx, limits...)
	return reworded(err, errTooManyMails)
}

// CheckLink reports whether token is a live link for one of purposes,
// without spending it: the pages a mailed link opens ask for a click
// before anything changes (a mail scanner that follows links changes
// nothing). Unknown, used or expired: ErrInvalidLink.
func (s *Service) CheckLink(ctx context.Context, token string, purposes ...string) error {
	_, err := s.LinkAddress(ctx, token, purposes...)
	return err
}

// LinkAddress is CheckLink answering the address the link was mailed to,
// for the page that asks its reader to confirm that address. Nothing is
// spent.
func (s *Service) LinkAddress(ctx context.Context, token string, purposes ...string) (string, error) {
	l, err := s.emailLink(ctx, s.store, token, false, purposes...)
	if err != nil {
		return "", err
	}
	return l.Email, nil
}

// emailLink finds (or, with use, spends) the live link of token on store.
func (s *Service) emailLink(ctx context.Context, store *models.Store, token string, use bool, purposes ...string) (*models.EmailLink, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrInvalidLink
	}
	find := store.EmailLinkByHash
	if use {
		find = store.UseEmailLink
	}
	l, err := find(ctx, hashToken(token), s.now(), purposes...)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidLink
	}
	return l, err
}

// LinkReset is a new password through a mailed reset link.
type LinkReset struct {
	Token       string `json:"token" form:"token"`
	NewPassword string `json:"new_password" form:"new_password"`
}

// ResetPasswordWithLink sets a new password through a reset link
// (contract §6): the sign-up rules apply (422); the link is spent; like
// every password change (setPassword) it ends every session of the user,
// with their tokens, and mails the password-changed notice; it marks the
// address verified (the link proved it) and works for an account that
// had no password. It is not a login.
func (s *Service) ResetPasswordWithLink(ctx context.Context, in LinkReset, client Client) error {
	l, err := s.emailLink(ctx, s.store, in.Token, false, models.LinkReset)
	if err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, l.UserID)
	if errors.Is(err, models.ErrNotFound) || (err == nil && u.Email != l.Email) {
		// A link is bound to the address it was mailed to: once the account
		// has moved, whoever reads the old mailbox must not own it
		// (contract §9; the move also deletes the link, Store.ChangeEmail).
		return ErrInvalidLink
	}
	if err != nil {
		return err
	}
	if u.Disabled {
		return ErrInactiveUser
	}
	if msg := validateNewPassword(in.NewPassword, u.Email, u.FullName); msg != "" {
		return models.InvalidFields(map[string]string{"new_password": msg})
	}
	_, ended, err := s.setPassword(ctx, u, in.NewPassword, nil, client, func(tx *models.Store) error {
		if _, err := s.emailLink(ctx, tx, in.Token, true, models.LinkReset); err != nil {
			return err // spent by a concurrent reset meanwhile
		}
		// The account's other reset links go with the password
		// (Store.SetPasswordAndEndSessions). Not found: it moved meanwhile.
		if err := tx.MarkEmailVerified(ctx, u.ID, l.Email); errors.Is(err, models.ErrNotFound) {
			return ErrInvalidLink
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.Record(ctx, u.ID, models.EventPasswordReset, client, sessionsEnded(ended, false))
	return nil
}

// LinkToken is the body of POST /api/email/verify.
type LinkToken struct {
	Token string `json:"token" form:"token"`
}

// VerifyEmail spends a verification or address-change link (contract
// §6). A verification link marks the address it was sent to verified (if
// the account still has it); an address-change link moves the account to
// the new address, verified — 409 email_taken if someone has taken it
// meanwhile, and the link stays unspent. It says which it was.
func (s *Service) VerifyEmail(ctx context.Context, in LinkToken, client Client) (changed bool, err error) {
	var l *models.EmailLink
	var old *models.User
	err = s.store.Atomically(ctx, func(tx *models.Store) error {
		if l, err = s.emailLink(ctx, tx, in.Token, true, models.LinkVerify, models.LinkChange); err != nil {
			return err
		}
		if l.Purpose == models.LinkVerify {
			if err := tx.MarkEmailVerified(ctx, l.UserID, l.Email); errors.Is(err, models.ErrNotFound) {
				return ErrInvalidLink
			} else if err != nil {
				return err
			}
			return nil
		}
		if old, err = tx.UserByID(ctx, l.UserID); err != nil {
			return err
		}
		return tx.ChangeEmail(ctx, l.UserID, l.Email)
	})
	if errors.Is(err, models.ErrNotFound) {
		return false, ErrInvalidLink // the account is gone
	}
	if err != nil {
		return false, err
	}
	if l.Purpose == models.LinkVerify {
		s.Record(ctx, l.UserID, models.EventEmailVerified, client, l.Email)
		return false, nil
	}
	s.Record(ctx, l.UserID, models.EventEmailChanged, client, "from "+old.Email+" to "+l.Email)
	return true, nil
}

// ResendVerification mails the caller a new verification link (a newer
// link replaces the older one), at most 3 times an hour, then 429. An
// address that is verified already gets nothing (sent false).
func (s *Service) ResendVerification(ctx context.Context, c *Caller, client Client) (sent bool, err error) {
	if c.User.EmailVerified {
		return false, nil
	}
	if err := s.throttleMail(ctx, client, "resend:"+strconv.FormatUint(c.User.ID, 10)); err != nil {
		return false, err
	}
	u := c.User
	return true, s.store.Enqueue(ctx, models.NewMail(models.MailVerifyEmail, u.ID, u.Email,
		models.MailData{Name: u.FullName, Email: u.Email}, s.now()))
}

// EmailChange is a signed-in user's request to move their account to
// another address.
type EmailChange struct {
	NewEmail        string `json:"new_email" form:"new_email"`
	CurrentPassword string `json:"current_password" form:"current_password"`
}

// ChangeEmail asks for the caller's account to move to in.NewEmail
// (contract §6). An account with a password proves it with the current
// one (wrong: 422 on current_password, counted as a failed login); one
// without needs a recent authentication (RequireRecentAuth). An address
// in use is 409 email_taken. At most 3 requests per account an hour
// (429), counted before the address is looked up. Nothing changes yet: in one transaction a
// link goes out to the new address (VerifyEmail completes the change)
// and a notice to the old one.
func (s *Service) ChangeEmail(ctx context.Context, c *Caller, in EmailChange, client Client) error {
	u := c.User
	newEmail := models.CanonicalEmail(in.NewEmail)
	fields := map[string]string{}
	if msg := ValidateEmail(newEmail); msg != "" {
		fields["new_email"] = msg
	} else if newEmail == u.Email {
		fields["new_email"] = "This is your address already."
	}
	if u.PasswordHash != "" && in.CurrentPassword == "" {
		fields["current_password"] = "Enter your current password."
	}
	if len(fields) > 0 {
		return models.InvalidFields(fields)
	}
	if u.PasswordHash == "" {
		if err := s.RequireRecentAuth(c); err != nil {
			return err
		}
	} else if err := s.checkCurrentPassword(ctx, u, in.CurrentPassword, client); err != nil {
		return err
	}
	// Counted before the address is looked up: each answer says whether
	// an address has an account, so each request counts.
	if err := s.throttleMail(ctx, client, "change-email:"+strconv.FormatUint(u.ID, 10)); err != nil {
		return err
	}
	if _, err := s.store.UserByEmail(ctx, newEmail); err == nil {
		taken := *models.ErrEmailTaken
		taken.Fields = map[string]string{"new_email": taken.Detail}
		return &taken
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	confirm := models.NewMail(models.MailConfirmEmail, u.ID, newEmail,
		models.MailData{Name: u.FullName, Email: u.Email, NewEmail: newEmail, IP: client.ip(), Browser: client.userAgent(), At: s.now().UTC()}, s.now())
	notice := s.Notice(u, models.MailEmailChangeAsked, client)
	notice.Data = confirm.Data // the old address is told the new one
	err := s.store.Atomically(ctx, func(tx *models.Store) error {
		if err := tx.Enqueue(ctx, confirm); err != nil {
			return err
		}
		return tx.Enqueue(ctx, notice)
	})
	if err != nil {
		return err
	}
	s.Record(ctx, u.ID, models.EventEmailChangeRequested, client, newEmail)
	return nil
}
