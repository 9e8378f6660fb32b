package models

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// deleteLog records every DELETE statement the store runs on a table and
// how many rows each removed: what the database did, not what the sweep
// says it did.
type deleteLog struct {
	mu   sync.Mutex
	rows map[string][]int64 // table → rows of each DELETE
}

func watchDeletes(t *testing.T, s *Store) *deleteLog {
	t.Helper()
	l := &deleteLog{rows: map[string][]int64{}}
	record := func(db *gorm.DB) {
		sql := db.Statement.SQL.String()
		if !strings.HasPrefix(sql, "DELETE FROM ") {
			return
		}
		table := strings.Fields(sql)[2]
		l.mu.Lock()
		l.rows[table] = append(l.rows[table], db.RowsAffected)
		l.mu.Unlock()
	}
	if err := s.db.Callback().Raw().After("gorm:raw").Register("test:deletes", record); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Callback().Delete().After("gorm:delete").Register("test:deletes", record); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *deleteLog) of(table string) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.rows[table]...)
}

// seedSessions inserts n sessions of userID, dead at now (last seen two
// hours before it, with a 30-minute idle timeout) unless live, in
// multi-row INSERTs.
func seedSessions(t *testing.T, s *Store, userID uint64, prefix string, n int, now time.Time, live bool) {
	t.Helper()
	seen := now.Add(-2 * time.Hour)
	if live {
		seen = now.Add(-time.Minute)
	}
	rows := make([]Session, n)
	for i := range rows {
		id := fmt.Sprintf("%s-%d", prefix, i)
		rows[i] = Session{TokenHash: "hash-" + id, PublicID: id, UserID: userID, Scopes: "user:read",
			IP: "192.0.2.1", UserAgent: "test", CreatedAt: seen, LastSeenAt: seen, ExpiresAt: now.Add(time.Hour)}
	}
	if err := s.db.CreateInBatches(rows, 500).Error; err != nil {
		t.Fatalf("seed sessions: %v", err)
	}
}

func countRows(t *testing.T, s *Store, table string) int64 {
	t.Helper()
	var n int64
	if err := s.db.Table(table).Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestSweepInBatches checks contract §13's batches: 20,000 dead sessions
// go in DELETE statements of at most 1,000 rows each, the live ones stay;
// and the knob sets the batch size (old events in batches of 300).
func TestSweepInBatches(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		now := base.Add(24 * time.Hour)
		idle := 30 * time.Minute
		seedSessions(t, s, ada.ID, "dead", 20_000, now, false)
		seedSessions(t, s, ada.ID, "live", 7, now, true)
		deletes := watchDeletes(t, s)
		s.SetSweepBatch(DefaultSweepBatch, 0)

		n, err := s.DeleteDeadSessions(ctx, now, idle)
		if err != nil || n != 20_000 {
			t.Fatalf("DeleteDeadSessions: got %d, %v; want 20000, nil", n, err)
		}
		if left := countRows(t, s, "sessions"); left != 7 {
			t.Errorf("sessions left: got %d, want the 7 live ones", left)
		}
		stmts := deletes.of("sessions")
		var sum int64
		for i, rows := range stmts {
			if rows > 1000 {
				t.Errorf("DELETE %d removed %d rows, want at most 1000", i, rows)
			}
			sum += rows
		}
		if len(stmts) < 20 || sum != 20_000 {
			t.Errorf("DELETE statements: got %d removing %d rows, want at least 20 removing 20000", len(stmts), sum)
		}

		events := make([]Event, 1000)
		for i := range events {
			events[i] = Event{UserID: ada.ID, Kind: EventLoginFailed, IP: "192.0.2.1", At: now.Add(-100 * 24 * time.Hour)}
		}
		if err := s.db.CreateInBatches(events, 500).Error; err != nil {
			t.Fatal(err)
		}
		s.SetSweepBatch(300, 0)
		if n, err := s.DeleteEventsBefore(ctx, now.Add(-90*24*time.Hour)); err != nil || n != 1000 {
			t.Fatalf("DeleteEventsBefore: got %d, %v; want 1000, nil", n, err)
		}
		if got := fmt.Sprint(deletes.of("events")); got != "[300 300 300 100]" {
			t.Errorf("rows of each DELETE on events: got %s, want [300 300 300 100]", got)
		}
	})
}

// TestSweepKeepsRowsThatStopMatching checks that a batch deletes only
// rows that still match when it deletes: a session touched between the
// batch's read of keys and its DELETE lives on.
func TestSweepKeepsRowsThatStopMatching(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		now := base.Add(24 * time.Hour)
		seedSessions(t, s, ada.ID, "dead", 3, now, false)
		// The DELETE a batch would run on the keys it picked, after one of
		// them was touched.
		if err := s.TouchSession(ctx, "dead-1", now); err != nil {
			t.Fatal(err)
		}
		sw := sweep{op: "sweep sessions", table: "sessions", key: "token_hash", where: deadSQL, args: liveArgs(now, 30*time.Minute)}
		del := fmt.Sprintf("DELETE FROM %s WHERE %s IN ? AND (%s)", sw.table, sw.key, sw.where)
		res := s.db.Exec(del, append([]any{[]string{"hash-dead-0", "hash-dead-1", "hash-dead-2"}}, sw.args...)...)
		if res.Error != nil || res.RowsAffected != 2 {
			t.Fatalf("delete: got %d, %v; want 2 (the touched one kept)", res.RowsAffected, res.Error)
		}
		if got := sessionIDs(t, s, ada.ID); fmt.Sprint(got) != "[dead-1]" {
			t.Errorf("sessions left: got %v, want [dead-1]", got)
		}
	})
}

// TestSweepBatchDeadlines checks that each batch has its own DB_TIMEOUT:
// a sweep that takes several times the deadline in all still clears the
// table, where one deadline over the whole sweep would cut it off.
func TestSweepBatchDeadlines(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		now := base.Add(24 * time.Hour)
		seedSessions(t, s, ada.ID, "dead", 2_000, now, false)
		s.timeout = 500 * time.Millisecond
		s.SetSweepBatch(50, 60*time.Millisecond) // 40 batches, a pause of at least 60 ms after each but the last
		start := time.Now()
		n, err := s.DeleteDeadSessions(ctx, now, 30*time.Minute)
		took := time.Since(start)
		if err != nil || n != 2_000 {
			t.Fatalf("DeleteDeadSessions: got %d, %v; want 2000, nil", n, err)
		}
		if took < 4*s.timeout {
			t.Errorf("the sweep took %v, want it longer than the deadline (%v) several times over", took, s.timeout)
		}
	})
}
