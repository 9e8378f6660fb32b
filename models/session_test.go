package models

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// base is the time sessions in these tests start at; whole seconds, so
// both databases store it exactly.
var base = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// addSession stores a session of userID whose public id is id (and whose
// token hash is derived from it), failing the test on error.
func addSession(t *testing.T, s *Store, userID uint64, id string) *Session {
	t.Helper()
	sess := &Session{TokenHash: "hash-" + id, PublicID: id, UserID: userID, Scopes: "user:read",
		IP: "192.0.2.1", UserAgent: "test", CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(12 * time.Hour)}
	if err := s.CreateSession(context.Background(), sess, ""); err != nil {
		t.Fatalf("create session %s: %v", id, err)
	}
	return sess
}

// sessionIDs lists a user's sessions' public ids, sorted.
func sessionIDs(t *testing.T, s *Store, userID uint64) []string {
	t.Helper()
	sessions, err := s.SessionsByUser(context.Background(), userID)
	if err != nil {
		t.Fatalf("sessions: %v", err)
	}
	var ids []string
	for _, sess := range sessions {
		ids = append(ids, sess.PublicID)
	}
	sort.Strings(ids)
	return ids
}

func TestDeleteUserSessions(t *testing.T) {
	cases := []struct {
		name      string
		keep      string
		wantEnded int64
		wantLeft  []string
	}{
		{"keep one: the others end", "ada-2", 2, []string{"ada-2"}},
		{"keep none: all end", "", 3, nil},
		{"keep another user's session: all of ada's end", "bob-1", 3, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, s *Store) {
				ada := addUser(t, s, "ada@example.com", "Ada")
				bob := addUser(t, s, "bob@example.com", "Bob")
				for _, id := range []string{"ada-1", "ada-2", "ada-3"} {
					addSession(t, s, ada.ID, id)
				}
				addSession(t, s, bob.ID, "bob-1")
				n, err := s.DeleteUserSessions(context.Background(), ada.ID, tc.keep)
				if err != nil {
					t.Fatal(err)
				}
				if n != tc.wantEnded {
					t.Errorf("ended: got %v, want %v", n, tc.wantEnded)
				}
				if diff := cmp.Diff(tc.wantLeft, sessionIDs(t, s, ada.ID)); diff != "" {
					t.Errorf("ada's sessions left (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]string{"bob-1"}, sessionIDs(t, s, bob.ID)); diff != "" {
					t.Errorf("bob's sessions (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestDeleteSession(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		bob := addUser(t, s, "bob@example.com", "Bob")
		addSession(t, s, ada.ID, "ada-1")
		addSession(t, s, bob.ID, "bob-1")

		if err := s.DeleteSession(ctx, "bob-1", ada.ID); err != ErrNotFound {
			t.Errorf("ada ending bob's session: got %v, want %v", err, ErrNotFound)
		}
		if diff := cmp.Diff([]string{"bob-1"}, sessionIDs(t, s, bob.ID)); diff != "" {
			t.Errorf("bob's sessions (-want +got):\n%s", diff)
		}
		if err := s.DeleteSession(ctx, "ada-1", ada.ID); err != nil {
			t.Errorf("ada ending her own: got %v, want none", err)
		}
		if err := s.DeleteSession(ctx, "ada-1", ada.ID); err != ErrNotFound {
			t.Errorf("ending it twice: got %v, want %v", err, ErrNotFound)
		}
		if err := s.DeleteSession(ctx, "bob-1", 0); err != nil {
			t.Errorf("ending any user's (userID 0): got %v, want none", err)
		}
	})
}

func TestCreateSessionReplacing(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		old := addSession(t, s, ada.ID, "old")
		addSession(t, s, ada.ID, "other")
		next := &Session{TokenHash: "hash-new", PublicID: "new", UserID: ada.ID, CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
		if err := s.CreateSession(ctx, next, old.TokenHash); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"new", "other"}, sessionIDs(t, s, ada.ID)); diff != "" {
			t.Errorf("sessions (-want +got):\n%s", diff)
		}
		if _, _, err := s.SessionByTokenHash(ctx, old.TokenHash); err != ErrNotFound {
			t.Errorf("the replaced session: got %v, want %v", err, ErrNotFound)
		}
		// A duplicate public id fails the insert and rolls back the delete.
		dup := &Session{TokenHash: "hash-dup", PublicID: "new", UserID: ada.ID, CreatedAt: base, LastSeenAt: base, ExpiresAt: base}
		if err := s.CreateSession(ctx, dup, "hash-other"); err == nil {
			t.Errorf("a duplicate public id: got no error, want one")
		}
		if diff := cmp.Diff([]string{"new", "other"}, sessionIDs(t, s, ada.ID)); diff != "" {
			t.Errorf("sessions after a failed replace (-want +got):\n%s", diff)
		}
	})
}

