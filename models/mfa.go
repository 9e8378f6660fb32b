package models

import (
	"bytes"
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// TOTP is a user's authenticator (contract §7). Its secrets are sealed by
// auth (AES-256-GCM under ENCRYPTION_KEY): the table never holds one in
// the clear. Pending is the secret of a set-up not confirmed yet; Secret
// the one in use, when two-factor authentication is on. LastStep is the
// last 30-second step whose code was accepted: a code is good once.
type TOTP struct {
	UserID   uint64 `gorm:"primaryKey;autoIncrement:false"`
	Secret   []byte `gorm:"size:255"`
	Pending  []byte `gorm:"size:255"`
	LastStep int64  `gorm:"not null;default:0"`
}

// TableName keeps GORM from calling the table "totps".
func (TOTP) TableName() string { return "totp_secrets" }

// RecoveryCode is one single-use recovery code, kept only as a keyed
// digest (auth/seal's Digester).
type RecoveryCode struct {
	ID       uint64     `gorm:"primaryKey"`
	UserID   uint64     `gorm:"not null;uniqueIndex:idx_recovery_user_code,priority:1"`
	CodeHash string     `gorm:"size:64;not null;uniqueIndex:idx_recovery_user_code,priority:2"`
	UsedAt   *time.Time // nil until used
}

// PendingLogin is a browser's password login waiting for its second
// factor (/auth/2fa): found by the SHA-256 of the token in its own cookie,
// for a few minutes and a few tries. PasswordProof is a digest of the
// user's password hash when the password was checked, so a password
// changed in between ends it.
type PendingLogin struct {
	TokenHash     string    `gorm:"primaryKey;size:64"`
	UserID        uint64    `gorm:"not null;index"`
	Scopes        string    `gorm:"size:255;not null"`
	Next          string    `gorm:"size:2048;not null"` // as long as localPathOr allows
	PasswordProof string    `gorm:"size:64;not null"`
	Tries         int       `gorm:"not null;default:0"`
	ExpiresAt     time.Time `gorm:"not null;index"`
}

// TOTPOf returns userID's authenticator row; ErrNotFound if none.
func (s *Store) TOTPOf(ctx context.Context, userID uint64) (*TOTP, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var t TOTP
	if err := s.db.WithContext(ctx).Take(&t, userID).Error; err != nil {
		return nil, failed("read totp", err)
	}
	return &t, nil
}

// SetPendingTOTP keeps the sealed secret of a new set-up, replacing any
// earlier set-up not confirmed; the secret in use (if any) stays until
// EnableTOTP.
func (s *Store) SetPendingTOTP(ctx context.Context, userID uint64, sealed []byte) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.writeResult(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "user_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"pending"}),
		}).Create(&TOTP{UserID: userID, Pending: sealed})
	}).Error
	return failed("set up totp", err)
}

// EnableTOTP turns two-factor authentication on for userID, in one
// transaction: the pending secret — still the one the code was checked
// against, else ErrNotFound — becomes the secret in use, step is spent
// (the code that confirmed it cannot log in), the recovery codes are
// replaced by codeHashes, and the user is marked. It is the one write of
// "2FA turned on"; a notification belongs in the same transaction.
func (s *Store) EnableTOTP(ctx context.Context, userID uint64, pending []byte, step int64, codeHashes []string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var t TOTP
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&t, userID).Error; err != nil {
			return err
		}
		if t.Pending == nil || !bytes.Equal(t.Pending, pending) {
			return ErrNotFound // another set-up replaced it meanwhile
		}
		err := tx.Model(&TOTP{}).Where("user_id = ?", userID).
			Updates(map[string]any{"secret": pending, "pending": nil, "last_step": step}).Error
		if err != nil {
			return err
		}
		if err := replaceRecoveryCodes(tx, userID, codeHashes); err != nil {
			return err
		}
		return tx.Model(&User{}).Where("id = ?", userID).Update("mfa_enabled", true).Error
	})
	return failed("enable totp", err)
}

// DisableMFA turns two-factor authentication off for userID in one
// transaction: the authenticator, the recovery codes and the pending
// logins go, and the user is marked. With endSessions (an
// administrator's reset) every session of the user ends too, and it says
// how many. It is the one write of "2FA turned off"; a notification
// belongs in the same transaction. An unknown user is ErrNotFound.
func (s *Store) DisableMFA(ctx context.Context, userID uint64, endSessions bool) (int64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var ended int64
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ?", userID).Update("mfa_enabled", false)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			// MySQL counts changed rows only: tell "no such user" from "already off".
			var n int64
			if err := tx.Model(&User{}).Where("id = ?", userID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return ErrNotFound
			}
		}
		for _, table := range []any{&TOTP{}, &RecoveryCode{}, &PendingLogin{}} {
			if err := tx.Where("user_id = ?", userID).Delete(table).Error; err != nil {
				return err
			}
		}
		if endSessions {
			res := tx.Where("user_id = ?", userID).Delete(&Session{})
			ended = res.RowsAffected
			return res.Error
		}
		return nil
	})
	return ended, failed("disable mfa", err)
}

