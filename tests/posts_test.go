package tests

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
)

// postBody is the contract's post object (§2).
type postBody struct {
	ID        uint64    `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

type postList struct {
	Items []postBody `json:"items"`
}

func TestPosts(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		app.createUser(t, "bob@example.com", goodPassword)
		ada := app.client(t)
		tok := ada.loginAPI("ada@example.com", goodPassword)

		var first postBody
		ada.post("/api/posts", map[string]string{"title": "  First  ", "body": "Hello\nworld "}, bearer(tok.AccessToken)).
			wantStatus(t, http.StatusCreated).decode(t, &first)
		want := postBody{ID: first.ID, Title: "First", Body: "Hello\nworld ", CreatedAt: app.clock.Now()}
		if diff := cmp.Diff(want, first); diff != "" || first.ID == 0 {
			t.Errorf("post (-want +got):\n%s", diff)
		}

		browser := app.client(t)
		browser.loginForm("ada@example.com", goodPassword)
		browser.post("/posts", url.Values{"title": {"Second"}, "body": {"<script>alert(1)</script>"}}, asHTML).
			wantRedirect(t, "/posts?flash=posted")

		var list postList
		ada.get("/api/posts", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &list)
		if len(list.Items) != 2 || list.Items[0].Title != "Second" || list.Items[1].Title != "First" {
			t.Fatalf("posts = %+v, want Second then First (newest first)", list.Items)
		}

		page := browser.get("/posts?flash=posted", asHTML).wantStatus(t, http.StatusOK)
		doc := page.doc(t)
		if got := doc.Find(".flash").Text(); got != "Your post has been published." {
			t.Errorf("flash = %q", got)
		}
		titles := doc.Find("article.post h3").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
		if diff := cmp.Diff([]string{"Second", "First"}, titles); diff != "" {
			t.Errorf("page titles (-want +got):\n%s", diff)
		}
		if strings.Contains(string(page.Body), "<script>alert(1)</script>") {
			t.Errorf("a post body is not escaped")
		}

		t.Run("nobody sees anyone else's posts", func(t *testing.T) {
			bob := app.client(t)
			bobToken := bob.loginAPI("bob@example.com", goodPassword)
			var list postList
			bob.get("/api/posts", bearer(bobToken.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &list)
			if len(list.Items) != 0 {
				t.Errorf("bob sees %d posts, want none", len(list.Items))
			}
			if !strings.Contains(string(bob.get("/api/posts").Body), `"items":[]`) {
				t.Errorf("an empty list is not []")
			}
			bobBrowser := app.client(t)
			bobBrowser.loginForm("bob@example.com", goodPassword)
			doc := bobBrowser.get("/posts", asHTML).wantStatus(t, http.StatusOK).doc(t)
			if doc.Find("article.post").Length() != 0 || doc.Find("#no-posts").Length() != 1 {
				t.Errorf("bob's page shows others' posts")
			}
		})

		t.Run("reading needs a login", func(t *testing.T) {
			app.client(t).get("/api/posts").wantProblem(t, http.StatusUnauthorized, "not_authenticated")
			app.client(t).get("/posts", asHTML).wantRedirect(t, "/auth/login?next=%2Fposts&state=2")
		})
	})
}

func TestPostValidation(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		c.loginForm("ada@example.com", goodPassword)
		cases := []struct {
			name, title, body, field, message string // field empty: accepted
		}{
			{"no title", "", "text", "title", "Give your post a title."},
			{"a title of spaces", "   ", "text", "title", "Give your post a title."},
			{"a title of 201 characters", strings.Repeat("t", 201), "", "title", "Use at most 200 characters."},
			{"a body of 10,001 characters", "T", strings.Repeat("b", 10001), "body", "Use at most 10,000 characters."},
			{"a title of 200 multi-byte characters", strings.Repeat("é", 199) + "😀", "", "", ""},
			{"a body of 10,000 characters", "T", strings.Repeat("😀", 10000), "", ""},
			{"no body", "T", "", "", ""},
			{"a body that starts with a blank line", "", "\nsecond line", "title", "Give your post a title."},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := c.post("/api/posts", map[string]string{"title": tc.title, "body": tc.body})
				if tc.field == "" {
					var p postBody
					resp.wantStatus(t, http.StatusCreated).decode(t, &p)
					if p.Title != tc.title || p.Body != tc.body {
						t.Errorf("the post was not stored as written")
					}
					return
				}
				p := resp.wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
				if p.Fields[tc.field] != tc.message {
					t.Errorf("fields = %v, want %s: %q", p.Fields, tc.field, tc.message)
				}
				doc := c.post("/posts", url.Values{"title": {tc.title}, "body": {tc.body}}, asHTML).
					wantStatus(t, http.StatusUnprocessableEntity).doc(t)
				if got := fieldMessage(doc, tc.field); got != tc.message {
					t.Errorf("page message = %q, want %q", got, tc.message)
				}
				if got, _ := doc.Find("#title").Attr("value"); got != tc.title {
					t.Errorf("the form lost the title")
				}
				if got := doc.Find("#body").Text(); got != tc.body {
					t.Errorf("the form lost the body (%d characters, want %d)", len(got), len(tc.body))
				}
			})
		}
		t.Run("a title that is not a string is 400", func(t *testing.T) {
			c.post("/api/posts", `{"title": 5}`).wantProblem(t, http.StatusBadRequest, "bad_request")
		})
		t.Run("invalid UTF-8 in a form is 422, not a database error", func(t *testing.T) {
			p := c.post("/posts", url.Values{"title": {"ok"}, "body": {"bad \xff byte"}}, asJSON).
				wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
			if p.Fields["body"] == "" {
				t.Errorf("fields = %v", p.Fields)
			}
		})
	})
}
