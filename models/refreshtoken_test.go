package models

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/testenv"
)

// addRefreshToken stores a refresh token of sessionID named hash that
// expires at expires.
func addRefreshToken(t *testing.T, s *Store, hash, sessionID string, expires time.Time) {
	t.Helper()
	err := s.CreateRefreshToken(context.Background(), &RefreshToken{TokenHash: hash, SessionID: sessionID, CreatedAt: base, ExpiresAt: expires})
	if err != nil {
		t.Fatalf("create refresh token %s: %v", hash, err)
	}
}

func TestRefreshTokenByHash(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		addSession(t, s, ada.ID, "one")
		addRefreshToken(t, s, "r1", "one", base.Add(time.Hour))
		addRefreshToken(t, s, "orphan", "gone", base.Add(time.Hour))

		sess, u, expires, spent, err := s.RefreshTokenByHash(ctx, "r1")
		if err != nil || sess.PublicID != "one" || u.ID != ada.ID || !expires.Equal(base.Add(time.Hour)) || spent {
			t.Fatalf("r1: got %v %v %v %v (%v), want session one of ada, unspent, expiring in an hour", sess, u, expires, spent, err)
		}
		for _, hash := range []string{"orphan", "unknown"} {
			if _, _, _, _, err := s.RefreshTokenByHash(ctx, hash); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: got %v, want ErrNotFound (a token is found only with its session)", hash, err)
			}
		}
		won, err := s.RotateRefreshToken(ctx, "r1", &RefreshToken{TokenHash: "r2", SessionID: "one", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}, base)
		if err != nil || !won {
			t.Fatalf("rotate: got %v (%v), want a win", won, err)
		}
		if _, _, _, spent, err := s.RefreshTokenByHash(ctx, "r1"); err != nil || !spent {
			t.Errorf("r1 after the rotation: spent %v (%v), want spent", spent, err)
		}
		won, err = s.RotateRefreshToken(ctx, "r1", &RefreshToken{TokenHash: "r3", SessionID: "one", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}, base)
		if err != nil || won {
			t.Errorf("rotating a spent token: got %v (%v), want a loss", won, err)
		}
		if _, _, _, _, err := s.RefreshTokenByHash(ctx, "r3"); !errors.Is(err, ErrNotFound) {
			t.Errorf("the loser's token was stored: %v", err)
		}
		// Ending the session ends its tokens: no row of theirs is touched.
		if err := s.DeleteSession(ctx, "one", 0); err != nil {
			t.Fatal(err)
		}
		if _, _, _, _, err := s.RefreshTokenByHash(ctx, "r2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("r2 after its session ended: got %v, want ErrNotFound", err)
		}
	})
}

// Many rotations of one token at once: exactly one wins, on each database.
func TestRotateRefreshTokenRace(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ada := addUser(t, s, "ada@example.com", "Ada")
		addSession(t, s, ada.ID, "one")
		addRefreshToken(t, s, "r", "one", base.Add(time.Hour))
		var won atomic.Int32
		testenv.FanOut(10, func(i int) {
			next := &RefreshToken{TokenHash: "next-" + string(rune('a'+i)), SessionID: "one", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
			ok, err := s.RotateRefreshToken(context.Background(), "r", next, base)
			if err != nil {
				t.Errorf("rotate %d: %v", i, err)
			}
			if ok {
				won.Add(1)
			}
		})
		if won.Load() != 1 {
			t.Errorf("%d rotations won, want exactly 1", won.Load())
		}
	})
}

func TestDeleteDeadRefreshTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		addSession(t, s, ada.ID, "one")
		now := base.Add(2 * time.Hour)
		addRefreshToken(t, s, "live", "one", now.Add(time.Minute))
		addRefreshToken(t, s, "expired", "one", now)
		addRefreshToken(t, s, "orphan", "ended", now.Add(time.Hour))
		n, err := s.DeleteDeadRefreshTokens(ctx, now)
		if err != nil || n != 2 {
			t.Errorf("swept: got %d (%v), want 2", n, err)
		}
		if _, _, _, _, err := s.RefreshTokenByHash(ctx, "live"); err != nil {
			t.Errorf("the live token was swept: %v", err)
		}
	})
}
