package tests

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gatehouse/auth"
)

// scopedRoute is one route of contract §3 and the scope it needs.
type scopedRoute struct {
	method, html, api, scope string
}

// scopedRoutes is every route that needs a scope. {id} stands for an id
// the test fills in.
var scopedRoutes = []scopedRoute{
	{http.MethodGet, "/admin/me", "/api/me", auth.ScopeUserRead},
	{http.MethodGet, "/admin/me/sessions", "/api/me/sessions", auth.ScopeUserRead},
	{http.MethodPost, "/admin/me/sessions/{sid}/revoke", "/api/me/sessions/{sid}/revoke", auth.ScopeUserWrite},
	{http.MethodPost, "/admin/me/sessions/revoke-others", "/api/me/sessions/revoke-others", auth.ScopeUserWrite},
	{http.MethodPost, "/admin/me/password", "/api/me/password", auth.ScopeUserWrite},
	{http.MethodGet, "/posts", "/api/posts", auth.ScopeUserRead},
	{http.MethodPost, "/posts", "/api/posts", auth.ScopeUserWrite},
	{http.MethodGet, "/admin/users", "/api/users", auth.ScopeAdminRead},
	{http.MethodGet, "/admin/users/{id}", "/api/users/{id}", auth.ScopeAdminRead},
	{http.MethodPost, "/admin/users/{id}", "", auth.ScopeAdminWrite},
	{http.MethodPatch, "", "/api/users/{id}", auth.ScopeAdminWrite},
	{http.MethodPost, "/admin/users/{id}/revoke-sessions", "/api/users/{id}/revoke-sessions", auth.ScopeAdminWrite},
}

func fill(path, id, sid string) string {
	return strings.NewReplacer("{id}", id, "{sid}", sid).Replace(path)
}

// without returns every scope but one.
func without(scope string) []string {
	return slices.DeleteFunc(slices.Clone(auth.AllScopes), func(s string) bool { return s == scope })
}

func TestEveryRouteNeedsItsScope(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		adminUser(t, app)
		bob := app.createUser(t, "bob@example.com", goodPassword)
		id := userPath(bob.ID)
		for _, r := range scopedRoutes {
			name := r.method + " " + r.html + r.api
			t.Run(name, func(t *testing.T) {
				if r.api != "" {
					c := app.client(t)
					tok := c.loginAPI("root@example.com", goodPassword, without(r.scope)...)
					sid := ""
					if strings.Contains(r.api, "{sid}") { // the route needs user:write, so the token can read
						sid = current(t, c.sessions(bearer(tok.AccessToken))).ID
					}
					resp := c.do(r.method, fill(r.api, id, sid), nil, bearer(tok.AccessToken))
					resp.wantProblem(t, http.StatusForbidden, "insufficient_scope")
					if got, want := resp.Header.Get("WWW-Authenticate"), `Bearer error="insufficient_scope", scope="`+r.scope+`"`; got != want {
						t.Errorf("WWW-Authenticate = %q, want %q", got, want)
					}
				}
				if r.html != "" {
					c := app.client(t)
					c.post("/auth/token", url.Values{"username": {"root@example.com"}, "password": {goodPassword},
						"scope": {strings.Join(without(r.scope), " ")}}, asHTML).wantRedirect(t, "/auth/home")
					sid := ""
					if strings.Contains(r.html, "{sid}") {
						sid = current(t, c.sessions()).ID
					}
					doc := c.do(r.method, fill(r.html, id, sid), nil, asHTML).wantStatus(t, http.StatusForbidden).doc(t)
					// The page says it in words, not "the admin:read scope" (issue 24).
					if got := doc.Find("#problem").Text(); !strings.HasPrefix(got, "Your account may not ") || strings.Contains(got, r.scope) {
						t.Errorf("page message = %q, want what the account may not do, in words", got)
					}
				}
			})
		}
	})
}

