package models

import (
	"context"
	"testing"
	"time"
)

// TestMFAWrites: the two-factor writes keep users.mfa_enabled in step
// with the authenticator, refuse a stale set-up, and spend a code's step
// and a recovery code once.
func TestMFAWrites(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada")
		if err := s.SetPendingTOTP(ctx, ada.ID, []byte("first")); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPendingTOTP(ctx, ada.ID, []byte("second")); err != nil { // a new set-up replaces it
			t.Fatal(err)
		}
		if err := s.EnableTOTP(ctx, ada.ID, []byte("first"), 10, []string{"a", "b"}); err != ErrNotFound {
			t.Fatalf("enable with a replaced set-up: got %v, want ErrNotFound", err)
		}
		if u, _ := s.UserByID(ctx, ada.ID); u.MFAEnabled {
			t.Fatal("a refused enable turned it on")
		}
		if err := s.EnableTOTP(ctx, ada.ID, []byte("second"), 10, []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.UserByID(ctx, ada.ID); !u.MFAEnabled {
			t.Fatal("enable did not mark the user")
		}
		for _, tc := range []struct {
			step int64
			want bool
		}{{10, false}, {9, false}, {11, true}, {11, false}, {13, true}} {
			if got, err := s.UseTOTPStep(ctx, ada.ID, tc.step); err != nil || got != tc.want {
				t.Errorf("UseTOTPStep(%d) = %t, %v; want %t", tc.step, got, err, tc.want)
			}
		}
		now := time.Now().UTC()
		if ok, _ := s.UseRecoveryCode(ctx, ada.ID, "a", now); !ok {
			t.Error("a recovery code did not work")
		}
		if ok, _ := s.UseRecoveryCode(ctx, ada.ID, "a", now); ok {
			t.Error("a recovery code worked twice")
		}
		if n, _ := s.RecoveryCodesLeft(ctx, ada.ID); n != 1 {
			t.Errorf("codes left = %d, want 1", n)
		}
		if _, err := s.DisableMFA(ctx, ada.ID+100, true); err != ErrNotFound {
			t.Errorf("disable for nobody: got %v, want ErrNotFound", err)
		}
		addSession(t, s, ada.ID, "ada-1")
		ended, err := s.DisableMFA(ctx, ada.ID, true)
		if err != nil || ended != 1 {
			t.Fatalf("DisableMFA = %d, %v; want 1 session ended", ended, err)
		}
		if u, _ := s.UserByID(ctx, ada.ID); u.MFAEnabled {
			t.Error("still marked after disable")
		}
		if _, err := s.TOTPOf(ctx, ada.ID); err != ErrNotFound {
			t.Errorf("the secret after disable: %v", err)
		}
		if err := s.ReplaceRecoveryCodes(ctx, ada.ID, []string{"c"}); err != ErrNotFound {
			t.Errorf("new recovery codes while off: got %v, want ErrNotFound", err)
		}
	})
}
