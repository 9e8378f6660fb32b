package models

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"time"

	"gorm.io/gorm"
)

// The states of a mail in the outbox.
const (
	MailPending = "pending" // waiting for its first delivery or a retry
	MailSent    = "sent"    // accepted by the SMTP server (or written to the log)
	MailFailed  = "failed"  // refused for good, or still undelivered after the retry limit
)

// Mail is one message in the outbox (contract §6): written in the same
// transaction as the action that causes it, delivered by a background
// sender. It holds what the mail is about (Kind, Data), never its
// rendered text: the sender renders it when it delivers, and a mail with
// a link gets its link then (see auth.Service.PrepareMail), so no usable
// token ever waits in this table.
//
// DueAt is both the schedule and the lease: a sender claims a due mail by
// moving DueAt past the time its delivery may take (ClaimMails, a
// conditional UPDATE), so another instance skips it; a sender that dies
// mid-send leaves a mail that falls due again when the lease runs out.
type Mail struct {
	ID        uint64    `gorm:"primaryKey"`
	UserID    uint64    `gorm:"not null;default:0"` // 0: no account is known yet (a forgot-password request)
	Recipient string    `gorm:"size:254;not null"`
	Kind      string    `gorm:"size:32;not null"`
	Data      string    `gorm:"type:text;not null"` // MailData as JSON
	State     string    `gorm:"size:8;not null;index:idx_mails_state_due,priority:1"`
	DueAt     time.Time `gorm:"not null;index:idx_mails_state_due,priority:2"`
	Attempts  int       `gorm:"not null;default:0"`
	Claim     string    `gorm:"size:32;not null;default:''"` // the claim of the sender delivering it
	LastError string    `gorm:"size:255;not null;default:''"`
	CreatedAt time.Time `gorm:"not null;index"`
	SentAt    *time.Time
}

// MailData is what a mail's templates may show. Each kind uses some of it.
type MailData struct {
	Name     string    `json:"name,omitempty"`      // the account's name
	Email    string    `json:"email,omitempty"`     // the account's address when the mail was asked for
	NewEmail string    `json:"new_email,omitempty"` // an address change's new address
	IP       string    `json:"ip,omitempty"`        // where the action came from
	Browser  string    `json:"browser,omitempty"`   // its User-Agent
	At       time.Time `json:"at,omitzero"`         // when it happened
	Link     string    `json:"-"`                   // filled at delivery, never stored
}

// NewMail is a mail of kind to recipient about data, due at once.
func NewMail(kind string, userID uint64, recipient string, data MailData, now time.Time) *Mail {
	raw, _ := json.Marshal(data) // plain strings and a time: cannot fail
	return &Mail{UserID: userID, Recipient: recipient, Kind: kind, Data: string(raw),
		State: MailPending, DueAt: now.UTC(), CreatedAt: now.UTC()}
}

// Content decodes the mail's data.
func (m *Mail) Content() MailData {
	var d MailData
	_ = json.Unmarshal([]byte(m.Data), &d) // written by NewMail
	return d
}

// Enqueue adds mail to the outbox. Inside Atomically it commits or rolls
// back with the action that caused it.
func (s *Store) Enqueue(ctx context.Context, mail *Mail) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if mail.State == "" {
		mail.State = MailPending
	}
	return failed("enqueue mail", s.writeResult(ctx, func(db *gorm.DB) *gorm.DB { return db.Create(mail) }).Error)
}

