package models

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The character rules for text people type (contract §9), in one place for
// every caller: sign-up, an administrator's rename and the CLI (auth), and
// posts (here). There are two kinds of text.
//
//   - A line — a name, a post title, an email — is read on one line, in a
//     table, in a log or at a terminal. It refuses every control (Unicode
//     Cc: NUL, ESC, CR, LF, tab, BEL, the C1 controls) and format character
//     (Cf: the bidi embeddings, overrides and isolates U+202A–U+202E and
//     U+2066–U+2069, the zero-width U+200B–U+200D, U+FEFF, the soft hyphen,
//     tags): they are invisible or rewrite what is around them, so a name
//     could pass for another, or drive the terminal it is printed on.
//   - A body — a post's text — may span lines: it keeps newlines (LF, CR)
//     and tabs, and refuses every other control character. It keeps format
//     characters: emoji sequences join with U+200D and right-to-left
//     writing needs its marks, and a body is shown as a block of text of
//     its own, never inside another line.
//
// Refusing, not stripping: a stored name is exactly what was typed, so
// whoever typed it sees at once why it was not taken.

// Messages for the text rules: one wording per rule, for every field.
const (
	MsgInvalidUTF8 = "Use valid UTF-8 text."
	MsgInvisible   = "Remove the invisible or control characters."
)

// IsInvisible reports whether r is a control (Cc) or format (Cf) character:
// what a line of text refuses and what the CLI escapes before printing.
func IsInvisible(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r)
}

// ValidateLine checks one line of text (a name, a title, an email): valid
// UTF-8 without control or format characters. It returns a message for the
// field, or "". Length and emptiness are the caller's rules.
func ValidateLine(s string) string {
	switch {
	case !utf8.ValidString(s):
		return MsgInvalidUTF8
	case strings.IndexFunc(s, IsInvisible) >= 0:
		return MsgInvisible
	}
	return ""
}

// ValidateBody checks text that may span lines (a post body): valid UTF-8
// whose only control characters are LF, CR and tab; format characters are
// allowed (see the rules above). It returns a message for the field, or "".
func ValidateBody(s string) string {
	switch {
	case !utf8.ValidString(s):
		return MsgInvalidUTF8
	case strings.IndexFunc(s, isBodyControl) >= 0:
		return MsgInvisible
	}
	return ""
}

func isBodyControl(r rune) bool {
	return r != '\n' && r != '\r' && r != '\t' && unicode.Is(unicode.Cc, r)
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence,
// for a column of that size. Bytes that are not UTF-8 (a User-Agent
// header, an SMTP server's answer may carry any) become U+FFFD first:
// MySQL refuses them in a utf8mb4 column, and nothing may fail over them.
func Truncate(s string, n int) string {
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
