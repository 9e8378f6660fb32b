package models

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func openTestStore(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open("sqlite://"+filepath.Join(tb.TempDir(), "test.db"), 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkAddEvent is the cost the security log adds to a login: one insert.
func BenchmarkAddEvent(b *testing.B) {
	s := openTestStore(b)
	ctx := context.Background()
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		e := &Event{UserID: uint64(i%100 + 1), Kind: EventLoginSucceeded, IP: "127.0.0.1", UserAgent: "bench", At: now, Detail: "password"}
		if err := s.AddEvent(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventsByUser reads one user's last 20 events out of 100,000.
func BenchmarkEventsByUser(b *testing.B) {
	s := openTestStore(b)
	ctx := context.Background()
	now := time.Now()
	batch := make([]Event, 0, 1000)
	for i := range 100000 {
		batch = append(batch, Event{UserID: uint64(i%1000 + 1), Kind: EventLoginSucceeded, IP: "127.0.0.1", At: now.Add(time.Duration(i) * time.Second)})
		if len(batch) == cap(batch) {
			if err := s.db.Create(&batch).Error; err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for b.Loop() {
		events, err := s.EventsByUser(ctx, 42, 20)
		if err != nil || len(events) != 20 {
			b.Fatal(err, len(events))
		}
	}
}
