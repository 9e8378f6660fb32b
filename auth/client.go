package auth

import (
	"strings"
	"unicode/utf8"
)

// Client describes where a request comes from, for throttling, the
// session list and the security log.
type Client struct {
	IP        string
	UserAgent string
}

// cliClient is where CLI actions come from in the security log.
func cliClient() Client { return Client{UserAgent: "gatehouse CLI"} }

// ip and userAgent are the client's IP and User-Agent as a row stores
// them (the columns' sizes).
func (c Client) ip() string        { return truncate(c.IP, 64) }
func (c Client) userAgent() string { return truncate(c.UserAgent, 512) }

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
