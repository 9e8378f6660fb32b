package auth

import (
	"context"
	"strings"
	"testing"
)

func TestWellFormedRefreshToken(t *testing.T) {
	issued := randomID(refreshTokenBytes)
	cases := []struct {
		name string
		raw  string
		want bool
	}{
		{"one we issue", issued, true},
		{"43 base64url characters", strings.Repeat("_", 43), true},
		{"empty", "", false},
		{"one character short", issued[:42], false},
		{"one character long", issued + "A", false},
		{"padded base64", strings.Repeat("A", 42) + "=", false},
		{"standard base64's alphabet", strings.Repeat("+", 43), false},
		{"spaces", strings.Repeat(" ", 43), false},
		{"an access token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := wellFormedRefreshToken(tc.raw); got != tc.want {
				t.Errorf("wellFormedRefreshToken(%q) = %v, want %v", tc.raw, got, tc.want)
			}
		})
	}
}

// BenchmarkRefresh times one rotation: the read of the token with its
// session and user, the conditional UPDATE and INSERT in one transaction,
// and signing the new access token (SQLite, EdDSA).
func BenchmarkRefresh(b *testing.B) {
	f := newFixture(b)
	f.createUser(b, "ada@example.com")
	tok, err := f.svc.IssueToken(context.Background(), f.login(b, "ada@example.com"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		tok, err = f.svc.Refresh(context.Background(), RefreshRequest{GrantType: "refresh_token", RefreshToken: tok.RefreshToken}, client)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshGuess times what a guessing attacker costs the server:
// a well-formed token that matches nothing is one primary-key read, and
// one of the wrong shape not even that.
func BenchmarkRefreshGuess(b *testing.B) {
	f := newFixture(b)
	for name, raw := range map[string]string{"well-formed": randomID(refreshTokenBytes), "malformed": "guess"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.svc.Refresh(context.Background(), RefreshRequest{GrantType: "refresh_token", RefreshToken: raw}, client); err != ErrInvalidGrant {
					b.Fatal(err)
				}
			}
		})
	}
}
