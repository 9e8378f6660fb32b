package auth

import (
	"fmt"
	"slices"
	"strings"

	"gatehouse/models"
)

// The scopes. None implies another (contract §4).
const (
	ScopeUserRead   = "user:read"
	ScopeUserWrite  = "user:write"
	ScopeAdminRead  = "admin:read"
	ScopeAdminWrite = "admin:write"
)

// AllScopes lists every scope, in display order.
var AllScopes = []string{ScopeUserRead, ScopeUserWrite, ScopeAdminRead, ScopeAdminWrite}

// DefaultScopes are what a new user gets.
var DefaultScopes = []string{ScopeUserRead, ScopeUserWrite}

// SplitScopes splits a scope list written with spaces or commas, dropping
// empty parts and repeats.
func SplitScopes(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if !seen[part] {
			seen[part] = true
			out = append(out, part)
		}
	}
	return out
}

// ParseScopes is SplitScopes that refuses names that are not scopes: a
// 422 on the field scopes naming the first unknown one, and the known
// ones (the one wording for the CLI, an administrator's change and the
// API).
func ParseScopes(s string) ([]string, error) {
	scopes := SplitScopes(s)
	for _, sc := range scopes {
		if !known(sc) {
			return nil, models.InvalidFields(map[string]string{
				"scopes": fmt.Sprintf("Unknown scope %q; choose from %s.", sc, strings.Join(AllScopes, ", "))})
		}
	}
	return normalize(scopes), nil
}

// Grant returns the scopes a login asking for requested gets when the user
// has have: all of have when nothing was asked, otherwise the intersection.
// Asking for a scope the user lacks simply doesn't grant it.
func Grant(requested, have []string) []string {
	if len(requested) == 0 {
		return normalize(have)
	}
	return intersect(requested, have)
}

func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if in[s] {
			out = append(out, s)
		}
	}
	return normalize(out)
}

// normalize keeps known scopes once each, in AllScopes order.
func normalize(scopes []string) []string {
	has := map[string]bool{}
	for _, s := range scopes {
		has[s] = true
	}
	out := []string{}
	for _, s := range AllScopes {
		if has[s] {
			out = append(out, s)
		}
	}
	return out
}

// joinScopes writes a scope list as a row stores it: names separated by spaces.
// keep returns the scopes of a that are in b, in a's order (for scope
// lists that hold OpenID Connect scopes, which normalize would drop).
func keep(a, b []string) []string {
	out := []string{}
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }

func known(scope string) bool {
	for _, s := range AllScopes {
		if s == scope {
			return true
		}
	}
	return false
}