// UseTOTPStep spends step for userID's authenticator: true when it is
// later than every step spent before (one UPDATE, so two requests racing
// with the same code cannot both win), false for a replay.
func (s *Store) UseTOTPStep(ctx context.Context, userID uint64, step int64) (bool, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	res := s.writeResult(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Model(&TOTP{}).
			Where("user_id = ? AND secret IS NOT NULL AND last_step < ?", userID, step).
			Update("last_step", step)
	})
	return res.RowsAffected == 1, failed("use totp code", res.Error)
}

// UseRecoveryCode spends userID's unused recovery code with digest
// codeHash at now: true when there was one (one UPDATE: a code is good
// once, even when two requests race with it).
func (s *Store) UseRecoveryCode(ctx context.Context, userID uint64, codeHash string, now time.Time) (bool, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	res := s.writeResult(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Model(&RecoveryCode{}).
			Where("user_id = ? AND code_hash = ? AND used_at IS NULL", userID, codeHash).
			Update("used_at", now)
	})
	return res.RowsAffected == 1, failed("use recovery code", res.Error)
}

// ReplaceRecoveryCodes voids userID's recovery codes and keeps
// codeHashes instead, while two-factor authentication is on (else
// ErrNotFound).
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID uint64, codeHashes []string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&u, userID).Error; err != nil {
			return err
		}
		if !u.MFAEnabled {
			return ErrNotFound
		}
		return replaceRecoveryCodes(tx, userID, codeHashes)
	})
	return failed("replace recovery codes", err)
}

func replaceRecoveryCodes(tx *gorm.DB, userID uint64, codeHashes []string) error {
	if err := tx.Where("user_id = ?", userID).Delete(&RecoveryCode{}).Error; err != nil {
		return err
	}
	rows := make([]RecoveryCode, len(codeHashes))
	for i, h := range codeHashes {
		rows[i] = RecoveryCode{UserID: userID, CodeHash: h}
	}
	if len(rows) == 0 {
		return nil
	}
	return tx.Create(&rows).Error
}

// RecoveryCodesLeft counts userID's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID uint64) (int64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var n int64
	err := s.db.WithContext(ctx).Model(&RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error
	return n, failed("count recovery codes", err)
}

// CreatePendingLogin keeps a login waiting for its second factor.
func (s *Store) CreatePendingLogin(ctx context.Context, p *PendingLogin) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return failed("create pending login", s.writeResult(ctx, func(db *gorm.DB) *gorm.DB { return db.Create(p) }).Error)
}

// PendingLoginByHash returns the pending login with token hash, if it is
// still good at now and has tries left (fewer than maxTries); ErrNotFound
// otherwise.
func (s *Store) PendingLoginByHash(ctx context.Context, hash string, now time.Time, maxTries int) (*PendingLogin, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var p PendingLogin
	err := s.db.WithContext(ctx).Where("token_hash = ? AND expires_at > ? AND tries < ?", hash, now, maxTries).Take(&p).Error
	if err != nil {
		return nil, failed("read pending login", err)
	}
	return &p, nil
}

// TryPendingLogin spends one of a pending login's tries, before its code
// is checked (so concurrent guesses cannot share one try): the login as it
// stands afterwards, or ErrNotFound when it is gone, expired at now, or
// had no try left (maxTries).
func (s *Store) TryPendingLogin(ctx context.Context, hash string, now time.Time, maxTries int) (*PendingLogin, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var p PendingLogin
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&PendingLogin{}).Where("token_hash = ? AND expires_at > ? AND tries < ?", hash, now, maxTries).
			Update("tries", gorm.Expr("tries + 1"))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Where("token_hash = ?", hash).Take(&p).Error
	})
	if err != nil {
		return nil, failed("try pending login", err)
	}
	return &p, nil
}

// DeletePendingLogin ends a pending login (it succeeded, or ran out of
// tries); false when it was already gone — another request finished it.
func (s *Store) DeletePendingLogin(ctx context.Context, hash string) (bool, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	res := s.writeResult(ctx, func(db *gorm.DB) *gorm.DB { return db.Where("token_hash = ?", hash).Delete(&PendingLogin{}) })
	return res.RowsAffected == 1, failed("delete pending login", res.Error)
}

// DeleteExpiredPendingLogins removes the pending logins past their time
// at now, and says how many.
func (s *Store) DeleteExpiredPendingLogins(ctx context.Context, now time.Time) (int64, error) {
	return sweepRows[string](ctx, s, sweep{op: "sweep pending logins", table: "pending_logins", key: "token_hash",
		where: "expires_at <= ?", args: []any{now}})
}
