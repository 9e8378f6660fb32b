package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
	"gatehouse/templates"
)

// pageData declares each page's data type, by its zero value, as its
// handler passes it (nil for pages without data). A page missing here
// fails TestRenderPages: every view is declared (miniflux's check).
var pageData = map[string]any{
	"login.html":      loginPage{},
	"home.html":       nil,
	"me.html":         mePage{},
	"error.html":      nil,
	"register.html":   registerPage{},
	"sessions.html":   sessionsPage{},
	"events.html":     eventList{},
	"posts.html":      postsPage{},
	"users.html":      usersPage{},
	"user.html":       userPage{},
	"docs.html":       nil,
	"mfa.html":        mfaPage{},
	"mfa_login.html":  secondStepPage{},
	"reauth.html":     reauthPage{},
	"forgot.html":     forgotPage{},
	"reset.html":      linkPage{},
	"verify.html":     linkPage{},
	"consent.html":    consentPage{},
	"app_logout.html": logoutPage{},
	"apps.html":       appsPage{},
	"passkeys.html":   passkeysPage{},
}

// TestRenderPages renders every page through the app's renderer with its
// handler's zero-value data, logged in (every page) and logged out (the
// pages a visitor can reach), so a template that reads a field its data
// lacks fails here rather than in a browser.
func TestRenderPages(t *testing.T) {
	t.Parallel()
	set, err := templates.Parse()
	if err != nil {
		t.Fatalf("templates: %v", err)
	}
	r := &renderer{pages: set}
	public := map[string]bool{"login.html": true, "error.html": true, "register.html": true, "docs.html": true, "mfa_login.html": true,
		"forgot.html": true, "reset.html": true, "verify.html": true}
	for _, page := range set.Pages() {
		data, ok := pageData[page]
		if !ok {
			t.Errorf("%s: got no entry in pageData, want its handler's data type declared", page)
			continue
		}
		for _, caller := range []*auth.Caller{
			{User: &models.User{}},
			{User: &models.User{}, Scopes: auth.AllScopes},
			nil,
		} {
			if caller == nil && !public[page] {
				continue
			}
			req := httptest.NewRequest(http.MethodGet, "/?flash=saved", nil)
			rec := httptest.NewRecorder()
			c := echo.New().NewContext(req, rec)
			if caller != nil {
				c.Set(callerKey, caller)
			}
			if err := r.Render(rec, page, data, c); err != nil {
				t.Errorf("%s (caller %+v): got error %v, want none", page, caller, err)
				continue
			}
			if !strings.Contains(rec.Body.String(), outcomes["saved"].flash()) {
				t.Errorf("%s: got no flash, want %q from ?flash=saved", page, outcomes["saved"].flash())
			}
		}
	}
}

// TestRenderNav checks the envelope the renderer fills: the nav shows only
// to a logged-in user, and its Users link only to one with admin:read.
func TestRenderNav(t *testing.T) {
	t.Parallel()
	set, err := templates.Parse()
	if err != nil {
		t.Fatalf("templates: %v", err)
	}
	r := &renderer{pages: set}
	cases := []struct {
		name              string
		caller            *auth.Caller
		wantNav, wantUser bool
	}{
		{"a visitor sees no nav", nil, false, false},
		{"a user sees the nav without Users", &auth.Caller{User: &models.User{}, Scopes: auth.DefaultScopes}, true, false},
		{"admin:read shows Users", &auth.Caller{User: &models.User{}, Scopes: []string{auth.ScopeAdminRead}}, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
			if tc.caller != nil {
				c.Set(callerKey, tc.caller)
			}
			if err := r.Render(rec, "error.html", view{Problem: &problem{Title: "Not Found"}}, c); err != nil {
				t.Fatalf("Render: %v", err)
			}
			html := rec.Body.String()
			if got := strings.Contains(html, `<nav aria-label="Main">`); got != tc.wantNav {
				t.Errorf("nav shown: got %v, want %v", got, tc.wantNav)
			}
			if got := strings.Contains(html, `href="/admin/users"`); got != tc.wantUser {
				t.Errorf("Users link shown: got %v, want %v", got, tc.wantUser)
			}
		})
	}
}

// TestOutcomesHaveWords: every outcome says something on the page, and
// JSON gets a detail from the table unless its handler words it itself.
func TestOutcomesHaveWords(t *testing.T) {
	t.Parallel()
	for code, o := range outcomes {
		if o.flash() == "" {
			t.Errorf("outcome %q shows nothing on the page", code)
		}
	}
}
