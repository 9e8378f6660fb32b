package models

import (
	"strings"
	"testing"
	"unicode"
)

func TestValidateLine(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"plain text is taken", "Ada Lovelace", ""},
		{"accents, other scripts and emoji are taken", "Zoë Ødegård 李小龍 😀", ""},
		{"a right-to-left name without marks is taken", "محمد", ""},
		{"an email is taken", "ada@example.com", ""},
		{"NUL is refused", "Ada\x00", MsgInvisible},
		{"ESC is refused", "Ada\x1b[31m", MsgInvisible},
		{"a bell is refused", "Ada\a", MsgInvisible},
		{"a newline inside is refused", "Ada\nLovelace", MsgInvisible},
		{"a carriage return inside is refused", "Ada\rLovelace", MsgInvisible},
		{"a tab inside is refused", "Ada\tLovelace", MsgInvisible},
		{"DEL is refused", "Ada\x7f", MsgInvisible},
		{"a C1 control (CSI) is refused", "Ada\u009b31m", MsgInvisible},
		{"a right-to-left override is refused", "Ada\u202egnp.exe", MsgInvisible},
		{"a left-to-right embedding is refused", "\u202aAda", MsgInvisible},
		{"a first-strong isolate is refused", "Ada\u2068x\u2069", MsgInvisible},
		{"a zero-width space is refused", "Ad\u200ba", MsgInvisible},
		{"a zero-width joiner is refused", "Ad\u200da", MsgInvisible},
		{"a byte-order mark is refused", "\ufeffAda", MsgInvisible},
		{"a soft hyphen is refused", "Ada\u00adLovelace", MsgInvisible},
		{"a tag character is refused", "Ada\U000E0041", MsgInvisible},
		{"bytes that are not UTF-8 are refused", "Ada \xff", MsgInvalidUTF8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidateLine(tc.text); got != tc.want {
				t.Errorf("ValidateLine(%q): got %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestValidateBody(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"an empty body is taken", "", ""},
		{"newlines are taken", "first\nsecond\n", ""},
		{"Windows line endings are taken", "first\r\nsecond\r\n", ""},
		{"tabs are taken", "a\tb", ""},
		{"an emoji sequence joined by U+200D is taken", "👩\u200d💻 at work", ""},
		{"right-to-left marks are taken", "abc \u200fعربي\u200f", ""},
		{"NUL is refused", "a\x00b", MsgInvisible},
		{"ESC is refused", "\x1b]0;pwned\a", MsgInvisible},
		{"a vertical tab is refused", "a\vb", MsgInvisible},
		{"a form feed is refused", "a\fb", MsgInvisible},
		{"NEL (U+0085) is refused", "a\u0085b", MsgInvisible},
		{"bytes that are not UTF-8 are refused", "bad \xff byte", MsgInvalidUTF8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidateBody(tc.text); got != tc.want {
				t.Errorf("ValidateBody(%q): got %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

// TestIsInvisible checks IsInvisible is exactly Unicode's Cc and Cf, over
// every code point.
func TestIsInvisible(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		want := unicode.In(r, unicode.Cc, unicode.Cf)
		if got := IsInvisible(r); got != want {
			t.Fatalf("IsInvisible(%U): got %v, want %v", r, got, want)
		}
	}
	for _, r := range []rune{0, 0x1b, 0x7f, 0x9b, 0x200b, 0x200c, 0x200d, 0x202a, 0x202e, 0x2066, 0x2069, 0xfeff} {
		if !IsInvisible(r) {
			t.Errorf("IsInvisible(%U): got false, want true", r)
		}
	}
	if IsInvisible(' ') || IsInvisible('é') || strings.IndexFunc("Ada Lovelace", IsInvisible) >= 0 {
		t.Errorf("IsInvisible is true for ordinary text")
	}
}
