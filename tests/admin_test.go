package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"gatehouse/auth"
)

// userList is GET /api/users.
type userList struct {
	Items   []userBody `json:"items"`
	Total   int64      `json:"total"`
	Page    int        `json:"page"`
	PerPage int        `json:"per_page"`
	Next    *string    `json:"next"`
	// TotalExact is false when more than Total (10,000) match.
	TotalExact bool `json:"total_exact"`
}

// userDetail is GET /api/users/{id}.
type userDetail struct {
	userBody
	Sessions []sessionBody `json:"sessions"`
	Events   []eventBody   `json:"events"`
}

// asAdmin returns an administrator's browser and an API token of another
// session of theirs.
func asAdmin(t *testing.T, a *app) (*client, string) {
	t.Helper()
	adminUser(t, a)
	c := a.client(t)
	c.loginForm("root@example.com", goodPassword)
	return c, a.client(t).loginAPI("root@example.com", goodPassword).AccessToken
}

func userPath(id uint64) string { return strconv.FormatUint(id, 10) }

func TestListUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		browser, tok := asAdmin(t, app)
		for i := 1; i <= 24; i++ {
			app.createUser(t, fmt.Sprintf("user%02d@example.com", i), goodPassword, withName(fmt.Sprintf("Person %02d", i)))
		}
		grace := app.createUser(t, "grace@navy.mil", goodPassword, withName("Grace HOPPER"))
		app.createUser(t, "percent@example.com", goodPassword, withName("100% sure"))
		api := app.client(t)

		var page userList
		api.get("/api/users", bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &page)
		if page.Total != 27 || !page.TotalExact || len(page.Items) != 20 || page.Page != 1 || page.PerPage != 20 {
			t.Fatalf("first page: total %d (exact %v), %d items, page %d, per_page %d; want 27 (exact), 20, 1, 20",
				page.Total, page.TotalExact, len(page.Items), page.Page, page.PerPage)
		}
		if page.Items[0].Email != "root@example.com" || len(page.Items[0].Scopes) != 4 {
			t.Errorf("first user = %+v", page.Items[0])
		}
		if page.Next == nil {
			t.Fatalf("first page: next is null, want a cursor")
		}
		var after userList
		api.get("/api/users?after="+url.QueryEscape(*page.Next), bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &after)
		api.get("/api/users?page=2", bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &page)
		if len(page.Items) != 7 || page.Page != 2 || page.Next != nil {
			t.Errorf("page 2 has %d items and next %v, want 7 and null", len(page.Items), page.Next)
		}
		if !cmp.Equal(after.Items, page.Items) || after.Next != nil || after.Total != 27 {
			t.Errorf("the page after the first one's next differs from page 2: %+v", after)
		}
		api.get("/api/users?page=3&per_page=5", bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &page)
		if len(page.Items) != 5 || page.Items[0].Email != "user10@example.com" {
			t.Errorf("page 3 of 5 starts at %+v", page.Items)
		}
		api.get("/api/users?page=9", bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &page)
		if len(page.Items) != 0 || page.Total != 27 {
			t.Errorf("a page past the end: %+v", page)
		}

		// Contract §13: the start of an email, a word of the name, the id.
		search := []struct {
			q    string
			want []string
		}{
			{"hopper", []string{"grace@navy.mil"}},           // a word of the name, in another case
			{"hop", []string{"grace@navy.mil"}},              // the start of a word
			{"GRACE@NAVY.M", []string{"grace@navy.mil"}},     // the start of the email, in another case
			{"navy", []string{}},                             // the middle of an email is no match
			{"grace hop", []string{"grace@navy.mil"}},        // words in a row
			{userPath(grace.ID), []string{"grace@navy.mil"}}, // the id
			{"100% s", []string{"percent@example.com"}},      // a literal, not a wildcard
			{"sure", []string{"percent@example.com"}},        // the name's second word
			{"%", []string{}},                                // no word starts with it
			{"user1", []string{"user10@example.com", "user11@example.com", "user12@example.com", "user13@example.com", "user14@example.com",
				"user15@example.com", "user16@example.com", "user17@example.com", "user18@example.com", "user19@example.com"}},
			{"_", []string{}},
			{"nobody", []string{}},
		}
		for _, s := range search {
			var res userList
			api.get("/api/users?q="+url.QueryEscape(s.q), bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &res)
			got := []string{}
			for _, u := range res.Items {
				got = append(got, u.Email)
			}
			if diff := cmp.Diff(s.want, got); diff != "" || res.Total != int64(len(s.want)) {
				t.Errorf("q=%q (-want +got):\n%s", s.q, diff)
			}
		}

		doc := browser.get("/admin/users?q=person", asHTML).wantStatus(t, http.StatusOK).doc(t)
		if n := doc.Find("#users tbody tr[data-user]").Length(); n != 20 {
			t.Errorf("the page lists %d users, want 20", n)
		}
		if got := doc.Find("#total").Text(); !strings.Contains(got, "24 users") {
			t.Errorf("total reads %q", got)
		}
		var persons userList
		api.get("/api/users?q=person", bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &persons)
		next, _ := doc.Find("#next").Attr("href")
		if persons.Next == nil || next != "/admin/users?after="+url.QueryEscape(*persons.Next)+"&q=person" || doc.Find("#prev").Length() != 0 {
			t.Errorf("next link = %q, want the JSON's next cursor", next)
		}
		doc = browser.get(next, asHTML).wantStatus(t, http.StatusOK).doc(t)
		if n := doc.Find("#users tbody tr[data-user]").Length(); n != 4 || doc.Find("#next").Length() != 0 || doc.Find("#first").Length() != 1 {
			t.Errorf("the page after Next lists %d users (want 4), with no Next and a First page link", n)
		}
		if got := doc.Find("#users tbody tr[data-user] td a").First().Text(); got != "user21@example.com" {
			t.Errorf("the page after Next starts with %q, want user21@example.com", got)
		}
		if v, _ := doc.Find("#q").Attr("value"); v != "person" {
			t.Errorf("the search box lost the query")
		}
	})
}

