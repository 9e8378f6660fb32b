package auth

import (
	"testing"
	"time"
)

// TestMatchTOTP: RFC 6238's SHA-1 test vector, and one step of drift
// either way, no more.
func TestMatchTOTP(t *testing.T) {
	t.Parallel()
	// RFC 6238 appendix B: the ASCII secret "12345678901234567890", at
	// 59 s, gives 94287082; its last 6 digits are the 6-digit code.
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	if step, ok := matchTOTP(secret, "287082", at(59)); !ok || step != 1 {
		t.Fatalf("RFC 6238 vector: step %d, ok %t; want step 1", step, ok)
	}
	if _, ok := matchTOTP(secret, "287 082", at(59)); !ok {
		t.Error("a code with a space is refused")
	}
	for _, tc := range []struct {
		now  int64
		want bool
	}{{59 + 30, true}, {59 - 30, true}, {59 + 60, false}, {59 + 90, false}} {
		if _, ok := matchTOTP(secret, "287082", at(tc.now)); ok != tc.want {
			t.Errorf("the code of step 1 at %d s: ok %t, want %t", tc.now, ok, tc.want)
		}
	}
	for _, code := range []string{"", "28708", "2870822", "abcdef"} {
		if _, ok := matchTOTP(secret, code, at(59)); ok {
			t.Errorf("code %q accepted", code)
		}
	}
}
