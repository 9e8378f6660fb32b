package main

import (
	"testing"

	"github.com/trustelem/zxcvbn"
)

// TestDropWordLists checks that zxcvbn judges passwords the same after
// serve has dropped its word lists.
func TestDropWordLists(t *testing.T) {
	passwords := []string{"password", "12345678", "monkey123", "correct horse battery staple", "Tq7#mZ2p"}
	before := make([]int, len(passwords))
	for i, p := range passwords {
		before[i] = zxcvbn.PasswordStrength(p, nil).Score
	}
	dropWordLists()
	for i, p := range passwords {
		if got := zxcvbn.PasswordStrength(p, nil).Score; got != before[i] {
			t.Errorf("%q: score %d after dropping the word lists, %d before", p, got, before[i])
		}
	}
	if before[0] >= 2 {
		t.Errorf(`"password" scored %d: the dictionaries are not in use`, before[0])
	}
}
