package models

import (
	"context"

	"gorm.io/gorm"
)

// Renewal moves the session a password change is made from to a new id:
// the row whose token hash is Current is replaced by Replacement.
type Renewal struct {
	Current     string // the token hash of the session the change is made from
	Replacement *Session
}

// SetPasswordAndEndSessions is the one way a password changes (the web's
// change and the CLI's user passwd): in one transaction it sets the
// user's password hash and ends every one of their sessions, with the
// tokens bound to them, and their reset and address-change links. With a renewal, the session renew.Current is not
// ended but moved to renew.Replacement (a new id and token); if that
// session is already gone (revoked meanwhile) nothing changes and the
// answer is ErrNotFound. An unknown user is ErrNotFound. It says how many
// sessions ended, the renewed one not counted.
func (s *Store) SetPasswordAndEndSessions(ctx context.Context, userID uint64, hash string, renew *Renewal) (int64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var ended int64
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if renew != nil {
			res := tx.Where("token_hash = ? AND user_id = ?", renew.Current, userID).Delete(&Session{})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return gorm.ErrRecordNotFound
			}
		}
		res := tx.Model(&User{}).Where("id = ?", userID).Update("password_hash", hash)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		res = tx.Where("user_id = ?", userID).Delete(&Session{})
		if res.Error != nil {
			return res.Error
		}
		ended = res.RowsAffected
		// Links mailed for the old password die with it (contract §9): a
		// reset link, and an address-change link, which the old password
		// asked for.
		if err := tx.Where("user_id = ? AND purpose IN ?", userID, []string{LinkReset, LinkChange}).Delete(&EmailLink{}).Error; err != nil {
			return err
		}
		if renew == nil {
			return nil
		}
		return tx.Create(renew.Replacement).Error
	})
	return ended, failed("set password", err)
}

// SetPasswordHash replaces a user's password hash and nothing else: it
// upgrades the hash of the same password (new argon2id parameters). A
// changed password goes through SetPasswordAndEndSessions.
func (s *Store) SetPasswordHash(ctx context.Context, userID uint64, hash string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var n int64
	err := s.write(ctx, func(db *gorm.DB) error {
		res := db.Model(&User{}).Where("id = ?", userID).Update("password_hash", hash)
		n = res.RowsAffected
		return res.Error
	})
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return failed("set password", err)
}
