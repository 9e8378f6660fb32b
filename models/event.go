package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// The kinds of security event (issue 4, item 7). Each is one row in a
// user's security log.
const (
	EventRegistered           = "registered"             // the account was created by sign-up
	EventLoginSucceeded       = "login_succeeded"        // Detail: how ("password", a provider, "registration")
	EventLoginFailed          = "login_failed"           // Detail: why ("wrong password", "account disabled")
	EventLogout               = "logout"                 //
	EventSessionRevoked       = "session_revoked"        // Detail: which session
	EventSessionsRevoked      = "sessions_revoked"       // Detail: how many, and by whom
	EventPasswordChanged      = "password_changed"       // Detail: by whom when not the user ("by the CLI")
	EventPasswordChangeFailed = "password_change_failed" // a wrong current password
	EventProviderLinked       = "provider_linked"        // Detail: the provider
	EventProviderUnlinked     = "provider_unlinked"      // Detail: the provider
	EventAdminChangedUser     = "admin_changed_user"     // Detail: what changed, and by whom
	EventRefreshTokenReused   = "refresh_token_reused"   // a spent refresh token came back; its session was ended
	EventAppAuthorized        = "app_authorized"         // Detail: the application and the scopes allowed (contract §10)
	EventAppRevoked           = "app_revoked"            // Detail: the application disconnected
	EventCodeReused           = "code_reused"            // an authorization code came back; its grant was ended

	// Two-factor authentication (contract §7).
	EventMFAEnabled               = "mfa_enabled"                // Detail: which factor
	EventMFADisabled              = "mfa_disabled"               // Detail: by whom when not the user (a reset)
	EventMFAFailed                = "mfa_failed"                 // Detail: what was wrong
	EventRecoveryCodeUsed         = "recovery_code_used"         //
	EventRecoveryCodesRegenerated = "recovery_codes_regenerated" //

	// Contract §6: email.
	EventPasswordResetRequested = "password_reset_requested" // a reset link was mailed
	EventPasswordReset          = "password_reset"           // Detail: how many sessions ended
	EventEmailVerified          = "email_verified"           // Detail: the address
	EventEmailChangeRequested   = "email_change_requested"   // Detail: the new address
	EventEmailChanged           = "email_changed"            // Detail: from which address

	// Contract §11: passkeys. A passkey login is EventLoginSucceeded
	// with Detail "passkey".
	EventPasskeyAdded          = "passkey_added"           // Detail: the passkey's name
	EventPasskeyRemoved        = "passkey_removed"         // Detail: the passkey's name
	EventPasskeyCloneSuspected = "passkey_clone_suspected" // Detail: the passkey's name; its login was refused
)

// eventLabels word the event kinds for people (the security log's pages).
var eventLabels = map[string]string{
	EventRegistered:           "Account created",
	EventLoginSucceeded:       "Logged in",
	EventLoginFailed:          "Failed login",
	EventLogout:               "Logged out",
	EventSessionRevoked:       "Session ended",
	EventSessionsRevoked:      "Sessions ended",
	EventPasswordChanged:      "Password changed",
	EventPasswordChangeFailed: "Wrong current password",
	EventProviderLinked:       "Provider linked",
	EventProviderUnlinked:     "Provider unlinked",
	EventAdminChangedUser:     "Changed by an administrator",
	EventRefreshTokenReused:   "Refresh token reused: session ended",

	EventMFAEnabled:               "Two-factor authentication turned on",
	EventMFADisabled:              "Two-factor authentication turned off",
	EventMFAFailed:                "Wrong two-factor code",
	EventRecoveryCodeUsed:         "Recovery code used",
	EventRecoveryCodesRegenerated: "New recovery codes",

	EventPasswordResetRequested: "Password reset link sent",
	EventPasswordReset:          "Password reset by email link",
	EventEmailVerified:          "Email address verified",
	EventEmailChangeRequested:   "Email change asked for",
	EventEmailChanged:           "Email address changed",

	EventPasskeyAdded:          "Passkey added",
	EventPasskeyRemoved:        "Passkey removed",
	EventPasskeyCloneSuspected: "Passkey refused: it may have been copied",
}

// EventLabel words an event kind for people; an unknown kind is shown as
// it is.
func EventLabel(kind string) string {
	if l, ok := eventLabels[kind]; ok {
		return l
	}
	return kind
}

