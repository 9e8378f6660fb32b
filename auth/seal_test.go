package auth

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestSealer: a sealed value opens only under the same ENCRYPTION_KEY,
// purpose and context, and never holds its plaintext.
func TestSealer(t *testing.T) {
	t.Parallel()
	key := []byte(strings.Repeat("k", 32))
	s, err := newSealer(key, purposeTOTPSecrets)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	sealed := s.seal(plain, secretContext(1))
	if bytes.Contains(sealed, plain) {
		t.Fatal("the sealed value holds the plaintext")
	}
	if again := s.seal(plain, secretContext(1)); bytes.Equal(again, sealed) {
		t.Error("sealing twice gave the same bytes: the nonce is not random")
	}
	if got, err := s.open(sealed, secretContext(1)); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open = %q, %v; want the plaintext", got, err)
	}
	otherKey, _ := newSealer([]byte(strings.Repeat("x", 32)), purposeTOTPSecrets)
	otherPurpose, _ := newSealer(key, purposeSigningKeys)
	cases := []struct {
		name    string
		s       *sealer
		sealed  []byte
		context string
	}{
		{"another user's row", s, sealed, secretContext(2)},
		{"another ENCRYPTION_KEY", otherKey, sealed, secretContext(1)},
		{"the key of another purpose", otherPurpose, sealed, secretContext(1)},
		{"a truncated value", s, sealed[:10], secretContext(1)},
		{"nothing", s, nil, secretContext(1)},
		{"a flipped bit", s, append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1), secretContext(1)},
	}
	for _, tc := range cases {
		if _, err := tc.s.open(tc.sealed, tc.context); err != errUnsealed {
			t.Errorf("%s: open gave %v, want errUnsealed", tc.name, err)
		}
	}
	if _, err := newSealer(nil, purposeTOTPSecrets); err == nil {
		t.Error("a sealer without ENCRYPTION_KEY")
	}
}

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
