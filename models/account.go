package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// SessionView is the contract's session object (§2). ID is the public
// handle, never the cookie's secret. Browser is for pages only.
type SessionView struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// View returns the session as the contract shows it. It expires at the
// earlier of its idle deadline (last seen + idle) and its absolute limit;
// it is current when it is the one the caller rides on.
func (sess *Session) View(idle time.Duration, currentID string) SessionView {
	expires := sess.LastSeenAt.Add(idle)
	if sess.ExpiresAt.Before(expires) {
		expires = sess.ExpiresAt
	}
	return SessionView{ID: sess.PublicID, CreatedAt: sess.CreatedAt.UTC(), LastSeenAt: sess.LastSeenAt.UTC(),
		ExpiresAt: expires.UTC(), IP: sess.IP, UserAgent: sess.UserAgent, Current: sess.PublicID == currentID}
}

// ChangePassword sets a user's password hash and, in the same
// transaction, ends every one of their sessions and puts replacement in
// place of the session whose token hash is current (the caller's, under
// a new id). It says how many other sessions ended. If the current
// session is already gone (revoked meanwhile), nothing changes and the
// answer is ErrNotFound.
func (s *Store) ChangePassword(ctx context.Context, userID uint64, hash, current string, replacement *Session) (int64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var ended int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("token_hash = ? AND user_id = ?", current, userID).Delete(&Session{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		res = tx.Model(&User{}).Where("id = ?", userID).Update("password_hash", hash)
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
		return tx.Create(replacement).Error
	})
	return ended, failed("change password", err)
}

// UserChanges are an administrator's changes to a user; nil fields stay
// as they are.
type UserChanges struct {
	FullName *string
	Disabled *bool
	Scopes   *string // space-separated
}

// UpdateUser applies changes to a user in one transaction; disabling also
// ends every session of the user there, so their cookies and tokens stop
// working at once. A change that would leave no enabled user with
// admin:write is ErrLastAdmin and changes nothing (changeUser). It returns
// the user as stored afterwards.
func (s *Store) UpdateUser(ctx context.Context, userID uint64, ch UserChanges) (*User, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var u User
	mayDemote := ch.Scopes != nil || (ch.Disabled != nil && *ch.Disabled)
	err := s.changeUser(ctx, "update user", mayDemote, func(tx *gorm.DB) error {
		updates := map[string]any{}
		if ch.FullName != nil {
			updates["full_name"] = *ch.FullName
		}
		if ch.Disabled != nil {
			updates["disabled"] = *ch.Disabled
		}
		if ch.Scopes != nil {
			updates["scopes"] = *ch.Scopes
		}
		if len(updates) > 0 {
			if err := tx.Model(&User{}).Where("id = ?", userID).Updates(updates).Error; err != nil {
				return err
			}
		}
		if ch.Disabled != nil && *ch.Disabled {
			if err := tx.Where("user_id = ?", userID).Delete(&Session{}).Error; err != nil {
				return err
			}
		}
		return tx.Take(&u, userID).Error
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// ActiveSessionsByUser lists a user's sessions that can still be used —
// before their absolute limit and last seen after idleBefore — newest
// first. Dead rows the sweep has not reached yet are left out.
func (s *Store) ActiveSessionsByUser(ctx context.Context, userID uint64, now, idleBefore time.Time) ([]Session, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out []Session
	err := s.db.WithContext(ctx).Where("user_id = ? AND expires_at > ? AND last_seen_at > ?", userID, now, idleBefore).
		Order("created_at DESC, public_id").Find(&out).Error
	return out, failed("list sessions", err)
}