// Event is one entry in a user's security log: what happened, when, and
// from where. A failed login for an email that matches no account is
// written under user id 0, which no one is shown: it costs the login the
// same write as a wrong password does (no timing oracle).
type Event struct {
	ID        uint64    `gorm:"primaryKey"`
	UserID    uint64    `gorm:"not null;index:idx_events_user_at,priority:1;index:idx_events_user_ip,priority:1"`
	Kind      string    `gorm:"size:32;not null"`
	IP        string    `gorm:"size:64;not null;index:idx_events_user_ip,priority:2"` // the new-login notice (SeenLogin)
	UserAgent string    `gorm:"size:512;not null"`
	At        time.Time `gorm:"not null;index:idx_events_user_at,priority:2;index;index:idx_events_user_ip,priority:3"`
	Detail    string    `gorm:"size:255;not null"`
}

// EventView is an event as clients see it.
type EventView struct {
	Kind      string    `json:"kind"`
	At        time.Time `json:"at"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Detail    string    `json:"detail"`
	Label     string    `json:"-"` // Kind worded for people (EventLabel), for pages
}

// View returns the event as clients see it.
func (e *Event) View() EventView {
	return EventView{Kind: e.Kind, At: e.At.UTC(), IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail, Label: EventLabel(e.Kind)}
}

// AddEvent writes one event: a single insert, so the log costs a login
// one round trip.
func (s *Store) AddEvent(ctx context.Context, e *Event) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.write(ctx, func(db *gorm.DB) error { return db.Create(e).Error })
	return failed("add event", err)
}

// eventsByUser is EventsByUser's query, on a statement prepared once: My
// info shows the log on every visit. Its LIMIT is a constant on purpose:
// SQLite recompiles a statement whose LIMIT is a parameter each time that
// parameter is bound; EventsByUser stops reading at the caller's limit.
const eventsByUser = `SELECT id, user_id, kind, ip, user_agent, at, detail FROM events
WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT 100`

// MaxEvents is the most events EventsByUser returns.
const MaxEvents = 100

// errEnough stops reading rows once a caller has all it asked for.
var errEnough = errors.New("enough rows")

// EventsByUser returns a user's last limit events (at most MaxEvents),
// newest first.
func (s *Store) EventsByUser(ctx context.Context, userID uint64, limit int) ([]Event, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	limit = min(limit, MaxEvents)
	out := make([]Event, 0, limit)
	err := s.query(ctx, eventsByUser, []any{userID}, func(scan func(...any) error) error {
		if len(out) == limit {
			return errEnough
		}
		var e Event
		if err := scan(&e.ID, &e.UserID, &e.Kind, &e.IP, &e.UserAgent, &e.At, &e.Detail); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if errors.Is(err, errEnough) {
		err = nil
	}
	return out, failed("list events", err)
}

// DeleteEventsBefore removes events older than before, in batches
// (sweep.go), and says how many.
func (s *Store) DeleteEventsBefore(ctx context.Context, before time.Time) (int64, error) {
	return sweepRows[uint64](ctx, s, sweep{op: "sweep events", table: "events", key: "id", where: "at < ?", args: []any{before}})
}

// loginSeen is SeenLogin's query: two EXISTS that each stop at their
// first row — the same IP on idx_events_user_ip, any login on
// idx_events_user_at.
const loginSeen = `SELECT
 EXISTS (SELECT 1 FROM events WHERE user_id = ? AND ip = ? AND user_agent = ? AND kind = ? AND at > ?),
 EXISTS (SELECT 1 FROM events WHERE user_id = ? AND at > ? AND kind = ?)`

// SeenLogin reports, in one indexed query, whether the user logged in
// from this IP and User-Agent since since (seen), and whether they logged
// in at all since then (loggedIn).
func (s *Store) SeenLogin(ctx context.Context, userID uint64, ip, userAgent string, since time.Time) (seen, loggedIn bool, err error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var a, b uint64
	since = since.UTC()
	err = s.query(ctx, loginSeen, []any{userID, ip, userAgent, EventLoginSucceeded, since, userID, since, EventLoginSucceeded},
		func(scan func(...any) error) error { return scan(&a, &b) })
	return a == 1, b == 1, failed("seen login", err)
}