// ClaimMails claims up to limit mails that are due at now for one
// delivery each, and returns them. Each claim is a conditional UPDATE
// that moves the mail's DueAt to now+lease: of several senders that saw
// the same mail due, the first UPDATE wins and the others match no row
// (InnoDB's row lock makes them re-read it; SQLite has one writer), so no
// mail is delivered twice. The winner's Claim must be shown to finish it
// (MailDelivered, MailRetry). A sender that dies holding a claim loses it
// when the lease ends, and the mail is delivered then.
func (s *Store) ClaimMails(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	now = now.UTC()
	var ids []uint64
	err := s.db.WithContext(ctx).Model(&Mail{}).Where("state = ? AND due_at <= ?", MailPending, now).
		Order("due_at").Limit(limit).Pluck("id", &ids).Error
	if err != nil {
		return nil, failed("due mails", err)
	}
	var claimed []Mail
	for _, id := range ids {
		claim := rand.Text()[:24]
		res := s.db.WithContext(ctx).Model(&Mail{}).
			Where("id = ? AND state = ? AND due_at <= ?", id, MailPending, now).
			Updates(map[string]any{"due_at": now.Add(lease), "claim": claim, "attempts": gorm.Expr("attempts + 1")})
		if rolledBack(res.Error) {
			// InnoDB chose this claim to break a deadlock with another
			// sender's on the (state, due_at) index: the statement was
			// rolled back, so the mail stays due for whoever wins.
			continue
		}
		if res.Error != nil {
			return claimed, failed("claim mail", res.Error)
		}
		if res.RowsAffected == 0 {
			continue // another sender was first
		}
		var m Mail
		if err := s.db.WithContext(ctx).Take(&m, id).Error; err != nil {
			return claimed, failed("claimed mail", err)
		}
		claimed = append(claimed, m)
	}
	return claimed, nil
}

// MailDelivered records that the mail under claim was delivered (state
// sent) or refused for good (state failed, with why). Its data is cleared
// either way: the outbox keeps that a mail went out, not what it said.
// A claim that was lost meanwhile (the lease ran out) changes nothing and
// is ErrNotFound.
func (s *Store) MailDelivered(ctx context.Context, id uint64, claim, state, why string, at time.Time) error {
	return s.finishMail(ctx, id, claim, map[string]any{"state": state, "sent_at": at.UTC(), "data": "{}",
		"last_error": Truncate(why, 255), "claim": ""})
}

// MailRetry puts the mail under claim back in the queue, due at due, with
// the error that stopped it.
func (s *Store) MailRetry(ctx context.Context, id uint64, claim string, due time.Time, why string) error {
	return s.finishMail(ctx, id, claim, map[string]any{"due_at": due.UTC(), "last_error": Truncate(why, 255), "claim": ""})
}

func (s *Store) finishMail(ctx context.Context, id uint64, claim string, updates map[string]any) error {
	ctx, cancel := s.deadline(context.WithoutCancel(ctx)) // a delivery happened: record it even while shutting down
	defer cancel()
	res := s.writeResult(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Model(&Mail{}).Where("id = ? AND claim = ?", id, claim).Updates(updates)
	})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return failed("finish mail", res.Error)
}

// MailsTo lists the mails to recipient, oldest first (tests and the
// operator's view of what was sent).
func (s *Store) MailsTo(ctx context.Context, recipient string) ([]Mail, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var mails []Mail
	err := s.db.WithContext(ctx).Where("recipient = ?", CanonicalEmail(recipient)).Order("id").Find(&mails).Error
	return mails, failed("mails to", err)
}

// DeleteMailsBefore drops delivered and failed mails made before before.
func (s *Store) DeleteMailsBefore(ctx context.Context, before time.Time) (int64, error) {
	return sweepRows[uint64](ctx, s, sweep{op: "sweep mails", table: "mails", key: "id",
		where: "state <> ? AND created_at < ?", args: []any{MailPending, before}})
}

// The kinds of mail (contract §6). A kind is a template pair under
// templates/mail (KIND.txt, KIND.html); adding a notice is one line here
// plus those two files (templates_test renders every kind).
const (
	MailPasswordReset    = "password_reset"         // the reset link; the account is looked up at delivery
	MailVerifyEmail      = "verify_email"           // the link that verifies the account's address
	MailConfirmEmail     = "confirm_email"          // an address change: the link, to the new address
	MailEmailChangeAsked = "email_change_requested" // an address change: the notice to the old address
	MailPasswordChanged  = "password_changed"       // the password changed, any way
	MailNewLogin         = "new_login"              // a login from a browser and IP not seen in 90 days
	MailMFAEnabled       = "mfa_enabled"            // two-factor authentication turned on
	MailMFADisabled      = "mfa_disabled"           // two-factor authentication turned off (by the user or a reset)
	MailCodesLocked      = "codes_locked"           // too many wrong second-factor codes: codes are refused for a while
	MailDropped          = "dropped"                // a state: nothing to send (a reset for an unknown address)
)
