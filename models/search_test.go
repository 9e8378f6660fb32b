package models

import (
	"context"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSearchTerms(t *testing.T) {
	cases := []struct {
		email, name string
		want        []string
	}{
		{"ada@example.com", "Ada King", []string{"ada@example.com", "ada king", "king"}},
		{"ADA@Example.com", "  Ada   Lovelace\tByron ", []string{"ada@example.com", "ada lovelace byron", "lovelace byron", "byron"}},
		{"jl@example.com", "Jean-Luc O'Neil", []string{"jl@example.com", "jean-luc o'neil", "luc o'neil", "o'neil", "neil"}},
		{"e@example.com", "ÉLODIE Dupont", []string{"e@example.com", "Élodie dupont", "dupont"}}, // ASCII letters only are folded
		{"x@example.com", "x@example.com", []string{"x@example.com", "example.com", "com"}},      // the name's first tail is the email: once
		{"p@example.com", "100% sure", []string{"p@example.com", "100% sure", "sure"}},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, searchTerms(tc.email, tc.name)); diff != "" {
			t.Errorf("searchTerms(%q, %q) (-want +got):\n%s", tc.email, tc.name, diff)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	cases := map[string]string{
		"ada": "adb", "a": "b", "z": "{", "é": "ê", "": "",
		"a\U0010FFFF": "b", "\U0010FFFF": "", "x\uD7FF": "x\uE000",
	}
	for p, want := range cases {
		if got := prefixEnd(p); got != want {
			t.Errorf("prefixEnd(%q) = %q, want %q", p, got, want)
		}
	}
}

// TestSearchUsers checks the search's meaning (contract §13) on both
// databases, and that the index follows every change of email or name in
// the transaction that makes it, and is filled by Migrate for users made
// before it.
func TestSearchUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ada := addUser(t, s, "ada@example.com", "Ada Lovelace")
		grace := addUser(t, s, "grace@navy.mil", "Grace HOPPER")
		addUser(t, s, "adam@example.org", "Adam Smith")
		addUser(t, s, "elodie@example.fr", "Élodie Ada-Dupont")
		search := func(q string) []string {
			t.Helper()
			page, err := s.ListUsers(ctx, UserQuery{Q: q, Limit: 100})
			if err != nil {
				t.Fatalf("ListUsers(%q): %v", q, err)
			}
			got := []string{}
			for _, u := range page.Users {
				got = append(got, u.Email)
			}
			if page.Total != int64(len(got)) {
				t.Errorf("q=%q: total %d, want %d", q, page.Total, len(got))
			}
			return got
		}
		cases := []struct {
			q    string
			want []string
		}{
			{"ada", []string{"ada@example.com", "adam@example.org", "elodie@example.fr"}}, // emails, first and later words
			{"ADA@", []string{"ada@example.com"}},
			{"hopper", []string{"grace@navy.mil"}},
			{"HoP", []string{"grace@navy.mil"}},
			{"navy", []string{}},  // the middle of an email
			{"opper", []string{}}, // the middle of a word
			{"ada love", []string{"ada@example.com"}},
			{"ada  LOVE", []string{"ada@example.com"}},
			{"dupont", []string{"elodie@example.fr"}},
			{"élodie", []string{}}, // É is not an ASCII letter: not folded
			{"Élodie", []string{"elodie@example.fr"}},
			{strconv.FormatUint(grace.ID, 10), []string{"grace@navy.mil"}},
			{"99999", []string{}},
			{"%", []string{}},
			{"", []string{"ada@example.com", "grace@navy.mil", "adam@example.org", "elodie@example.fr"}},
		}
		for _, tc := range cases {
			if diff := cmp.Diff(tc.want, search(tc.q)); diff != "" {
				t.Errorf("q=%q (-want +got):\n%s", tc.q, diff)
			}
		}

		name := "Augusta King"
		if _, err := s.ApplyUserChanges(ctx, ada.ID, UserChanges{FullName: &name}); err != nil {
			t.Fatal(err)
		}
		if err := s.ChangeEmail(ctx, grace.ID, "admiral@navy.mil"); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string][]string{
			"love": {}, "king": {"ada@example.com"}, "augusta k": {"ada@example.com"},
			"grace@": {}, "admiral": {"admiral@navy.mil"}, "grace": {"admiral@navy.mil"}, // the name stayed
		} {
			if diff := cmp.Diff(want, search(q)); diff != "" {
				t.Errorf("after the changes, q=%q (-want +got):\n%s", q, diff)
			}
		}

		// Users from before the index: Migrate fills it.
		if err := s.db.Exec("DELETE FROM user_search_terms WHERE user_id >= ?", grace.ID).Error; err != nil {
			t.Fatal(err)
		}
		if got := search("dupont"); len(got) != 0 {
			t.Fatalf("with its terms gone: %v", got)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"elodie@example.fr"}, search("dupont")); diff != "" {
			t.Errorf("after Migrate filled the index (-want +got):\n%s", diff)
		}
	})
}
