package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gatehouse/auth"

	"gatehouse/internal/testenv"
)

// msgLastAdmin is the detail of 422 last_admin (contract §9).
const msgLastAdmin = "This change would leave no enabled user with admin:write; give that scope to another user first."

// TestLastAdminSequential: the only administrator cannot be disabled or
// lose admin:write, whether from the API or the user page's form, and a
// refused change changes nothing.
func TestLastAdminSequential(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		browser, tok := asAdmin(t, app)
		root, err := app.store.UserByEmail(t.Context(), "root@example.com")
		if err != nil {
			t.Fatal(err)
		}
		app.createUser(t, "bob@example.com", goodPassword, withScopes("user:read", "admin:read"))
		app.createUser(t, "off@example.com", goodPassword, withScopes(auth.AllScopes...), disabled) // does not count
		api := app.client(t)
		self := "/api/users/" + userPath(root.ID)

		cases := []struct {
			name string
			body map[string]any
		}{
			{"the only administrator disables themselves", map[string]any{"disabled": true}},
			{"the only administrator takes admin:write from themselves", map[string]any{"scopes": []string{"user:read", "admin:read"}}},
			{"the only administrator drops every scope", map[string]any{"scopes": []string{}}},
			{"the only administrator is disabled and demoted at once", map[string]any{"disabled": true, "scopes": []string{"user:read"}}},
			{"the only administrator is renamed and disabled", map[string]any{"full_name": "Gone", "disabled": true}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := api.patch(self, tc.body, bearer(tok)).wantProblem(t, http.StatusUnprocessableEntity, "last_admin")
				if p.Detail != msgLastAdmin || len(p.Fields) != 0 {
					t.Errorf("problem = %+v, want the last_admin sentence and no fields", p)
				}
				var u userBody
				api.get(self, bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &u)
				if u.Disabled || len(u.Scopes) != 4 || u.FullName != "Root Admin" {
					t.Errorf("root after a refused change: %+v, want unchanged", u)
				}
			})
		}

		t.Run("the page's form shows the message with 422", func(t *testing.T) {
			page := "/admin/users/" + userPath(root.ID)
			forms := []struct {
				name string
				form url.Values
			}{
				{"disable", url.Values{"full_name": {"Root Admin"}, "disabled": {"false", "true"}, "scopes": {"", "user:read", "user:write", "admin:read", "admin:write"}}},
				{"untick admin:write", url.Values{"full_name": {"Root Admin"}, "disabled": {"false"}, "scopes": {"", "user:read", "admin:read"}}},
			}
			for _, f := range forms {
				doc := browser.post(page, f.form, asHTML).wantStatus(t, http.StatusUnprocessableEntity).doc(t)
				if got := strings.TrimSpace(doc.Find("#problem").Text()); got != msgLastAdmin {
					t.Errorf("%s: the page says %q, want %q", f.name, got, msgLastAdmin)
				}
				if doc.Find(`form[action="`+page+`"]`).Length() != 1 {
					t.Errorf("%s: the form is not shown again", f.name)
				}
			}
		})

		// Nothing was written to root's security log, and root can still
		// administer users with the same token.
		var detail userDetail
		api.get(self, bearer(tok)).wantStatus(t, http.StatusOK).decode(t, &detail)
		for _, e := range detail.Events {
			if e.Kind == "admin_changed_user" {
				t.Errorf("a refused change was logged: %+v", e)
			}
		}
		api.get("/api/users", bearer(tok)).wantStatus(t, http.StatusOK)
	})
}

// adminChange is one administrator's request in a concurrent round.
type adminChange struct {
	name string
	body map[string]any
}

var (
	demoteOther  = adminChange{"demotes", map[string]any{"scopes": []string{"admin:read"}}}
	disableOther = adminChange{"disables", map[string]any{"disabled": true}}
)

// outcome is what one concurrent request got.
type outcome struct {
	status int
	code   string // the JSON "error", if any
	err    error
}

