package auth

import (
	"context"
	"time"
)

// mailRetention is how long the outbox keeps a delivered or failed mail's
// row (without its data): long enough to answer "was it sent?".
const mailRetention = 7 * 24 * time.Hour

// Swept is what a sweep did to one table: how many rows it deleted, and
// why it stopped early (nil when it swept the table clean).
type Swept struct {
	Table   string
	Deleted int64
	Took    time.Duration
	Err     error
}

// Sweep deletes what has served its time: sessions that are no longer
// live (models.Session.Live), logins through a provider that were begun
// and never finished, security-log events older than EventRetention,
// login failures that have left the window, expired email links,
// delivered mail past mailRetention, refresh tokens that expired or
// whose session ended, pending 2FA logins past their time, and passkey ceremonies begun and
// never finished. serve
// runs it now and then.
//
// Each table is swept on its own (contract §13): one that fails — a
// timeout, a lock, a table another release dropped — is reported and the
// others are still swept. Each table is deleted in batches (models'
// sweepRows), so a large backlog never holds the database for long.
// Sessions go before refresh tokens, whose rows die with their session.
func (s *Service) Sweep(ctx context.Context) []Swept {
	now := s.now()
	tables := []struct {
		name  string
		sweep func() (int64, error)
	}{
		{"oauth_states", func() (int64, error) { return s.store.DeleteExpiredOAuthStates(ctx, now) }},
		{"sessions", func() (int64, error) { return s.store.DeleteDeadSessions(ctx, now, s.cfg.SessionIdleTimeout) }},
		{"events", func() (int64, error) { return s.store.DeleteEventsBefore(ctx, now.Add(-EventRetention)) }},
		// The mail throttles count over an hour (throttleMail).
		{"login_failures", func() (int64, error) {
			return s.store.DeleteFailuresBefore(ctx, now.Add(-max(s.cfg.LoginFailureWindow, mailWindow)))
		}},
		{"email_links", func() (int64, error) { return s.store.DeleteExpiredEmailLinks(ctx, now) }},
		{"mails", func() (int64, error) { return s.store.DeleteMailsBefore(ctx, now.Add(-mailRetention)) }},
		{"refresh_tokens", func() (int64, error) { return s.store.DeleteDeadRefreshTokens(ctx, now) }},
		{"pending_logins", func() (int64, error) { return s.store.DeleteExpiredPendingLogins(ctx, now) }},
		// An authorization code is kept an hour past its expiry, so a late
		// replay still ends the grant it opened (contract §10).
		{"auth_codes", func() (int64, error) { return s.store.DeleteDeadAuthCodes(ctx, now.Add(-time.Hour)) }},
		{"passkey_flows", func() (int64, error) { return s.store.DeleteExpiredPasskeyFlows(ctx, now) }},
	}
	out := make([]Swept, 0, len(tables))
	for _, t := range tables {
		start := time.Now()
		n, err := t.sweep()
		out = append(out, Swept{Table: t.name, Deleted: n, Took: time.Since(start), Err: err})
	}
	return out
}
