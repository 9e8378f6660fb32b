package auth

import (
	"strings"
	"testing"
)

// TestDisplayName checks the name a provider login gives a new account:
// the provider's, with control and format characters dropped (the user
// did not type it here, so it is cleaned rather than refused), else the
// email's local part, at most 200 characters.
func TestDisplayName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   profile
		want string
	}{
		{"a plain name is kept", profile{Name: "Ada Lovelace", Email: "ada@example.com"}, "Ada Lovelace"},
		{"escape codes are dropped", profile{Name: "Ada\x1b[2J Lovelace\r\n", Email: "ada@example.com"}, "Ada[2J Lovelace"},
		{"bidi overrides and zero-width spaces are dropped", profile{Name: "\u202eAda\u200b", Email: "ada@example.com"}, "Ada"},
		{"invalid UTF-8 is dropped", profile{Name: "Ada\xff", Email: "ada@example.com"}, "Ada"},
		{"nothing left falls back to the local part", profile{Name: "\u200b\u200b", Email: "ada@example.com"}, "ada"},
		{"no name falls back to the local part", profile{Email: "grace@example.com"}, "grace"},
		{"a long name is cut to 200 characters", profile{Name: strings.Repeat("é", 300)}, strings.Repeat("é", 200)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := displayName(tc.in); got != tc.want {
				t.Errorf("displayName(%q): got %q, want %q", tc.in.Name, got, tc.want)
			}
		})
	}
}
