package models

import (
	"context"
	"fmt"
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
		asEarlierRelease(t, s)
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"elodie@example.fr"}, search("dupont")); diff != "" {
			t.Errorf("after Migrate filled the index (-want +got):\n%s", diff)
		}
	})
}

// TestSearchManyMatches checks a search with more matches than it counts
// (CountCap): the total says "at least 10,000", and a walk by Next in id
// order still gives every match exactly once — across a long stretch of
// ids with no match (walkWindow), through pages that end early — and
// then ends.
func TestSearchManyMatches(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var batch []User
		for i := range CountCap + 5 {
			batch = append(batch, User{Email: fmt.Sprintf("many%05d@example.com", i), FullName: "Many", Scopes: "user:read"})
			if len(batch) == 200 || i == CountCap+4 { // small batches: each must finish within DB_TIMEOUT, also under -race
				if _, err := s.ImportUsers(ctx, batch, false); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		late := User{ID: 3*walkWindow + 17, Email: "many-late@example.com", FullName: "Many Late", Scopes: "user:read"}
		if err := s.db.Create(&late).Error; err != nil {
			t.Fatal(err)
		}
		if err := insertTerms(s.db, []User{late}); err != nil {
			t.Fatal(err)
		}
		addUser(t, s, "other@example.com", "Someone Else") // after the late one, and no match

		q := UserQuery{Q: "many", Limit: 100}
		seen := map[uint64]bool{}
		var last uint64
		for pages := 0; ; pages++ {
			if pages > 200 {
				t.Fatal("the walk did not end")
			}
			page, err := s.ListUsers(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != CountCap || page.TotalExact {
				t.Fatalf("total: got %d (exact %v), want %d, not exact", page.Total, page.TotalExact, CountCap)
			}
			for _, u := range page.Users {
				if u.ID <= last || seen[u.ID] {
					t.Fatalf("user %d after %d: out of order or twice", u.ID, last)
				}
				seen[u.ID], last = true, u.ID
			}
			if page.Next == 0 {
				break
			}
			q.After = page.Next
		}
		if len(seen) != CountCap+6 || !seen[late.ID] {
			t.Errorf("the walk saw %d users (the late one: %v), want %d", len(seen), seen[late.ID], CountCap+6)
		}
		page, err := s.ListUsers(ctx, UserQuery{Q: "many", Offset: 9_900, Limit: 100})
		if err != nil || len(page.Users) != 100 || page.Users[0].Email != "many09900@example.com" {
			t.Errorf("the last page paging reaches: %d users from %v (%v)", len(page.Users), page.Users, err)
		}
		all, err := s.ListUsers(ctx, UserQuery{Limit: 10})
		if err != nil || all.Total != CountCap || all.TotalExact || all.Next != all.Users[9].ID {
			t.Errorf("every user: total %d exact %v next %d (%v)", all.Total, all.TotalExact, all.Next, err)
		}
	})
}