func TestSessionRoundTrip(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		want := addSession(t, s, ada.ID, "ada-1")
		byHash, _, err := s.SessionByTokenHash(ctx, want.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		byID, _, _, err := s.SessionByPublicID(ctx, want.PublicID, "")
		if err != nil {
			t.Fatal(err)
		}
		utc := cmp.Transformer("UTC", func(t time.Time) time.Time { return t.UTC() })
		for name, got := range map[string]*Session{"by hash": byHash, "by id": byID} {
			if diff := cmp.Diff(want, got, utc); diff != "" {
				t.Errorf("session %s (-want +got):\n%s", name, diff)
			}
		}
		later := base.Add(90 * time.Second)
		if err := s.TouchSession(ctx, want.PublicID, later); err != nil {
			t.Fatal(err)
		}
		got, _, _, _ := s.SessionByPublicID(ctx, want.PublicID, "")
		if !got.LastSeenAt.Equal(later) {
			t.Errorf("last seen: got %v, want %v", got.LastSeenAt, later)
		}
		if _, _, _, err := s.SessionByPublicID(ctx, "nope", ""); err != ErrNotFound {
			t.Errorf("unknown id: got %v, want %v", err, ErrNotFound)
		}
	})
}

func TestDeleteDeadSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		now := base.Add(2 * time.Hour)
		for _, sess := range []*Session{
			{PublicID: "fresh", LastSeenAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)},
			{PublicID: "idle", LastSeenAt: now.Add(-31 * time.Minute), ExpiresAt: now.Add(time.Hour)},
			{PublicID: "expired", LastSeenAt: now, ExpiresAt: now},
		} {
			sess.TokenHash, sess.UserID, sess.CreatedAt = "hash-"+sess.PublicID, ada.ID, base
			if err := s.CreateSession(ctx, sess, ""); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.DeleteDeadSessions(ctx, now, 30*time.Minute)
		if err != nil || n != 2 {
			t.Errorf("swept: got %d (%v), want 2", n, err)
		}
		if diff := cmp.Diff([]string{"fresh"}, sessionIDs(t, s, ada.ID)); diff != "" {
			t.Errorf("sessions left (-want +got):\n%s", diff)
		}
	})
}

func TestLoginFailures(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		window := 15 * time.Minute
		for i := range 3 {
			at := base.Add(time.Duration(i) * time.Minute)
			if _, err := s.AddAttempt(ctx, at, "acct:a", "ip:1"); err != nil {
				t.Fatal(err)
			}
		}
		cases := []struct {
			name       string
			key        string
			since      time.Time
			wantN      int64
			wantOldest time.Time
		}{
			{"all three in the window", "acct:a", base.Add(-time.Second), 3, base},
			{"a failure exactly at since has left the window", "acct:a", base, 2, base.Add(time.Minute)},
			{"the other key counts too", "ip:1", base.Add(-time.Hour), 3, base},
			{"an unknown key", "acct:b", base.Add(-time.Hour), 0, time.Time{}},
			{"nothing after the last", "acct:a", base.Add(2 * time.Minute), 0, time.Time{}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				n, oldest, err := s.CountFailures(ctx, tc.key, tc.since)
				if err != nil {
					t.Fatal(err)
				}
				if n != tc.wantN || !oldest.Equal(tc.wantOldest) {
					t.Errorf("count: got %d from %v, want %d from %v", n, oldest, tc.wantN, tc.wantOldest)
				}
			})
		}

		// A late failure, then the sweep drops the rows that left the window.
		late := base.Add(time.Hour)
		ids, err := s.AddAttempt(ctx, late, "acct:a")
		if err != nil || len(ids) != 1 {
			t.Fatalf("AddAttempt: ids %v, error %v", ids, err)
		}
		if _, err := s.DeleteFailuresBefore(ctx, late.Add(-window)); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := s.CountFailures(ctx, "acct:a", time.Time{}); n != 1 {
			t.Errorf("rows after the sweep: got %d, want 1 (the old ones pruned)", n)
		}
		if err := s.ClearFailures(ctx, "ip:1"); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := s.CountFailures(ctx, "ip:1", time.Time{}); n != 0 {
			t.Errorf("after ClearFailures: got %d, want 0", n)
		}
		if n, _, _ := s.CountFailures(ctx, "acct:a", time.Time{}); n != 1 {
			t.Errorf("another key after ClearFailures: got %d, want 1", n)
		}
		if err := s.ForgetFailures(ctx, ids); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := s.CountFailures(ctx, "acct:a", time.Time{}); n != 0 {
			t.Errorf("after ForgetFailures: got %d, want 0", n)
		}
	})
}