func TestListUsersBadParameters(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		browser, tok := asAdmin(t, app)
		cases := []struct {
			query       string
			status      int
			code, field string
		}{
			{"page=abc", http.StatusBadRequest, "bad_request", ""},
			{"per_page=1.5", http.StatusBadRequest, "bad_request", ""},
			{"page=0", http.StatusUnprocessableEntity, "invalid_input", "page"},
			{"page=-1", http.StatusUnprocessableEntity, "invalid_input", "page"},
			{"per_page=0", http.StatusUnprocessableEntity, "invalid_input", "per_page"},
			{"per_page=101", http.StatusUnprocessableEntity, "invalid_input", "per_page"},
			{"q=" + strings.Repeat("q", 255), http.StatusUnprocessableEntity, "invalid_input", "q"},
			// Contract §13: page × per_page ≤ 10,000; beyond, next.
			{"page=101&per_page=100", http.StatusUnprocessableEntity, "invalid_input", "page"},
			{"page=501", http.StatusUnprocessableEntity, "invalid_input", "page"},
			{"page=9223372036854775807&per_page=100", http.StatusUnprocessableEntity, "invalid_input", "page"},
			{"page=2&after=" + cursorOf(t, app, tok), http.StatusUnprocessableEntity, "invalid_input", "page"},
			{"after=bm90LWEtY3Vyc29y", http.StatusBadRequest, "bad_request", ""},
			{"after=%25%25", http.StatusBadRequest, "bad_request", ""},
		}
		for _, tc := range cases {
			p := app.client(t).get("/api/users?"+tc.query, bearer(tok)).wantProblem(t, tc.status, tc.code)
			if tc.field != "" && p.Fields[tc.field] == "" {
				t.Errorf("%s: fields = %v", tc.query, p.Fields)
			}
			doc := browser.get("/admin/users?"+tc.query, asHTML).wantStatus(t, tc.status).doc(t)
			if doc.Find("#problem").Text() == "" {
				t.Errorf("%s: the page shows no message", tc.query)
			}
		}
		app.client(t).get("/api/users?per_page=100", bearer(tok)).wantStatus(t, http.StatusOK)
		app.client(t).get("/api/users?page=100&per_page=100", bearer(tok)).wantStatus(t, http.StatusOK)
		app.client(t).get("/api/users?page=500", bearer(tok)).wantStatus(t, http.StatusOK)
	})
}

