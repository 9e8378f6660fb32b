package models

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gatehouse/internal/testenv"
)

// openTestStore opens and migrates a fresh SQLite store, for benchmarks.
func openTestStore(tb testing.TB) *Store {
	tb.Helper()
	return testenv.Store(tb, Open, testenv.DatabaseURL(tb, testenv.SQLite, ""), 0)
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

// BenchmarkSeenLogin is what the new-login notice costs every login: one
// query over the user's events of the last 90 days (here 1,000 of them,
// among 100,000).
func BenchmarkSeenLogin(b *testing.B) {
	s := openTestStore(b)
	ctx := context.Background()
	now := time.Now()
	batch := make([]Event, 0, 1000)
	for i := range 100000 {
		batch = append(batch, Event{UserID: uint64(i%100 + 1), Kind: EventLoginSucceeded, IP: fmt.Sprintf("10.0.%d.%d", i/250%250, i%250),
			UserAgent: "bench", At: now.Add(-time.Duration(i) * time.Minute)})
		if len(batch) == cap(batch) {
			if err := s.db.Create(&batch).Error; err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for b.Loop() {
		if _, _, err := s.SeenLogin(ctx, 42, "192.0.2.1", "bench", now.Add(-90*24*time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
}
