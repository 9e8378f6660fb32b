package provider

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

func ptr(b bool) *bool { return &b }
