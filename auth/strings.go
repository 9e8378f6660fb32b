package auth

import (
	"strings"
	"unicode/utf8"
)

func cutSpace(s string) (before, after string, found bool) {
	before, after, found = strings.Cut(strings.TrimSpace(s), " ")
	return before, strings.TrimSpace(after), found
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
// Bytes that are not UTF-8 (a User-Agent header may carry any) become
// U+FFFD first: MySQL refuses them in a utf8mb4 column, and a login must
// not fail over its User-Agent.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
