package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// The purposes of an emailed link (contract §6).
const (
	LinkReset  = "reset"  // sets a new password
	LinkVerify = "verify" // confirms the account's address
	LinkChange = "change" // confirms a new address and moves the account to it
)

// EmailLink is a link mailed to someone: the SHA-256 of its random token
// (the token itself is only in the mail), whose account, what it does,
// and until when. It is used once: UseEmailLink deletes it.
type EmailLink struct {
	ID        uint64    `gorm:"primaryKey"`
	TokenHash string    `gorm:"size:64;not null;uniqueIndex"`
	UserID    uint64    `gorm:"not null;index"`
	Purpose   string    `gorm:"size:8;not null"`
	Email     string    `gorm:"size:254;not null"` // the address the link was mailed to
	ExpiresAt time.Time `gorm:"not null;index"`
	CreatedAt time.Time `gorm:"not null"`
}

// ReplaceEmailLink stores link and deletes the user's older links of the
// same purpose in one transaction: a newer link replaces older ones.
func (s *Store) ReplaceEmailLink(ctx context.Context, link *EmailLink) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ? AND purpose = ?", link.UserID, link.Purpose).Delete(&EmailLink{}).Error; err != nil {
			return err
		}
		return tx.Create(link).Error
	})
	return failed("store link", err)
}

// EmailLinkByHash is the live link (not expired at now) with this token
// hash and one of purposes; ErrNotFound if none. It changes nothing: the
// pages a link leads to read it before their button is pressed.
func (s *Store) EmailLinkByHash(ctx context.Context, hash string, now time.Time, purposes ...string) (*EmailLink, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var l EmailLink
	err := s.db.WithContext(ctx).Where("token_hash = ? AND expires_at > ? AND purpose IN ?", hash, now.UTC(), purposes).Take(&l).Error
	if err != nil {
		return nil, failed("link", err)
	}
	return &l, nil
}

// UseEmailLink spends the live link with this token hash and one of
// purposes: it deletes it and returns it. Of two uses at once one gets
// the link and the other ErrNotFound (the delete is conditional on the
// row still being there). Call it inside Atomically with what the link
// does, so a failure there leaves the link unspent.
func (s *Store) UseEmailLink(ctx context.Context, hash string, now time.Time, purposes ...string) (*EmailLink, error) {
	l, err := s.EmailLinkByHash(ctx, hash, now, purposes...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	res := s.writeResult(ctx, func(db *gorm.DB) *gorm.DB { return db.Where("id = ?", l.ID).Delete(&EmailLink{}) })
	if res.Error != nil {
		return nil, failed("use link", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	return l, nil
}

// DeleteExpiredEmailLinks drops links that expired before now.
func (s *Store) DeleteExpiredEmailLinks(ctx context.Context, now time.Time) (int64, error) {
	return sweepRows[uint64](ctx, s, sweep{op: "sweep links", table: "email_links", key: "id",
		where: "expires_at <= ?", args: []any{now}})
}

// MarkEmailVerified marks the user's address verified, if it is still
// email (a link to an address the account has since left verifies
// nothing: ErrNotFound).
func (s *Store) MarkEmailVerified(ctx context.Context, userID uint64, email string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	res := s.writeResult(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Model(&User{}).Where("id = ? AND email = ?", userID, email).Update("email_verified", true)
	})
	if res.Error == nil && res.RowsAffected == 0 {
		var n int64
		if err := s.db.WithContext(ctx).Model(&User{}).Where("id = ? AND email = ? AND email_verified", userID, email).Count(&n).Error; err != nil {
			return failed("mark verified", err)
		}
		if n == 0 {
			return ErrNotFound
		}
	}
	return failed("mark verified", res.Error)
}

// ChangeEmail moves the user to email, verified (a confirmed address
// change), and in the same transaction deletes their reset links: a link
// mailed to the old address must not open the moved account (contract
// §9). An address in use is ErrEmailTaken.
func (s *Store) ChangeEmail(ctx context.Context, userID uint64, email string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ?", userID).
			Updates(map[string]any{"email": CanonicalEmail(email), "email_verified": true})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		if err := tx.Where("user_id = ? AND purpose = ?", userID, LinkReset).Delete(&EmailLink{}).Error; err != nil {
			return err
		}
		return reindexUser(tx, userID) // the search index follows, in the same transaction
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrEmailTaken
	}
	return failed("change email", err)
}
