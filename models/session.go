package models

import (
	"context"
	"database/sql"
	"time"

	"gorm.io/gorm"
)

// Session is a server-side login session. The browser's cookie carries a
// signed random token; only its SHA-256 is stored (TokenHash), so a copy of
// the table cannot be replayed as cookies. PublicID is the handle shown to
// users and put in access tokens as "sid".
type Session struct {
	TokenHash  string    `gorm:"primaryKey;size:64"`
	PublicID   string    `gorm:"size:32;not null;uniqueIndex"`
	UserID     uint64    `gorm:"not null;index"`
	Scopes     string    `gorm:"size:255;not null"` // what this login was granted
	IP         string    `gorm:"size:64;not null"`
	UserAgent  string    `gorm:"size:512;not null"`
	CreatedAt  time.Time `gorm:"not null"`
	LastSeenAt time.Time `gorm:"not null;index"`
	ExpiresAt  time.Time `gorm:"not null;index"` // the absolute limit (SESSION_MAX_AGE)
	// AuthTime is when the user last proved who they are on this session:
	// the login, or a re-authentication (contract §7). NULL on rows made
	// before it existed, which then count as not recent.
	AuthTime sql.NullTime
	// ClientID is the app (contract §10) whose grant this session is;
	// empty for Gatehouse's own logins. AMR says how the user proved who
	// they are (RFC 8176 values, space-separated), for ID tokens.
	ClientID string `gorm:"column:client_id;size:64;not null;default:'';index"`
	AMR      string `gorm:"column:amr;size:64;not null;default:''"`
}

// EndsAt is when the session stops being usable unless it is used again:
// the earlier of its idle deadline (last seen + idle) and its absolute
// limit. It is the one rule of a session's life: Live, the sessions list
// (View), the sweep (DeleteDeadSessions) and LiveSessionsByUser all follow
// it, the last two through liveSQL and deadSQL, which say the same in SQL.
func (sess *Session) EndsAt(idle time.Duration) time.Time {
	end := sess.LastSeenAt.Add(idle)
	if sess.ExpiresAt.Before(end) {
		end = sess.ExpiresAt
	}
	return end
}

// Live reports whether the session can still be used at now, with the idle
// timeout idle (SESSION_IDLE_TIMEOUT).
func (sess *Session) Live(now time.Time, idle time.Duration) bool {
	return now.Before(sess.EndsAt(idle))
}

// liveSQL and deadSQL are Live and its negation as SQL conditions, on the
// arguments liveArgs gives: now before the absolute limit, and last seen
// after now - idle.
const (
	liveSQL = "expires_at > ? AND last_seen_at > ?"
	deadSQL = "expires_at <= ? OR last_seen_at <= ?"
)

func liveArgs(now time.Time, idle time.Duration) []any {
	return []any{now, now.Add(-idle)}
}

// SessionView is the contract's session object (§2). ID is the public
// handle, never the cookie's secret.
type SessionView struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
	App        *AppRef   `json:"app,omitempty"`
}

// AppRef names the app whose grant a session is.
type AppRef struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
}

// View returns the session as the contract shows it. It expires at
// EndsAt; it is current when it is the one the caller rides on.
func (sess *Session) View(idle time.Duration, currentID string) SessionView {
	return SessionView{ID: sess.PublicID, CreatedAt: sess.CreatedAt.UTC(), LastSeenAt: sess.LastSeenAt.UTC(),
		ExpiresAt: sess.EndsAt(idle).UTC(), IP: sess.IP, UserAgent: sess.UserAgent, Current: sess.PublicID == currentID}
}

// CreateSession inserts sess; when replacing is non-empty the session with
// that token hash is deleted in the same transaction (a new login from a
// browser that was logged in ends its old session).
func (s *Store) CreateSession(ctx context.Context, sess *Session, replacing string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if replacing != "" {
			if err := tx.Where("token_hash = ?", replacing).Delete(&Session{}).Error; err != nil {
				return err
			}
		}
		return tx.Create(sess).Error
	})
	return failed("create session", err)
}

// SessionsByUser lists a user's sessions, newest first.
func (s *Store) SessionsByUser(ctx context.Context, userID uint64) ([]Session, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out []Session
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at DESC").Find(&out).Error
	return out, failed("list sessions", err)
}

// SessionByID reads one session by its public id; ErrNotFound if it is
// gone. The read is causal on Galera: a session ended through another
// node is gone here too.
func (s *Store) SessionByID(ctx context.Context, publicID string) (*Session, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var sess Session
	err := s.db.WithContext(ctx).Raw(s.causalRead("SELECT * FROM sessions WHERE public_id = ?"), publicID).Scan(&sess).Error
	if err == nil && sess.PublicID == "" {
		return nil, ErrNotFound
	}
	return &sess, failed("read session", err)
}

// TouchSession records activity on a session.
func (s *Store) TouchSession(ctx context.Context, publicID string, at time.Time) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.write(ctx, func(db *gorm.DB) error {
		return db.Model(&Session{}).Where("public_id = ?", publicID).Update("last_seen_at", at).Error
	})
	return failed("touch session", err)
}

// SetAuthTime records a re-authentication on a session; ErrNotFound if
// the session is gone.
func (s *Store) SetAuthTime(ctx context.Context, publicID string, at time.Time) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	res := s.writeResult(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Model(&Session{}).Where("public_id = ?", publicID).Update("auth_time", at)
	})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return failed("record re-authentication", res.Error)
}

// DeleteSession ends one session by its public handle. When userID is not
// zero the session must belong to that user; otherwise ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, publicID string, userID uint64) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var n int64
	err := s.write(ctx, func(db *gorm.DB) error {
		db = db.Where("public_id = ?", publicID)
		if userID != 0 {
			db = db.Where("user_id = ?", userID)
		}
		res := db.Delete(&Session{})
		n = res.RowsAffected
		return res.Error
	})
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return failed("delete session", err)
}

// DeleteUserSessions ends every session of a user except the one whose
// public id is keep (none when keep is empty) and says how many ended.
func (s *Store) DeleteUserSessions(ctx context.Context, userID uint64, keep string) (int64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var n int64
	err := s.write(ctx, func(db *gorm.DB) error {
		db = db.Where("user_id = ?", userID)
		if keep != "" {
			db = db.Where("public_id <> ?", keep)
		}
		res := db.Delete(&Session{})
		n = res.RowsAffected
		return res.Error
	})
	return n, failed("delete sessions", err)
}

// LiveSessionsByUser lists a user's sessions that are Live at now with
// the idle timeout idle, newest first. Dead rows the sweep has not reached
// yet are left out.
func (s *Store) LiveSessionsByUser(ctx context.Context, userID uint64, now time.Time, idle time.Duration) ([]Session, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out []Session
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Where(liveSQL, liveArgs(now, idle)...).
		Order("created_at DESC, public_id").Find(&out).Error
	return out, failed("list sessions", err)
}

// DeleteDeadSessions removes the sessions that are not Live at now with
// the idle timeout idle, in batches (sweep.go), and says how many.
func (s *Store) DeleteDeadSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	return sweepRows[string](ctx, s, sweep{op: "sweep sessions", table: "sessions", key: "token_hash",
		where: deadSQL, args: liveArgs(now, idle)})
}
