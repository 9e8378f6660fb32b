package auth

import (
	"encoding/json"
	"testing"
)

func TestEmailVerifiedClaim(t *testing.T) {
	cases := []struct {
		claims string
		want   *bool // nil: not said, so /userinfo is asked
	}{
		{`{"email_verified": true}`, ptr(true)},
		{`{"email_verified": false}`, ptr(false)},
		{`{"email_verified": "true"}`, ptr(true)}, // AWS Cognito and others send a string
		{`{"email_verified": "false"}`, ptr(false)},
		{`{"email_verified": "yes"}`, ptr(false)},
		{`{"email_verified": 1}`, ptr(false)},
		{`{"email_verified": null}`, nil},
		{`{}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.claims, func(t *testing.T) {
			var c oidcClaims
			if err := json.Unmarshal([]byte(tc.claims), &c); err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == nil && c.EmailVerified != nil:
				t.Errorf("email_verified = %v, want not said", *c.EmailVerified)
			case tc.want != nil && (c.EmailVerified == nil || bool(*c.EmailVerified) != *tc.want):
				t.Errorf("email_verified = %v, want %v", c.EmailVerified, *tc.want)
			}
		})
	}
}

func TestNewProfile(t *testing.T) {
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
			p := newProfile("google", "sub", tc.email, tc.verified, " Ada ")
			if p.Email != tc.wantEmail || p.EmailVerified != tc.wantVerified || p.Name != "Ada" {
				t.Errorf("profile = %+v, want email %q verified %v name Ada", p, tc.wantEmail, tc.wantVerified)
			}
		})
	}
}

func ptr(b bool) *bool { return &b }
