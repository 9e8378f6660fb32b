package auth

import (
	"strings"
	"testing"

	"gatehouse/auth/provider"
)

// TestDisplayName checks the name a provider login gives a new account:
// the provider's, with control and format characters dropped (the user
// did not type it here, so it is cleaned rather than refused), else the
// email's local part, at most 200 characters.
func TestDisplayName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   provider.Profile
		want string
	}{
		{"a plain name is kept", provider.Profile{Name: "Ada Lovelace", Email: "ada@example.com"}, "Ada Lovelace"},
		{"escape codes are dropped", provider.Profile{Name: "Ada\x1b[2J Lovelace\r\n", Email: "ada@example.com"}, "Ada[2J Lovelace"},
		{"bidi overrides and zero-width spaces are dropped", provider.Profile{Name: "\u202eAda\u200b", Email: "ada@example.com"}, "Ada"},
		{"invalid UTF-8 is dropped", provider.Profile{Name: "Ada\xff", Email: "ada@example.com"}, "Ada"},
		{"nothing left falls back to the local part", provider.Profile{Name: "\u200b\u200b", Email: "ada@example.com"}, "ada"},
		{"no name falls back to the local part", provider.Profile{Email: "grace@example.com"}, "grace"},
		{"a long name is cut to 200 characters", provider.Profile{Name: strings.Repeat("é", 300)}, strings.Repeat("é", 200)},
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

func TestUsableProfile(t *testing.T) {
	cases := []struct {
		name, email  string
		verified     bool
		wantEmail    string
		wantVerified bool
	}{
		{"canonical form", "  Ada@Example.COM ", true, "ada@example.com", true},
		{"not an address", "ada", true, "", false},
		{"a display name is not an address", "Ada <ada@example.com>", true, "", false},
		{"none", "", true, "", false},
		{"unverified stays unverified", "ada@example.com", false, "ada@example.com", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := usableProfile(provider.Profile{Provider: "google", Subject: "sub", Email: tc.email, EmailVerified: tc.verified, Name: " Ada "})
			if p.Email != tc.wantEmail || p.EmailVerified != tc.wantVerified || p.Name != "Ada" {
				t.Errorf("profile = %+v, want email %q verified %v name Ada", p, tc.wantEmail, tc.wantVerified)
			}
		})
	}
}