// cursorOf returns a next cursor of the user list (per_page=1, so there is
// one as soon as there are two users).
func cursorOf(t *testing.T, a *app, tok string) string {
	t.Helper()
	a.createUser(t, fmt.Sprintf("other%d@example.com", time.Now().UnixNano()), goodPassword)
	var page userList
	a.client(t).get("/api/users?per_page=1", bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &page)
	if page.Next == nil {
		t.Fatal("per_page=1 over two users: next is null")
	}
	return url.QueryEscape(*page.Next)
}

// TestListUsersCursor walks the user list and a search to their ends by
// next while other users are being added (contract §13): every user that
// existed when the walk began comes exactly once, in id order, and the
// walk ends with next null.
func TestListUsersCursor(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		_, tok := asAdmin(t, app)
		for i := 1; i <= 30; i++ {
			app.createUser(t, fmt.Sprintf("walker%02d@example.com", i), goodPassword, withName(fmt.Sprintf("Walker %02d", i)))
		}
		for _, q := range []string{"", "walker"} {
			var before userList
			app.client(t).get("/api/users?per_page=100&q="+q, bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &before)
			stop := make(chan struct{})
			added := make(chan int)
			go func() { // concurrent inserts (at most 10), at the end of the id order
				n := 0
				defer func() { added <- n }()
				for n < 10 {
					select {
					case <-stop:
						return
					default:
					}
					n++
					if _, err := app.auth.CreateUser(context.Background(), auth.NewUser{Email: fmt.Sprintf("walker-new-%s-%d@example.com", q, n),
						FullName: "Walker New", Password: goodPassword}); err != nil {
						t.Errorf("create during the walk: %v", err)
						return
					}
				}
			}()
			seen := map[uint64]int{}
			var last uint64
			path := "/api/users?per_page=7&q=" + q
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatalf("q=%q: the walk did not end", q)
				}
				var page userList
				app.client(t).get(path, bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &page)
				for _, u := range page.Items {
					if u.ID <= last {
						t.Errorf("q=%q: user %d after %d: out of order", q, u.ID, last)
					}
					last = u.ID
					seen[u.ID]++
				}
				if page.Next == nil {
					break
				}
				if len(page.Items) != 7 {
					t.Errorf("q=%q: a page before the last has %d users, want 7", q, len(page.Items))
				}
				path = "/api/users?per_page=7&q=" + q + "&after=" + url.QueryEscape(*page.Next)
			}
			close(stop)
			if n := <-added; n == 0 {
				t.Errorf("q=%q: no user was added during the walk", q)
			}
			for _, u := range before.Items {
				if seen[u.ID] != 1 {
					t.Errorf("q=%q: user %d (%s) seen %d times, want once", q, u.ID, u.Email, seen[u.ID])
				}
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("q=%q: user %d seen %d times", q, id, n)
				}
			}
		}
	})
}

func TestShowUser(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		browser, tok := asAdmin(t, app)
		bob := app.createUser(t, "bob@example.com", goodPassword, withName("Bob"))
		bobClient := app.client(t)
		bobClient.loginBrowser("bob@example.com", goodPassword, firefoxUA)

		var got userDetail
		app.client(t).get("/api/users/"+userPath(bob.ID), bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &got)
		if got.Email != "bob@example.com" || got.FullName != "Bob" || !cmp.Equal(got.Providers, []string{"password"}) {
			t.Errorf("user = %+v", got.userBody)
		}
		if len(got.Sessions) != 1 || got.Sessions[0].UserAgent != firefoxUA || got.Sessions[0].Current {
			t.Errorf("sessions = %+v, want bob's one, not marked current", got.Sessions)
		}
		if kinds := eventKinds(got.Events); !cmp.Equal(kinds, []string{"login_succeeded"}) {
			t.Errorf("events = %v", kinds)
		}

		doc := browser.get("/admin/users/"+userPath(bob.ID), asHTML).wantStatus(t, http.StatusOK).doc(t)
		if doc.Find("#user-email").Text() != "bob@example.com" || doc.Find("#sessions tbody tr[data-session]").Length() != 1 {
			t.Errorf("the user page does not show bob and his session")
		}
		if !strings.Contains(doc.Find("#sessions").Text(), "Firefox 128 on Linux") || doc.Find(`#events tr[data-kind="login_succeeded"]`).Length() != 1 {
			t.Errorf("the user page lacks the browser or the security log")
		}
		if doc.Find(`form[action="/admin/users/`+userPath(bob.ID)+`/revoke-sessions"]`).Length() != 1 {
			t.Errorf("no button to end bob's sessions")
		}

		for _, id := range []string{"999", "abc", "-1", "0", "1.5", "99999999999999999999999"} {
			app.client(t).get("/api/users/"+id, bearer(tok)).wantProblem(t, http.StatusNotFound, "not_found")
			app.client(t).patch("/api/users/"+id, map[string]any{"disabled": true}, bearer(tok)).wantProblem(t, http.StatusNotFound, "not_found")
			browser.get("/admin/users/"+id, asHTML).wantStatus(t, http.StatusNotFound).doc(t)
		}
	})
}