func TestScopeEscalation(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		adminUser(t, app)
		app.createUser(t, "bob@example.com", goodPassword)

		t.Run("asking for admin scopes as a normal user grants none of them", func(t *testing.T) {
			c := app.client(t)
			tok := c.loginAPI("bob@example.com", goodPassword, "admin:read", "admin:write", "user:read")
			if tok.Scope != "user:read" {
				t.Fatalf("granted %q, want user:read", tok.Scope)
			}
			c.get("/api/users", bearer(tok.AccessToken)).wantProblem(t, http.StatusForbidden, "insufficient_scope")
			c.post("/api/posts", map[string]string{"title": "x"}, bearer(tok.AccessToken)).wantProblem(t, http.StatusForbidden, "insufficient_scope")
			c.get("/api/users").wantProblem(t, http.StatusForbidden, "insufficient_scope") // the cookie of that login
			only := app.client(t).loginAPI("bob@example.com", goodPassword, "admin:write")
			if only.Scope != "" {
				t.Errorf("granted %q, want nothing", only.Scope)
			}
			app.client(t).get("/api/me", bearer(only.AccessToken)).wantProblem(t, http.StatusForbidden, "insufficient_scope")
		})

		t.Run("a normal user on the admin routes", func(t *testing.T) {
			c := app.client(t)
			tok := c.loginAPI("bob@example.com", goodPassword)
			browser := app.client(t)
			browser.loginForm("bob@example.com", goodPassword)
			for _, r := range scopedRoutes {
				if !strings.HasPrefix(r.scope, "admin:") {
					continue
				}
				if r.api != "" {
					resp := c.do(r.method, fill(r.api, "1", ""), map[string]any{"scopes": auth.AllScopes}, bearer(tok.AccessToken))
					resp.wantProblem(t, http.StatusForbidden, "insufficient_scope")
				}
				if r.html != "" {
					doc := browser.do(r.method, fill(r.html, "1", ""), url.Values{"scopes": auth.AllScopes}, asHTML).wantStatus(t, http.StatusForbidden).doc(t)
					// In words, not the scope's name (issue 24).
					want := map[string]string{"admin:read": "see other people's accounts", "admin:write": "change other people's accounts"}[r.scope]
					if got := doc.Find("#problem").Text(); !strings.Contains(got, want) {
						t.Errorf("%s %s: the 403 page says %q, want what the account may not do (%s)", r.method, r.html, got, want)
					}
				}
			}
			if doc := browser.get("/auth/home", asHTML).doc(t); doc.Find(`nav a[href="/admin/users"]`).Length() != 0 {
				t.Errorf("a normal user is offered the Users page")
			}
			var me userBody
			c.get("/api/me", bearer(tok.AccessToken)).decode(t, &me)
			if !slices.Equal(me.Scopes, []string{"user:read", "user:write"}) {
				t.Errorf("bob's scopes changed: %v", me.Scopes)
			}
		})

		t.Run("a read-only token cannot write", func(t *testing.T) {
			c := app.client(t)
			tok := c.loginAPI("bob@example.com", goodPassword, "user:read")
			c.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
			c.get("/api/posts", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
			resp := c.post("/api/me/password", map[string]string{"current_password": goodPassword, "new_password": newPassword}, bearer(tok.AccessToken))
			resp.wantProblem(t, http.StatusForbidden, "insufficient_scope")
			if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer error="insufficient_scope", scope="user:write"` {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			app.client(t).loginAPI("bob@example.com", goodPassword) // the password did not change
		})

		t.Run("an admin's read-only token cannot change users", func(t *testing.T) {
			tok := app.client(t).loginAPI("root@example.com", goodPassword, "admin:read")
			c := app.client(t)
			c.get("/api/users", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
			c.patch("/api/users/2", map[string]any{"disabled": true}, bearer(tok.AccessToken)).wantProblem(t, http.StatusForbidden, "insufficient_scope")
			app.client(t).loginAPI("bob@example.com", goodPassword)
		})
	})
}