// sendConcurrently sends PATCH path with body and token from a goroutine:
// it fails nothing itself (t.Fatal belongs to the test's goroutine), but
// its answer is still checked against the OpenAPI document.
func (c *client) sendConcurrently(path string, body any, token string) outcome {
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPatch, c.app.URL+path, bytes.NewReader(data))
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return outcome{err: err}
	}
	var p problemBody
	_ = json.Unmarshal(raw, &p)
	return outcome{status: resp.StatusCode, code: p.Error}
}

// TestLastAdminConcurrent: two administrators, the only two, each take the
// other's admin rights at the same moment (a barrier, then both requests).
// Exactly one change goes through; the other is refused with 422
// last_admin — or, when it arrives after the first has committed, finds
// its own rights already gone (401 once its session ended, 403 once its
// admin:write did). Never a 5xx, and never nobody left.
func TestLastAdminConcurrent(t *testing.T) {
	cases := []struct {
		name      string
		a, b      adminChange
		lateCodes []string // what the request that comes second may get besides last_admin
	}{
		{"each demotes the other", demoteOther, demoteOther, []string{"insufficient_scope"}},
		{"each disables the other", disableOther, disableOther, []string{"invalid_token"}},
		{"one demotes while the other disables", demoteOther, disableOther, []string{"insufficient_scope", "invalid_token"}},
	}
	const rounds = 10
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		var previous []string
		refusedInAll, ran := 0, 0
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for round := range rounds {
					ran++
					a := app.createUser(t, fmt.Sprintf("a%d.%s@example.com", round, strings.ReplaceAll(tc.name, " ", "-")), goodPassword, withScopes(auth.AllScopes...))
					b := app.createUser(t, fmt.Sprintf("b%d.%s@example.com", round, strings.ReplaceAll(tc.name, " ", "-")), goodPassword, withScopes(auth.AllScopes...))
					for _, email := range previous { // the last round's pair steps aside: a and b are the only administrators
						if err := app.auth.SetDisabled(t.Context(), email, true); err != nil {
							t.Fatalf("disable %s: %v", email, err)
						}
					}
					previous = []string{a.Email, b.Email}
					ca, cb := app.client(t), app.client(t)
					tokA := ca.loginAPI(a.Email, goodPassword).AccessToken
					tokB := cb.loginAPI(b.Email, goodPassword).AccessToken

					got := make([]outcome, 2)
					testenv.FanOut(2, func(i int) {
						if i == 0 {
							got[0] = ca.sendConcurrently("/api/users/"+userPath(b.ID), tc.a.body, tokA)
						} else {
							got[1] = cb.sendConcurrently("/api/users/"+userPath(a.ID), tc.b.body, tokB)
						}
					})

					succeeded := 0
					for i, o := range got {
						switch {
						case o.err != nil:
							t.Fatalf("round %d, request %d: %v", round, i, o.err)
						case o.status >= 500:
							t.Fatalf("round %d, request %d: status %d (%s), want no 5xx", round, i, o.status, o.code)
						case o.status == http.StatusOK:
							succeeded++
						case o.status == http.StatusUnprocessableEntity && o.code == "last_admin":
							refusedInAll++
						case (o.status == http.StatusUnauthorized || o.status == http.StatusForbidden) && slices.Contains(tc.lateCodes, o.code):
						default:
							t.Fatalf("round %d, request %d: %d %q, want 200, 422 last_admin or %v", round, i, o.status, o.code, tc.lateCodes)
						}
					}
					if succeeded != 1 {
						t.Fatalf("round %d: %d of 2 requests succeeded (%+v), want exactly 1", round, succeeded, got)
					}
					admins, err := app.store.AdminWriters(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					if len(admins) != 1 || (admins[0] != a.ID && admins[0] != b.ID) {
						t.Fatalf("round %d: enabled admin:write holders %v, want one of %d and %d", round, admins, a.ID, b.ID)
					}
				}
			})
		}
		// The barrier makes the two requests overlap in most rounds (27 or
		// so of 30 here); none at all would mean the race was never run.
		t.Logf("%d of %d rounds ended with a 422 last_admin (in the rest the second request came too late to act)", refusedInAll, ran)
		if ran >= rounds && refusedInAll == 0 {
			t.Errorf("no round ended with a 422 last_admin: the two requests never overlapped")
		}
	})
}
