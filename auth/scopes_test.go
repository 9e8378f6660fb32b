package auth

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"gatehouse/models"
)

func TestSplitScopes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"only separators", " ,, \t\n", nil},
		{"one scope", "user:read", []string{"user:read"}},
		{"spaces", "user:read user:write", []string{"user:read", "user:write"}},
		{"commas", "user:read,admin:read", []string{"user:read", "admin:read"}},
		{"commas and spaces mixed", " user:read , user:write,admin:read  admin:write ", []string{"user:read", "user:write", "admin:read", "admin:write"}},
		{"tabs and newlines", "user:read\tuser:write\nadmin:read", []string{"user:read", "user:write", "admin:read"}},
		{"repeats are dropped", "user:read user:read,user:read", []string{"user:read"}},
		{"the order is kept", "admin:write user:read", []string{"admin:write", "user:read"}},
		{"unknown names are kept (ParseScopes refuses them)", "user:read superuser", []string{"user:read", "superuser"}},
		{"case is kept", "USER:READ", []string{"USER:READ"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, SplitScopes(tc.in)); diff != "" {
				t.Errorf("SplitScopes(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseScopes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     []string
		wantErr  string // part of the error; empty for none
	}{
		{"empty is no scopes", "", []string{}, ""},
		{"every scope, in display order", "admin:write,admin:read user:write user:read", AllScopes, ""},
		{"repeats are dropped", "user:read, user:read", []string{"user:read"}, ""},
		{"an unknown name", "user:read superuser", nil, `Unknown scope "superuser"`},
		{"a scope in the wrong case", "User:Read", nil, `Unknown scope "User:Read"`},
		{"a prefix of a scope", "user", nil, `Unknown scope "user"`},
		{"the error lists the known scopes", "x", nil, "user:read, user:write, admin:read, admin:write"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseScopes(tc.in)
			if tc.wantErr != "" {
				if e, ok := models.AsError(err); !ok || !strings.Contains(e.Fields["scopes"], tc.wantErr) {
					t.Fatalf("ParseScopes(%q): got error %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseScopes(%q): got error %v, want none", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseScopes(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestGrant(t *testing.T) {
	t.Parallel()
	user := []string{ScopeUserRead, ScopeUserWrite}
	cases := []struct {
		name            string
		requested, have []string
		want            []string
	}{
		{"an empty request gets all the user has", nil, user, user},
		{"an empty request by an admin gets all four", nil, AllScopes, AllScopes},
		{"a narrower request gets what it asked", []string{ScopeUserRead}, user, []string{ScopeUserRead}},
		{"asking for more than the user has never widens", []string{ScopeUserRead, ScopeAdminWrite}, user, []string{ScopeUserRead}},
		{"asking only for what the user lacks gets nothing", []string{ScopeAdminRead, ScopeAdminWrite}, user, []string{}},
		{"admin:write does not imply admin:read", []string{ScopeAdminRead}, []string{ScopeAdminWrite}, []string{}},
		{"user:write does not imply user:read", []string{ScopeUserRead}, []string{ScopeUserWrite}, []string{}},
		{"unknown names are not granted", []string{"superuser", ScopeUserRead}, []string{"superuser", ScopeUserRead}, []string{ScopeUserRead}},
		{"the answer is in display order", []string{ScopeUserWrite, ScopeUserRead}, user, user},
		{"a user without scopes gets none", nil, nil, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Grant(tc.requested, tc.have)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Grant(%q, %q) (-want +got):\n%s", tc.requested, tc.have, diff)
			}
			if got == nil {
				t.Errorf("Grant(%q, %q): got nil, want a list (it becomes JSON)", tc.requested, tc.have)
			}
		})
	}
}

func TestCallerHas(t *testing.T) {
	t.Parallel()
	c := &Caller{Scopes: []string{ScopeUserRead, ScopeAdminRead}}
	for scope, want := range map[string]bool{ScopeUserRead: true, ScopeAdminRead: true, ScopeUserWrite: false, ScopeAdminWrite: false, "": false} {
		if got := c.Has(scope); got != want {
			t.Errorf("Has(%q): got %v, want %v", scope, got, want)
		}
	}
}