func TestUpdateUser(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		browser, tok := asAdmin(t, app)
		root, err := app.store.UserByEmail(t.Context(), "root@example.com")
		if err != nil {
			t.Fatal(err)
		}
		bob := app.createUser(t, "bob@example.com", goodPassword, withName("Bob"))
		api := app.client(t)
		path := "/api/users/" + userPath(bob.ID)

		t.Run("PATCH changes any subset", func(t *testing.T) {
			var u userBody
			api.patch(path, map[string]any{"full_name": " Robert "}, bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &u)
			if u.FullName != "Robert" || !cmp.Equal(u.Scopes, []string{"user:read", "user:write"}) || u.Disabled {
				t.Errorf("after a name change: %+v", u)
			}
			api.patch(path, map[string]any{"scopes": []string{"admin:read", "user:read", "user:read"}}, bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &u)
			if !cmp.Equal(u.Scopes, []string{"user:read", "admin:read"}) || u.FullName != "Robert" {
				t.Errorf("after a scope change: %+v", u)
			}
			api.patch(path, map[string]any{}, bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &u)
			if u.FullName != "Robert" || len(u.Scopes) != 2 {
				t.Errorf("an empty PATCH changed something: %+v", u)
			}
		})

		t.Run("bad input", func(t *testing.T) {
			cases := []struct {
				body        string
				status      int
				code, field string
			}{
				{`{"scopes": ["user:read", "root"]}`, http.StatusUnprocessableEntity, "invalid_input", "scopes"},
				{`{"full_name": ""}`, http.StatusUnprocessableEntity, "invalid_input", "full_name"},
				{`{"full_name": "` + strings.Repeat("n", 201) + `"}`, http.StatusUnprocessableEntity, "invalid_input", "full_name"},
				{`{"disabled": "yes"}`, http.StatusBadRequest, "bad_request", ""},
				{`{"scopes": "user:read"}`, http.StatusBadRequest, "bad_request", ""},
				{`{"disabled": tru`, http.StatusBadRequest, "bad_request", ""},
			}
			for _, tc := range cases {
				p := api.patch(path, tc.body, bearer(tok)).wantProblem(t, tc.status, tc.code)
				if tc.field != "" && p.Fields[tc.field] == "" {
					t.Errorf("%s: fields = %v", tc.body, p.Fields)
				}
				if strings.Contains(p.Detail, "json") || strings.Contains(p.Detail, "unmarshal") {
					t.Errorf("%s: the detail leaks Go error text: %q", tc.body, p.Detail)
				}
			}
		})

		t.Run("administrators cannot lock themselves out", func(t *testing.T) {
			// With another administrator the self-checks answer on the
			// field; the only one gets last_admin (TestLastAdminSequential).
			app.createUser(t, "ann@example.com", goodPassword, withScopes("user:read", "admin:write"))
			self := "/api/users/" + userPath(root.ID)
			p := api.patch(self, map[string]any{"disabled": true}, bearer(tok)).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
			if p.Fields["disabled"] != "You cannot disable your own account." {
				t.Errorf("fields = %v", p.Fields)
			}
			p = api.patch(self, map[string]any{"scopes": []string{"user:read", "admin:read"}}, bearer(tok)).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
			if p.Fields["scopes"] != "You cannot remove admin:write from your own account." {
				t.Errorf("fields = %v", p.Fields)
			}
			var u userBody
			api.patch(self, map[string]any{"scopes": []string{"admin:write"}, "disabled": false}, bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &u)
			if !cmp.Equal(u.Scopes, []string{"admin:write"}) {
				t.Errorf("scopes = %v", u.Scopes)
			}
			api.patch(self, map[string]any{"scopes": []string{"user:read", "user:write", "admin:read", "admin:write"}}, bearer(tok)).wantStatus(t, http.StatusOK)

			// The page: the form comes back with what was sent and the message.
			form := url.Values{"full_name": {"Root Admin"}, "disabled": {"false", "true"}, "scopes": {"", "user:read", "admin:write"}}
			doc := browser.post("/admin/users/"+userPath(root.ID), form, asHTML).wantStatus(t, http.StatusUnprocessableEntity).doc(t)
			if got := strings.TrimSpace(doc.Find("fieldset:has(#disabled) .field-error").Text()); got != "You cannot disable your own account." {
				t.Errorf("page message = %q", got)
			}
			if _, checked := doc.Find("#disabled").Attr("checked"); !checked {
				t.Errorf("the form lost the ticked box")
			}
			var ticked []string
			doc.Find(`input[name=scopes][checked]`).Each(func(_ int, s *goquery.Selection) { ticked = append(ticked, s.AttrOr("value", "")) })
			if !cmp.Equal(ticked, []string{"user:read", "admin:write"}) {
				t.Errorf("ticked scopes = %v", ticked)
			}
		})

		t.Run("the page's form sets the whole state", func(t *testing.T) {
			page := "/admin/users/" + userPath(bob.ID)
			form := url.Values{"full_name": {"Bob"}, "disabled": {"false"}, "scopes": {"", "user:read", "user:write"}}
			browser.post(page, form, asHTML).wantRedirect(t, page+"?flash=saved")
			doc := browser.get(page+"?flash=saved", asHTML).wantStatus(t, http.StatusOK).doc(t)
			if doc.Find(".flash").Text() != "Saved." {
				t.Errorf("no flash")
			}
			var ticked []string
			doc.Find(`input[name=scopes][checked]`).Each(func(_ int, s *goquery.Selection) { ticked = append(ticked, s.AttrOr("value", "")) })
			if !cmp.Equal(ticked, []string{"user:read", "user:write"}) {
				t.Errorf("ticked scopes = %v", ticked)
			}
			browser.post(page, url.Values{"full_name": {"Bob"}, "disabled": {"false"}, "scopes": {""}}, asHTML).wantRedirect(t, page+"?flash=saved")
			var u userBody
			api.get(path, bearer(tok)).decode(t, &u)
			if len(u.Scopes) != 0 {
				t.Errorf("unticking every scope left %v", u.Scopes)
			}
			// A form that does not name a field leaves it alone (curl -d).
			browser.post(page, url.Values{"scopes": {"user:read"}}, asJSON).wantStatus(t, http.StatusOK).decode(t, &u)
			if u.FullName != "Bob" || u.Disabled || !cmp.Equal(u.Scopes, []string{"user:read"}) {
				t.Errorf("after a partial form: %+v", u)
			}
		})

		t.Run("a cross-site form post is refused", func(t *testing.T) {
			form := url.Values{"disabled": {"true"}}
			browser.post("/admin/users/"+userPath(bob.ID), form, asJSON, header{"Sec-Fetch-Site", "cross-site"}).
				wantProblem(t, http.StatusForbidden, "cross_site_request")
			var u userBody
			api.get(path, bearer(tok)).decode(t, &u)
			if u.Disabled {
				t.Errorf("a cross-site request disabled bob")
			}
		})

		var bobDetail userDetail
		api.get(path, bearer(tok)).decode(t, &bobDetail)
		if len(bobDetail.Events) == 0 || bobDetail.Events[0].Kind != "admin_changed_user" || !strings.Contains(bobDetail.Events[0].Detail, "by root@example.com") {
			t.Errorf("bob's security log = %+v, want the change by root", bobDetail.Events)
		}
	})
}

