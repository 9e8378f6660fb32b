package tests

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

const newPassword = "a brand new passphrase"

func TestChangePassword(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)

		me := app.client(t)
		me.loginForm("ada@example.com", goodPassword)
		oldCookie := me.cookieValue()
		oldID := current(t, me.sessions()).ID
		api := app.client(t)
		apiToken := api.loginAPI("ada@example.com", goodPassword)
		browser := app.client(t)
		browser.loginForm("ada@example.com", goodPassword)

		t.Run("a wrong current password is 422 and keeps the caller logged in", func(t *testing.T) {
			body := map[string]string{"current_password": "not my password", "new_password": newPassword}
			p := api.post("/api/me/password", body, bearer(apiToken.AccessToken)).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
			if p.Fields["current_password"] != "Your current password is not correct." {
				t.Errorf("fields = %v", p.Fields)
			}
			api.get("/api/me", bearer(apiToken.AccessToken)).wantStatus(t, http.StatusOK)

			form := url.Values{"current_password": {"not my password"}, "new_password": {newPassword}}
			page := me.post("/admin/me/password", form, asHTML).wantStatus(t, http.StatusUnprocessableEntity)
			doc := page.doc(t)
			if got := fieldMessage(doc, "current_password"); got != "Your current password is not correct." {
				t.Errorf("page message = %q", got)
			}
			if doc.Find("#email").Text() != "ada@example.com" {
				t.Errorf("the error is not shown on My info")
			}
			if strings.Contains(string(page.Body), newPassword) || strings.Contains(string(page.Body), "not my password") {
				t.Errorf("the page repeats a password")
			}
			me.get("/admin/me", asHTML).wantStatus(t, http.StatusOK)
			app.client(t).loginAPI("ada@example.com", goodPassword) // unchanged
		})

		t.Run("the new password follows the sign-up rules", func(t *testing.T) {
			cases := []struct{ current, new, field, message string }{
				{"", newPassword, "current_password", "Enter your current password."},
				{goodPassword, "short", "new_password", "Use at least 8 characters."},
				{goodPassword, strings.Repeat("x", 257), "new_password", "Use at most 256 characters."},
				{goodPassword, "ADA@example.com", "new_password", "Your password must not be your email."},
				{goodPassword, goodPassword, "new_password", "Choose a password different from your current one."},
			}
			for _, tc := range cases {
				body := map[string]string{"current_password": tc.current, "new_password": tc.new}
				p := me.post("/api/me/password", body).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
				if p.Fields[tc.field] != tc.message {
					t.Errorf("new %q: fields = %v, want %s: %q", tc.new, p.Fields, tc.field, tc.message)
				}
				form := url.Values{"current_password": {tc.current}, "new_password": {tc.new}}
				doc := me.post("/admin/me/password", form, asHTML).wantStatus(t, http.StatusUnprocessableEntity).doc(t)
				if got := fieldMessage(doc, tc.field); got != tc.message {
					t.Errorf("new %q: page message = %q, want %q", tc.new, got, tc.message)
				}
			}
		})

		t.Run("a change ends the other sessions and renews the current one", func(t *testing.T) {
			form := url.Values{"current_password": {goodPassword}, "new_password": {newPassword}}
			me.post("/admin/me/password", form, asHTML).wantRedirect(t, "/admin/me?flash=password_changed")
			doc := me.get("/admin/me?flash=password_changed", asHTML).wantStatus(t, http.StatusOK).doc(t)
			if got := doc.Find(".flash").Text(); got != "Your password has been changed." {
				t.Errorf("flash = %q", got)
			}
			if me.cookieValue() == oldCookie || me.cookieValue() == "" {
				t.Errorf("the session cookie was not renewed")
			}
			items := me.sessions()
			if len(items) != 1 || items[0].ID == oldID || !items[0].Current {
				t.Errorf("sessions after the change = %+v, want one, under a new id", items)
			}

			api.get("/api/me", bearer(apiToken.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
			api.get("/api/me").wantProblem(t, http.StatusUnauthorized, "not_authenticated")
			browser.get("/admin/me", asHTML).wantRedirect(t, "/auth/login?next=%2Fadmin%2Fme&state=5")

			replay := app.client(t)
			u, _ := url.Parse(app.URL)
			replay.http.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: oldCookie}})
			replay.get("/admin/me", asHTML).wantRedirect(t, "/auth/login?next=%2Fadmin%2Fme&state=5")

			app.client(t).post("/api/login", url.Values{"username": {"ada@example.com"}, "password": {goodPassword}}).
				wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
			app.client(t).loginAPI("ada@example.com", newPassword)

			var mine eventsBody
			me.get("/api/me/events").decode(t, &mine)
			want := []string{"login_succeeded", "login_failed", "password_changed"} // newest first
			if got := eventKinds(mine.Items); len(got) < 3 || !slices.Equal(got[:3], want) {
				t.Errorf("security log = %v, want it to start %v", got, want)
			}
			if !slices.Contains(eventKinds(mine.Items), "password_change_failed") {
				t.Errorf("the wrong current passwords are not in the security log: %v", eventKinds(mine.Items))
			}
		})
	})
}

func TestChangePasswordWithToken(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		script := app.client(t)
		old := script.loginAPI("ada@example.com", goodPassword, "user:read", "user:write")
		other := app.client(t)
		otherToken := other.loginAPI("ada@example.com", goodPassword)

		// A bare token, no cookie: the client a script would be.
		bare := app.client(t)
		var body struct {
			Detail string `json:"detail"`
			token
		}
		bare.post("/api/me/password", map[string]string{"current_password": goodPassword, "new_password": newPassword},
			bearer(old.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &body)
		if body.Detail != "Password changed" || body.AccessToken == "" || body.TokenType != "bearer" || body.Scope != "user:read user:write" {
			t.Fatalf("answer = %+v, want the detail and a new token", body)
		}
		if bare.cookieValue() != "" {
			t.Errorf("a bearer-token caller was given a cookie")
		}
		bare.get("/api/me", bearer(old.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		bare.get("/api/me", bearer(body.AccessToken)).wantStatus(t, http.StatusOK)
		other.get("/api/me", bearer(otherToken.AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		if items := bare.sessions(bearer(body.AccessToken)); len(items) != 1 {
			t.Errorf("%d sessions left, want 1", len(items))
		}
	})
}

func TestChangePasswordThrottled(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		c.loginForm("ada@example.com", goodPassword)
		wrong := map[string]string{"current_password": "guess", "new_password": newPassword}
		for range app.cfg.LoginMaxFailures {
			c.post("/api/me/password", wrong).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
		}
		resp := c.post("/api/me/password", map[string]string{"current_password": goodPassword, "new_password": newPassword})
		resp.wantProblem(t, http.StatusTooManyRequests, "too_many_attempts")
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		c.get("/api/me").wantStatus(t, http.StatusOK)
	})
}
