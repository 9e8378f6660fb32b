package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/auth"
	"gatehouse/internal/testenv"
)

// seedDeadSessions inserts n sessions of userID that ended long before
// now, in multi-row INSERTs on a plain connection (the app's own paths
// would take minutes).
func seedDeadSessions(t *testing.T, dbURL string, userID uint64, n int, now time.Time) {
	t.Helper()
	db := testenv.Plain(t, dbURL)
	seen := now.Add(-48 * time.Hour).UTC()
	const perInsert = 500
	for start := 0; start < n; start += perInsert {
		var (
			rows []string
			args []any
		)
		for i := start; i < min(start+perInsert, n); i++ {
			rows = append(rows, "(?, ?, ?, 'user:read', '192.0.2.1', 'seed', ?, ?, ?)")
			args = append(args, fmt.Sprintf("dead-hash-%d", i), fmt.Sprintf("dead-%d", i), userID, seen, seen, seen.Add(time.Hour))
		}
		_, err := db.Exec("INSERT INTO sessions (token_hash, public_id, user_id, scopes, ip, user_agent, created_at, last_seen_at, expires_at) VALUES "+
			strings.Join(rows, ", "), args...)
		if err != nil {
			t.Fatalf("seed sessions: %v", err)
		}
	}
}

// TestRequestsDuringSweep checks contract §13's promise for a large
// sweep: while 20,000 dead sessions are cleared, requests — writes
// included, which on SQLite need the one write lock — keep answering,
// because the lock is let go between batches; and the sweep clears them
// all while the live session goes on.
func TestRequestsDuringSweep(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		dbURL := freshDatabaseURL(t, db)
		app := newAppOn(t, dbURL)
		ada := app.createUser(t, "ada@example.com", "correct horse battery")
		c := app.client(t)
		tok := c.loginAPI("ada@example.com", "correct horse battery")
		const dead = 20_000
		seedDeadSessions(t, dbURL, ada.ID, dead, app.clock.Now())
		app.store.SetSweepBatch(500, 20*time.Millisecond)

		done := make(chan []auth.Swept, 1)
		go func() { done <- app.auth.Sweep(context.Background()) }()
		var (
			answered int
			slowest  time.Duration
			swept    []auth.Swept
		)
	requests:
		for i := 0; ; i++ {
			select {
			case swept = <-done:
				break requests
			default:
			}
			start := time.Now()
			c.post("/api/posts", map[string]string{"title": fmt.Sprintf("Post %d", i), "body": "during the sweep"}, bearer(tok.AccessToken)).
				wantStatus(t, http.StatusCreated)
			c.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
			c.get("/readyz").wantStatus(t, http.StatusOK)
			slowest = max(slowest, time.Since(start))
			select {
			case swept = <-done:
				break requests
			default:
				answered++ // all three answered before the sweep ended
			}
		}
		if answered < 5 {
			t.Errorf("rounds of requests answered while the sweep ran: got %d, want at least 5", answered)
		}
		// Within DB_TIMEOUT: each answered, none waited out a deadline
		// behind the sweep (a round is three requests; under -race on a
		// busy machine one took 1.6 s, so no tighter bound is kept here —
		// docs/scale.md has the latencies measured at scale).
		if slowest > app.cfg.DBTimeout {
			t.Errorf("slowest round of requests during the sweep: %v, want under DB_TIMEOUT (%v)", slowest, app.cfg.DBTimeout)
		}
		for _, s := range swept {
			if s.Err != nil {
				t.Errorf("sweep %s: %v", s.Table, s.Err)
			}
			if s.Table == "sessions" && s.Deleted != dead {
				t.Errorf("sessions swept: got %d, want %d", s.Deleted, dead)
			}
		}
		c.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
		t.Logf("%s: %d rounds answered during the sweep, slowest %v", db, answered, slowest)
	})
}
