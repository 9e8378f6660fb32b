package auth

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"gatehouse/models"
)

// FuzzEmail checks email normalisation on any input (contract §9): the
// canonical form is stable, lower-cases only ASCII letters and changes
// nothing else; an address that passes ValidateEmail is valid UTF-8, NFKC
// and free of control and format characters; and two different accepted
// addresses never share a canonical form unless they differ only in
// ASCII case.
func FuzzEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", "ADA@Example.COM", "ALİCE@example.com", "alice@example.com",
		"ａｄａ@example.com", "ad\u200ba@example.com", "\u202eada@example.com", "  ada@example.com ",
		"ﬁ@example.com", "K@example.com", "\u212a@example.com", "a@b", "", "\xff@example.com", "josé@example.com"} {
		f.Add(s, strings.ToUpper(s))
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ca := models.CanonicalEmail(a)
		if models.CanonicalEmail(ca) != ca {
			t.Fatalf("CanonicalEmail is not stable on %q", a)
		}
		trimmed := strings.TrimSpace(a)
		if len(ca) != len(trimmed) {
			t.Fatalf("CanonicalEmail(%q) = %q changed the length", a, ca)
		}
		for i := 0; i < len(ca); i++ {
			x, y := trimmed[i], ca[i]
			if x != y && !('A' <= x && x <= 'Z' && y == x+'a'-'A') {
				t.Fatalf("CanonicalEmail(%q) = %q changed byte %d beyond ASCII case", a, ca, i)
			}
		}
		if ValidateEmail(a) == "" {
			if !utf8.ValidString(ca) || !norm.NFKC.IsNormalString(ca) || strings.IndexFunc(ca, models.IsInvisible) >= 0 {
				t.Fatalf("ValidateEmail accepted %q", a)
			}
		}
		if ValidateEmail(a) == "" && ValidateEmail(b) == "" && ca == models.CanonicalEmail(b) &&
			asciiOnlyFold(strings.TrimSpace(a)) != asciiOnlyFold(strings.TrimSpace(b)) {
			t.Fatalf("%q and %q are one account", a, b)
		}
	})
}

// asciiOnlyFold lower-cases A–Z alone, the only folding two addresses of
// one account may differ by.
func asciiOnlyFold(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
