package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// OAuthState is a login through a provider that has begun and not yet
// come back. It lives server-side (so it works behind a load balancer and
// never overflows a cookie) and is used once. Hash is the SHA-256 of the
// state value sent to the provider; the value itself is never stored.
// BindingHash is the SHA-256 of the browser's binding cookie, so only the
// browser that began the login can finish it.
type OAuthState struct {
	Hash        string    `gorm:"primaryKey;size:64"`
	Provider    string    `gorm:"size:32;not null"`
	Verifier    string    `gorm:"size:128;not null"` // the PKCE code_verifier
	Nonce       string    `gorm:"size:128;not null"` // expected in the ID token (OIDC)
	Next        string    `gorm:"size:2048;not null"`
	BindingHash string    `gorm:"size:64;not null"`
	LinkUserID  uint64    `gorm:"not null;default:0"` // not 0: link to this user instead of logging in
	CreatedAt   time.Time `gorm:"not null"`
	ExpiresAt   time.Time `gorm:"not null;index"`
}

// TableName is "oauth_states" (GORM would say "o_auth_states").
func (OAuthState) TableName() string { return "oauth_states" }

// CreateOAuthState stores a begun login.
func (s *Store) CreateOAuthState(ctx context.Context, st *OAuthState) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.write(ctx, func(db *gorm.DB) error { return db.Create(st).Error })
	return failed("create oauth state", err)
}

// ConsumeOAuthState takes the state with hash out of the table and returns
// it; ErrNotFound if there is none. Of two requests racing with the same
// state only the one whose DELETE removed the row gets it, on both
// databases, so a state is used at most once.
func (s *Store) ConsumeOAuthState(ctx context.Context, hash string) (*OAuthState, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var st OAuthState
	if err := s.db.WithContext(ctx).Where("hash = ?", hash).Take(&st).Error; err != nil {
		return nil, failed("oauth state", err)
	}
	n, err := s.deleteWhere(ctx, &OAuthState{}, "hash = ?", hash)
	if err != nil {
		return nil, failed("consume oauth state", err)
	}
	if n != 1 {
		return nil, ErrNotFound
	}
	return &st, nil
}

// DeleteExpiredOAuthStates removes logins begun and never finished, and
// says how many.
func (s *Store) DeleteExpiredOAuthStates(ctx context.Context, now time.Time) (int64, error) {
	return sweepRows[string](ctx, s, sweep{op: "sweep oauth states", table: "oauth_states", key: "hash",
		where: "expires_at <= ?", args: []any{now}})
}
