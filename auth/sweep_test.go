package auth

import (
	"context"
	"testing"
	"time"

	"gatehouse/internal/testenv"
	"gatehouse/models"
)

// TestSweepTablesOnTheirOwn checks that one table failing to sweep does
// not stop the others (contract §13): with the first table the sweep
// visits gone, the dead session and the old events are still swept, and
// the failure is reported for that table alone.
func TestSweepTablesOnTheirOwn(t *testing.T) {
	dbURL := testenv.DatabaseURL(t, testenv.SQLite, "")
	store, err := models.Open(dbURL, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := newFixtureOn(t, store, testenv.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)))
	f.createUser(t, "ada@example.com")
	c := f.login(t, "ada@example.com")
	f.clock.Advance(EventRetention + time.Hour) // the session is dead, the login's events are old

	if _, err := testenv.Plain(t, dbURL).Exec("DROP TABLE oauth_states"); err != nil {
		t.Fatal(err)
	}

	swept := map[string]Swept{}
	for _, s := range f.svc.Sweep(ctx) {
		swept[s.Table] = s
	}
	if swept["oauth_states"].Err == nil {
		t.Errorf("oauth_states: got no error, want the missing table's")
	}
	for _, table := range []string{"sessions", "events", "login_failures", "email_links", "mails", "refresh_tokens", "pending_logins"} {
		if err := swept[table].Err; err != nil {
			t.Errorf("%s: got %v, want it swept", table, err)
		}
	}
	if swept["sessions"].Deleted != 1 || swept["events"].Deleted == 0 {
		t.Errorf("deleted: sessions %d, events %d; want 1 and some", swept["sessions"].Deleted, swept["events"].Deleted)
	}
	if _, _, err := store.SessionByTokenHash(ctx, c.Session.TokenHash); err != models.ErrNotFound {
		t.Errorf("the dead session after the sweep: got %v, want %v", err, models.ErrNotFound)
	}
}
