package main

import (
	"strings"
	"testing"
	"unicode"
)

func TestPrintable(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"a plain name prints as it is", "Ada Lovelace", "Ada Lovelace"},
		{"accents, other scripts and emoji print as they are", "Zoë 李 😀", "Zoë 李 😀"},
		{"the joiner of an emoji sequence is escaped too (a name refuses it)", "👩\u200d💻", `👩\u200d💻`},
		{"a backslash prints as it is", `C:\Users`, `C:\Users`},
		{"ESC is escaped", "Evil\x1b[2J", `Evil\x1b[2J`},
		{"an OSC title sequence is escaped", "\x1b]0;owned\a", `\x1b]0;owned\a`},
		{"NUL is escaped", "a\x00b", `a\x00b`},
		{"a tab is escaped, so it cannot split a column", "Tab\tName", `Tab\tName`},
		{"newlines and carriage returns are escaped", "one\r\ntwo", `one\r\ntwo`},
		{"DEL is escaped", "a\x7f", `a\x7f`},
		{"a C1 control (CSI) is escaped", "a\u009b31m", `a\u009b31m`},
		{"a right-to-left override is escaped", "txt.\u202eexe", `txt.\u202eexe`},
		{"bidi isolates are escaped", "\u2066x\u2069", `\u2066x\u2069`},
		{"zero-width characters are escaped", "a\u200bb\u200dc\ufeff", `a\u200bb\u200dc\ufeff`},
		{"a byte that is not UTF-8 is escaped", "a\x9bb\xff", `a\x9bb\xff`},
		{"a real U+FFFD prints as it is", "a\ufffdb", "a\ufffdb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := printable(tc.in); got != tc.want {
				t.Errorf("printable(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestPrintableEscapesEveryInvisible checks that no control or format
// character, over all of Unicode, survives printable.
func TestPrintableEscapesEveryInvisible(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !unicode.In(r, unicode.Cc, unicode.Cf) {
			continue
		}
		if got := printable("a" + string(r) + "b"); strings.ContainsRune(got, r) || !strings.HasPrefix(got, `a\`) {
			t.Errorf("printable(%U): got %q, want it escaped", r, got)
		}
	}
}
