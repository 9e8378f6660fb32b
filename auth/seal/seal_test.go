package seal

import (
	"bytes"
	"strings"
	"testing"
)

// TestSealer: a sealed value opens only under the same ENCRYPTION_KEY,
// purpose and context, and never holds its plaintext.
func TestSealer(t *testing.T) {
	t.Parallel()
	key := []byte(strings.Repeat("k", 32))
	s, err := New(key, TOTPSecrets)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	sealed := s.Seal(plain, "totp\x001")
	if bytes.Contains(sealed, plain) {
		t.Fatal("the sealed value holds the plaintext")
	}
	if again := s.Seal(plain, "totp\x001"); bytes.Equal(again, sealed) {
		t.Error("sealing twice gave the same bytes: the nonce is not random")
	}
	if got, err := s.Open(sealed, "totp\x001"); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open = %q, %v; want the plaintext", got, err)
	}
	otherKey, _ := New([]byte(strings.Repeat("x", 32)), TOTPSecrets)
	otherPurpose, _ := New(key, SigningKeys)
	cases := []struct {
		name    string
		s       *Sealer
		sealed  []byte
		context string
	}{
		{"another user's row", s, sealed, "totp\x002"},
		{"another ENCRYPTION_KEY", otherKey, sealed, "totp\x001"},
		{"the key of another purpose", otherPurpose, sealed, "totp\x001"},
		{"a truncated value", s, sealed[:10], "totp\x001"},
		{"nothing", s, nil, "totp\x001"},
		{"a flipped bit", s, append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1), "totp\x001"},
	}
	for _, tc := range cases {
		if _, err := tc.s.Open(tc.sealed, tc.context); err != ErrUnsealed {
			t.Errorf("%s: open gave %v, want ErrUnsealed", tc.name, err)
		}
	}
	if _, err := New(nil, TOTPSecrets); err == nil {
		t.Error("a sealer without ENCRYPTION_KEY")
	}
}

// TestDigester: a digest is the same for the same value, purpose and
// ENCRYPTION_KEY, and differs when any of them does.
func TestDigester(t *testing.T) {
	t.Parallel()
	key := []byte(strings.Repeat("k", 32))
	d, err := NewDigester(key, RecoveryCodes)
	if err != nil {
		t.Fatal(err)
	}
	sum := d.Digest("abcd-efgh")
	if len(sum) != 64 || d.Digest("abcd-efgh") != sum {
		t.Fatalf("Digest = %q, then %q; want the same 64 hex digits", sum, d.Digest("abcd-efgh"))
	}
	otherKey, _ := NewDigester([]byte(strings.Repeat("x", 32)), RecoveryCodes)
	otherPurpose, _ := NewDigester(key, TOTPSecrets)
	for name, got := range map[string]string{
		"another value":          d.Digest("abcd-efgi"),
		"another ENCRYPTION_KEY": otherKey.Digest("abcd-efgh"),
		"another purpose":        otherPurpose.Digest("abcd-efgh"),
	} {
		if got == sum {
			t.Errorf("%s: the same digest", name)
		}
	}
	if _, err := NewDigester(nil, RecoveryCodes); err == nil {
		t.Error("a digester without ENCRYPTION_KEY")
	}
}
