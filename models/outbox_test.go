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
			stores[i] = testenv.Store(t, Open, url, 0)
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
