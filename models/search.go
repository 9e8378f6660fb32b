package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// The user search (contract §13): q matches a user whose email starts
// with q, whose name has a word that starts with q (ASCII letters
// case-folded in both), or whose id is q — answered from an index, never
// by reading every user.
//
// Neither database can answer "a word of the name starts with q" from an
// index on users itself, and the two have no full-text search in common,
// so the index is a table of its own, user_search_terms: for each user,
// the email and every tail of the name that starts at a word ("ada
// lovelace byron", "lovelace byron", "byron"), folded (searchTerms). A
// search is then one range of its (term, user_id) index: term ≥ q and
// term < q's successor (prefixEnd) — a prefix match in byte order, which
// is code point order on both databases (SQLite's BINARY collation,
// MariaDB's utf8mb4_bin), so no LIKE, no collation and no case function
// stands between the query and the index. The tails let a query of
// several words ("ada love") match too.
//
// The terms are rewritten in the same transaction as every write of a
// user's email or name (reindexUser: CreateUser, CreateUserWithIdentity,
// ApplyUserChanges, ChangeEmail, ImportUsers), so the index is never
// behind the users it describes. Version 2 of the migrations
// (migrate_adopt.go) fills it once for users made
// before it existed (fillSearchTerms).

// SearchTerm is one row of the search index: a folded term and the user
// it leads to.
type SearchTerm struct {
	UserID uint64 `gorm:"primaryKey;autoIncrement:false;index:idx_user_search_terms_term,priority:2"`
	Term   string `gorm:"primaryKey;size:254;index:idx_user_search_terms_term,priority:1"`
}

// TableName is "user_search_terms".
func (SearchTerm) TableName() string { return "user_search_terms" }

// maxTerm bounds a term, in characters (the column's size).
const maxTerm = 254

// foldSearch is how terms and queries are compared: ASCII letters
// lower-cased (as CanonicalEmail; Unicode case mapping would merge
// strings that differ), runs of white space made one space, trimmed.
func foldSearch(s string) string {
	return strings.Join(strings.Fields(CanonicalEmail(s)), " ")
}

// searchTerms returns the search index's terms of a user with email and
// name: the email, and each tail of the folded name that starts at a word
// (a letter or digit after anything else), without repeats.
func searchTerms(email, name string) []string {
	terms := []string{clip(CanonicalEmail(email))}
	name = foldSearch(name)
	inWord := false
	for i, r := range name {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		if word && !inWord {
			if t := clip(name[i:]); t != terms[0] && !containsString(terms, t) {
				terms = append(terms, t)
			}
		}
		inWord = word
	}
	return terms
}

// clip cuts s to maxTerm characters: a longer prefix still matches.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxTerm {
		return s
	}
	n := 0
	for i := range s {
		if n == maxTerm {
			return s[:i]
		}
		n++
	}
	return s
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// prefixEnd returns the least string greater than every string that
// starts with p: p with its last character moved on by one (characters
// that cannot move on are dropped first). "" means there is none: every
// string from p on matches.
func prefixEnd(p string) string {
	for p != "" {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		switch {
		case r == utf8.MaxRune || r == utf8.RuneError:
			continue
		case r == 0xD7FF: // the surrogates are no characters
			return p + string(rune(0xE000))
		default:
			return p + string(r+1)
		}
	}
	return ""
}

// reindexUser rewrites the search terms of user id from its row, in tx:
// the one way the index follows a change of email or name.
func reindexUser(tx *gorm.DB, id uint64) error {
	var u User
	if err := tx.Select("id", "email", "full_name").Take(&u, id).Error; err != nil {
		return err
	}
	if err := tx.Where("user_id = ?", id).Delete(&SearchTerm{}).Error; err != nil {
		return err
	}
	return insertTerms(tx, []User{u})
}

