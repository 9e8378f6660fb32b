package models

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/testenv"
)

// TestClaimMailsOnce lets eight senders on two connection pools (two
// instances) claim the same due mails at once: every mail is claimed
// exactly once, and a claim that is not the holder's cannot finish it.
func TestClaimMailsOnce(t *testing.T) {
	t.Parallel()
	testenv.EachDB(t, func(t *testing.T, db string) {
		url := testenv.DatabaseURL(t, db, testenv.Binary)
		var stores [2]*Store
		for i := range stores {
			s, err := Open(url, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			stores[i] = s
		}
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		const n = 50
		for i := range n {
			if err := stores[0].Enqueue(ctx, NewMail(MailNewLogin, 1, fmt.Sprintf("u%d@example.com", i), MailData{}, now)); err != nil {
				t.Fatal(err)
			}
		}
		var (
			mu      sync.Mutex
			claimed = map[uint64]int{}
			claims  = map[uint64]string{}
		)
		testenv.FanOut(8, func(i int) {
			for {
				got, err := stores[i%2].ClaimMails(ctx, now, time.Minute, 5)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					claimed[m.ID]++
					claims[m.ID] = m.Claim
				}
				mu.Unlock()
			}
		})
		// A claim InnoDB picked to break a deadlock left its mail due: a
		// later pass takes it.
		rest, err := stores[0].ClaimMails(ctx, now, time.Minute, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range rest {
			claimed[m.ID]++
			claims[m.ID] = m.Claim
		}
		if len(claimed) != n {
			t.Errorf("claimed %d mails, want %d", len(claimed), n)
		}
		for id, k := range claimed {
			if k != 1 {
				t.Errorf("mail %d claimed %d times, want once", id, k)
			}
		}
		if err := stores[1].MailDelivered(ctx, 1, "not-the-claim", MailSent, "", now); err != ErrNotFound {
			t.Errorf("finishing with another claim: got %v, want ErrNotFound", err)
		}
		if err := stores[1].MailDelivered(ctx, 1, claims[1], MailSent, "", now); err != nil {
			t.Errorf("finishing with the claim: %v", err)
		}
		if got, _ := stores[0].ClaimMails(ctx, now.Add(2*time.Minute), time.Minute, 100); len(got) != n-1 {
			t.Errorf("after the lease: %d mails due again, want the %d unfinished", len(got), n-1)
		}
	})
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