func TestDisableUser(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		_, tok := asAdmin(t, app)
		bob := app.createUser(t, "bob@example.com", goodPassword)
		bobAPI := app.client(t)
		bobToken := bobAPI.loginAPI("bob@example.com", goodPassword)
		bobBrowser := app.client(t)
		bobBrowser.loginForm("bob@example.com", goodPassword)
		admin := app.client(t)

		var u userBody
		admin.patch("/api/users/"+userPath(bob.ID), map[string]any{"disabled": true}, bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &u)
		if !u.Disabled {
			t.Fatalf("not disabled: %+v", u)
		}
		bobAPI.get("/api/me", bearer(bobToken.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		bobAPI.get("/api/me").wantProblem(t, http.StatusUnauthorized, "not_authenticated")
		bobBrowser.get("/posts", asHTML).wantRedirect(t, "/auth/login?next=%2Fposts&state=5")
		app.client(t).post("/api/login", url.Values{"username": {"bob@example.com"}, "password": {goodPassword}}).
			wantProblem(t, http.StatusForbidden, "inactive_user")

		var detail userDetail
		admin.get("/api/users/"+userPath(bob.ID), bearer(tok)).decode(t, &detail)
		if len(detail.Sessions) != 0 {
			t.Errorf("a disabled user still has %d sessions", len(detail.Sessions))
		}

		admin.patch("/api/users/"+userPath(bob.ID), map[string]any{"disabled": false}, bearer(tok)).wantStatus(t, http.StatusOK)
		app.client(t).loginAPI("bob@example.com", goodPassword)
	})
}

func TestScopeChangesReachLiveSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		_, tok := asAdmin(t, app)
		bob := app.createUser(t, "bob@example.com", goodPassword)
		c := app.client(t)
		bobToken := c.loginAPI("bob@example.com", goodPassword).AccessToken
		c.post("/api/posts", map[string]string{"title": "before"}, bearer(bobToken)).wantStatus(t, http.StatusCreated)

		app.client(t).patch("/api/users/"+userPath(bob.ID), map[string]any{"scopes": []string{"user:read", "admin:read"}}, bearer(tok)).
			wantStatus(t, http.StatusOK)
		c.post("/api/posts", map[string]string{"title": "after"}, bearer(bobToken)).wantProblem(t, http.StatusForbidden, "insufficient_scope")
		c.get("/api/posts", bearer(bobToken)).wantStatus(t, http.StatusOK)
		// A scope given is not added to a live session: it comes with the next login.
		c.get("/api/users", bearer(bobToken)).wantProblem(t, http.StatusForbidden, "insufficient_scope")
		fresh := app.client(t).loginAPI("bob@example.com", goodPassword)
		if fresh.Scope != "user:read admin:read" {
			t.Errorf("new login's scope = %q", fresh.Scope)
		}
		app.client(t).get("/api/users", bearer(fresh.AccessToken)).wantStatus(t, http.StatusOK)
	})
}

func TestRevokeUserSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		browser, tok := asAdmin(t, app)
		root, _ := app.store.UserByEmail(t.Context(), "root@example.com")
		bob := app.createUser(t, "bob@example.com", goodPassword)
		bobAPI, bobBrowser := app.client(t), app.client(t)
		bobToken := bobAPI.loginAPI("bob@example.com", goodPassword)
		bobBrowser.loginForm("bob@example.com", goodPassword)

		var body struct {
			Detail string `json:"detail"`
			Ended  int    `json:"ended"`
		}
		app.client(t).post("/api/users/"+userPath(bob.ID)+"/revoke-sessions", nil, bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &body)
		if body.Ended != 2 || body.Detail == "" {
			t.Errorf("answer = %+v, want 2 ended", body)
		}
		bobAPI.get("/api/me", bearer(bobToken.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		bobBrowser.get("/admin/me", asHTML).wantRedirect(t, "/auth/login?next=%2Fadmin%2Fme&state=5")
		app.client(t).loginAPI("bob@example.com", goodPassword) // not disabled: bob may come back

		page := "/admin/users/" + userPath(bob.ID)
		browser.post(page+"/revoke-sessions", nil, asHTML).wantRedirect(t, page+"?flash=user_sessions_ended")
		if doc := browser.get(page+"?flash=user_sessions_ended", asHTML).doc(t); doc.Find(".flash").Text() != "Their sessions have been ended." {
			t.Errorf("no flash")
		}
		app.client(t).post("/api/users/999/revoke-sessions", nil, bearer(tok)).wantProblem(t, http.StatusNotFound, "not_found")

		// Aimed at oneself, it keeps the session one acts from.
		other := app.client(t)
		other.loginForm("root@example.com", goodPassword)
		app.client(t).post("/api/users/"+userPath(root.ID)+"/revoke-sessions", nil, bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &body)
		if body.Ended != 2 { // the browser's and other's
			t.Errorf("ended %d of root's sessions, want 2", body.Ended)
		}
		app.client(t).get("/api/me", bearer(tok)).wantStatus(t, http.StatusOK)
		other.get("/admin/me", asHTML).wantRedirect(t, "/auth/login?next=%2Fadmin%2Fme&state=5")
	})
}