// insertTerms adds the search terms of users (new to the index) in tx.
func insertTerms(tx *gorm.DB, users []User) error {
	rows := make([]SearchTerm, 0, 3*len(users))
	for _, u := range users {
		for _, t := range searchTerms(u.Email, u.FullName) {
			rows = append(rows, SearchTerm{UserID: u.ID, Term: t})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return tx.CreateInBatches(rows, 500).Error
}

// fillSearchTerms indexes the users that have no search terms yet because
// they were made before the index existed (or a fill was interrupted):
// those with an id above the highest indexed one — every write since
// indexes its user at once, so there are none below — a thousand at a
// time, each batch its own transaction on MySQL (small write sets on a
// cluster; on SQLite the batches are savepoints in the migration's one).
// When the index is complete it costs two index lookups.
func fillSearchTerms(db *gorm.DB) error {
	db = db.Session(&gorm.Session{NewDB: true}) // each statement from a clean slate
	var from uint64
	if err := db.Raw("SELECT COALESCE(MAX(user_id), 0) FROM user_search_terms").Scan(&from).Error; err != nil {
		return err
	}
	for {
		var users []User
		if err := db.Select("id", "email", "full_name").Where("id > ?", from).Order("id").Limit(1000).Find(&users).Error; err != nil {
			return err
		}
		if len(users) == 0 {
			return nil
		}
		if err := db.Transaction(func(tx *gorm.DB) error { return insertTerms(tx, users) }); err != nil {
			return err
		}
		from = users[len(users)-1].ID
	}
}

// UserQuery asks for one page of users (contract §3 and §13): those q
// matches (every user when q is empty), in id order, after the user with
// id After, skipping Offset of them.
type UserQuery struct {
	Q      string
	After  uint64
	Offset int
	Limit  int
}

// UserPage is one page of a user search: the users; how many match in
// all, counted up to CountCap (TotalExact false: more than that); and
// Next, the id the following page starts after (0: this is the last).
// A page of a search whose matches are far apart may hold fewer than
// Limit users and still have a Next (see walkWindow); only Next 0 ends.
type UserPage struct {
	Users      []User
	Total      int64
	TotalExact bool
	Next       uint64
}

// CountCap is how far a search counts its matches, and how far page ×
// per_page reaches (contract §13; the handlers refuse more). Counting
// costs as many index entries as it counts — a quarter of a second for a
// million on SQLite — so a search stops where paging stops and says the
// total is at least that.
const CountCap = 10_000

// walkWindow is how many ids a search with more than CountCap matches
// reads for one page after a cursor. Such a search walks users in id
// order and asks the index about each (the matches are many, so the walk
// finds a page soon); where the matches thin out, the window keeps one
// request from walking a million users in vain: the page then ends early
// with a Next at the window's end.
const walkWindow = 50_000

// ListUsers answers a user search (UserQuery) from the search index:
//
//   - the count: at most CountCap+1 distinct users from the range of
//     user_search_terms' (term, user_id) index that q names (or of users'
//     primary key when q is empty);
//   - with at most CountCap matches, the page is read through the id list
//     that range gives (no more than CountCap ids);
//   - with more, users are walked in id order from the cursor, each
//     probed on the index's (user_id, term) primary key, within
//     walkWindow ids.
func (s *Store) ListUsers(ctx context.Context, uq UserQuery) (UserPage, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	db := s.db.WithContext(ctx)
	m := matchUsers(uq.Q)
	var page UserPage
	count := fmt.Sprintf("SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT %d) c", CountCap+1)
	if m.terms != "" {
		count = fmt.Sprintf("SELECT COUNT(*) FROM (SELECT DISTINCT user_id FROM user_search_terms WHERE %s LIMIT %d) c", m.terms, CountCap+1)
	}
	if err := db.Raw(count, m.args...).Scan(&page.Total).Error; err != nil {
		return UserPage{}, failed("count users", err)
	}
	page.TotalExact = page.Total <= CountCap
	page.Total = min(page.Total, CountCap)

	q := db.Table("users").Where("users.id > ?", uq.After)
	windowEnd := uint64(0)
	switch {
	case m.terms == "":
	case page.TotalExact:
		q = q.Where("users.id IN (SELECT user_id FROM user_search_terms WHERE "+m.terms+")", m.args...)
	default:
		// A scalar subquery, not EXISTS: MariaDB turns an EXISTS into a
		// semi-join and materialises every match of the range first (7 s
		// for a million); a scalar subquery stays a probe per user.
		q = q.Where("(SELECT 1 FROM user_search_terms k WHERE k.user_id = users.id AND "+m.termsOnly+" LIMIT 1) IS NOT NULL", m.termArgs...)
		if uq.Offset == 0 {
			windowEnd = uq.After + walkWindow
			q = q.Where("users.id <= ?", windowEnd)
		}
	}
	if err := q.Order("users.id").Limit(uq.Limit + 1).Offset(uq.Offset).Find(&page.Users).Error; err != nil {
		return UserPage{}, failed("list users", err)
	}
	switch {
	case len(page.Users) > uq.Limit:
		page.Users = page.Users[:uq.Limit]
		page.Next = page.Users[uq.Limit-1].ID
	case windowEnd != 0:
		var last uint64
		if err := db.Raw("SELECT COALESCE(MAX(id), 0) FROM users").Scan(&last).Error; err != nil {
			return UserPage{}, failed("list users", err)
		}
		if windowEnd < last {
			page.Next = windowEnd
		}
	}
	return page, nil
}

// userMatch is the condition on user_search_terms a query asks for:
// terms with args (the range of terms, or the id), and termsOnly with
// termArgs (the range alone, for a probe of one user's terms). terms is
// "" for an empty query (every user).
type userMatch struct {
	terms, termsOnly string
	args, termArgs   []any
}

// matchUsers returns the condition on user_search_terms that q asks for.
func matchUsers(q string) userMatch {
	q = clip(foldSearch(q))
	if q == "" {
		return userMatch{}
	}
	m := userMatch{termsOnly: "term >= ?", termArgs: []any{q}}
	if end := prefixEnd(q); end != "" {
		m.termsOnly, m.termArgs = m.termsOnly+" AND term < ?", append(m.termArgs, end)
	}
	m.termsOnly = "(" + m.termsOnly + ")"
	m.terms, m.args = m.termsOnly, m.termArgs
	if id, err := strconv.ParseUint(q, 10, 63); err == nil { // ids fit a signed BIGINT
		m.terms, m.args = "("+m.terms+" OR user_id = ?)", append(append([]any{}, m.termArgs...), id)
		m.termsOnly, m.termArgs = "("+m.termsOnly+" OR k.user_id = ?)", append(append([]any{}, m.termArgs...), id)
	}
	return m
}
