package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// RefreshToken is one refresh token (contract §7): an opaque random value
// given to an API client at login, exchanged at POST /api/token for a new
// access token and a new refresh token. Only its SHA-256 is stored. It
// belongs to a session (SessionID, the session's PublicID) and is usable
// only while that session is Live: ending the session — logout,
// revocation, a password change that moves it to a new id, disabling its
// user — ends the token with it, without a row of its own being touched.
// A spent token (SpentAt set) is kept until it expires so that presenting
// it again can be recognised as reuse.
type RefreshToken struct {
	TokenHash string    `gorm:"primaryKey;size:64"`
	SessionID string    `gorm:"size:32;not null;index"`
	CreatedAt time.Time `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null;index"` // REFRESH_TOKEN_TTL, never past the session's ExpiresAt
	SpentAt   *time.Time
}

// refreshTokenByHash reads a refresh token with its session and the
// session's user in one round trip. A token whose session is gone is not
// found: its session decides whether it lives.
const refreshTokenByHash = callerColumns + `,
	r.expires_at, r.spent_at IS NOT NULL
FROM refresh_tokens r JOIN sessions s ON s.public_id = r.session_id JOIN users u ON u.id = s.user_id
WHERE r.token_hash = ?`

// RefreshTokenByHash finds the refresh token whose hash is hash, with its
// session and that session's user; ErrNotFound if there is no such token
// or its session has ended. expires is the token's own limit and spent
// says whether it has already been exchanged.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash string) (sess *Session, u *User, expires time.Time, spent bool, err error) {
	sess, u, err = s.sessionWithUser(ctx, s.caller.refreshByHash, []any{hash}, &expires, &spent)
	return sess, u, expires, spent, err
}

// CreateRefreshToken stores a new refresh token.
func (s *Store) CreateRefreshToken(ctx context.Context, t *RefreshToken) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return failed("create refresh token", s.writeResult(ctx, func(db *gorm.DB) *gorm.DB { return db.Create(t) }).Error)
}

// RotateRefreshToken spends the token whose hash is spent and stores next
// in its place, in one short transaction. The conditional UPDATE decides
// who wins when several requests present the same token at once: only
// the one whose UPDATE changes the row (spent_at was still NULL) goes on
// to store next; every other sees no row changed and gets won == false
// with nothing written — to the caller, the token was already spent. On
// MariaDB the losers wait on the winner's row lock and then see its
// commit; on SQLite writes are serialised.
func (s *Store) RotateRefreshToken(ctx context.Context, spent string, next *RefreshToken, at time.Time) (won bool, err error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err = s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&RefreshToken{}).Where("token_hash = ? AND spent_at IS NULL", spent).Update("spent_at", at)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		won = true
		return tx.Create(next).Error
	})
	if err != nil {
		return false, failed("rotate refresh token", err)
	}
	return won, nil
}

// DeleteDeadRefreshTokens removes the refresh tokens that can no longer
// be used: expired ones, and those whose session has ended (they are
// already dead — the session decides — and only take room). It says how
// many.
func (s *Store) DeleteDeadRefreshTokens(ctx context.Context, now time.Time) (int64, error) {
	return sweepRows[string](ctx, s, sweep{op: "sweep refresh tokens", table: "refresh_tokens", key: "token_hash",
		where: "expires_at <= ? OR session_id NOT IN (SELECT public_id FROM sessions)", args: []any{now}})
}
