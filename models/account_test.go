package models

import (
	"context"
	"fmt"
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

// BenchmarkListUsersSearch searches 10,000 users by part of an email or name.
func BenchmarkListUsersSearch(b *testing.B) {
	s := openTestStore(b)
	ctx := context.Background()
	users := make([]User, 0, 10000)
	for i := range 10000 {
		users = append(users, User{Email: fmt.Sprintf("user%05d@example.com", i), FullName: fmt.Sprintf("Person %d", i), Scopes: "user:read"})
	}
	if err := s.db.CreateInBatches(&users, 500).Error; err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		page, total, err := s.ListUsers(ctx, "user012", 1, 20)
		if err != nil || total != 100 || len(page) != 20 {
			b.Fatal(err, total, len(page))
		}
	}
}