// TestSessionLiveness checks that the one rule of a session's life is
// kept alike by Live (callerFor), LiveSessionsByUser (the sessions list)
// and DeleteDeadSessions (the sweep), at the edges of both limits.
func TestSessionLiveness(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		idle := 30 * time.Minute
		now := base.Add(2 * time.Hour)
		sessions := []*Session{
			{PublicID: "fresh", LastSeenAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)},
			{PublicID: "idle-edge", LastSeenAt: now.Add(-idle), ExpiresAt: now.Add(time.Hour)},
			{PublicID: "idle-almost", LastSeenAt: now.Add(-idle + time.Second), ExpiresAt: now.Add(time.Hour)},
			{PublicID: "limit-edge", LastSeenAt: now, ExpiresAt: now},
			{PublicID: "limit-almost", LastSeenAt: now, ExpiresAt: now.Add(time.Second)},
		}
		var wantLive []string
		for _, sess := range sessions {
			sess.TokenHash, sess.UserID, sess.CreatedAt = "hash-"+sess.PublicID, ada.ID, base
			if err := s.CreateSession(ctx, sess, ""); err != nil {
				t.Fatal(err)
			}
			if sess.Live(now, idle) {
				wantLive = append(wantLive, sess.PublicID)
			}
		}
		sort.Strings(wantLive)
		if diff := cmp.Diff([]string{"fresh", "idle-almost", "limit-almost"}, wantLive); diff != "" {
			t.Errorf("Live (-want +got):\n%s", diff)
		}
		listed, err := s.LiveSessionsByUser(ctx, ada.ID, now, idle)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sess := range listed {
			got = append(got, sess.PublicID)
		}
		sort.Strings(got)
		if diff := cmp.Diff(wantLive, got); diff != "" {
			t.Errorf("LiveSessionsByUser against Live (-want +got):\n%s", diff)
		}
		if _, err := s.DeleteDeadSessions(ctx, now, idle); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantLive, sessionIDs(t, s, ada.ID)); diff != "" {
			t.Errorf("left by DeleteDeadSessions against Live (-want +got):\n%s", diff)
		}
	})
}

// TestSetPasswordAndEndSessions checks the one way a password changes:
// without a renewal every session ends; with one, the renewed session goes
// on under its new id and is not counted; a renewal of a session that is
// gone changes nothing.
func TestSetPasswordAndEndSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		addSession(t, s, ada.ID, "a1")
		addSession(t, s, ada.ID, "a2")
		n, err := s.SetPasswordAndEndSessions(ctx, ada.ID, "$argon2id$one", nil)
		if err != nil || n != 2 {
			t.Errorf("without a renewal: got %d (%v), want 2", n, err)
		}
		if got := sessionIDs(t, s, ada.ID); len(got) != 0 {
			t.Errorf("sessions left: got %v, want none", got)
		}
		current := addSession(t, s, ada.ID, "b1")
		addSession(t, s, ada.ID, "b2")
		next := *current
		next.TokenHash, next.PublicID = "hash-b1-new", "b1-new"
		n, err = s.SetPasswordAndEndSessions(ctx, ada.ID, "$argon2id$two", &Renewal{Current: current.TokenHash, Replacement: &next})
		if err != nil || n != 1 {
			t.Errorf("with a renewal: got %d (%v), want 1", n, err)
		}
		if diff := cmp.Diff([]string{"b1-new"}, sessionIDs(t, s, ada.ID)); diff != "" {
			t.Errorf("sessions left (-want +got):\n%s", diff)
		}
		gone := next
		gone.TokenHash, gone.PublicID = "hash-c1", "c1"
		if _, err := s.SetPasswordAndEndSessions(ctx, ada.ID, "$argon2id$three", &Renewal{Current: "hash-b1", Replacement: &gone}); err != ErrNotFound {
			t.Errorf("renewing a session that is gone: got %v, want %v", err, ErrNotFound)
		}
		if u, _ := s.UserByID(ctx, ada.ID); u.PasswordHash != "$argon2id$two" {
			t.Errorf("hash after the refused change: got %q, want %q", u.PasswordHash, "$argon2id$two")
		}
		if _, err := s.SetPasswordAndEndSessions(ctx, ada.ID+100, "x", nil); err != ErrNotFound {
			t.Errorf("nobody: got %v, want %v", err, ErrNotFound)
		}
	})
}

func TestSessionViewExpiry(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	idle := 30 * time.Minute
	cases := []struct {
		name     string
		lastSeen time.Time
		limit    time.Time
		want     time.Time
	}{
		{"the idle deadline when it comes first", start, start.Add(12 * time.Hour), start.Add(idle)},
		{"the absolute limit when it comes first", start.Add(11*time.Hour + 50*time.Minute), start.Add(12 * time.Hour), start.Add(12 * time.Hour)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sess := Session{PublicID: "p", CreatedAt: start, LastSeenAt: tc.lastSeen, ExpiresAt: tc.limit}
			v := sess.View(idle, "p")
			if !v.ExpiresAt.Equal(tc.want) || !v.Current {
				t.Errorf("expires_at = %v, current = %v; want %v, true", v.ExpiresAt, v.Current, tc.want)
			}
		})
	}
}
