package tests

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// sessionBody is the contract's session object (§2).
type sessionBody struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

type sessionList struct {
	Items []sessionBody `json:"items"`
}

const firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// loginBrowser logs a browser in through the form with a User-Agent.
func (c *client) loginBrowser(email, password, userAgent string) {
	c.t.Helper()
	c.post("/auth/token", url.Values{"username": {email}, "password": {password}}, asHTML, header{"User-Agent", userAgent}).
		wantRedirect(c.t, "/auth/home")
}

// sessions lists the caller's sessions through the API.
func (c *client) sessions(headers ...header) []sessionBody {
	c.t.Helper()
	var list sessionList
	c.get("/api/me/sessions", headers...).wantStatus(c.t, http.StatusOK).decode(c.t, &list)
	return list.Items
}

// current returns the session marked current.
func current(t *testing.T, items []sessionBody) sessionBody {
	t.Helper()
	var found []sessionBody
	for _, s := range items {
		if s.Current {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d sessions marked current, want 1: %+v", len(found), items)
	}
	return found[0]
}

// cookieValue is the session cookie a client holds, or "".
func (c *client) cookieValue() string {
	u, _ := url.Parse(c.app.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "session" {
			return ck.Value
		}
	}
	return ""
}

func TestListSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		browser := app.client(t)
		browser.loginBrowser("ada@example.com", goodPassword, firefoxUA)
		script := app.client(t)
		tok := script.loginAPI("ada@example.com", goodPassword)

		items := script.sessions(bearer(tok.AccessToken))
		if len(items) != 2 {
			t.Fatalf("%d sessions, want 2", len(items))
		}
		mine := current(t, items)
		if mine.UserAgent != "Go-http-client/1.1" || mine.IP != "127.0.0.1" {
			t.Errorf("the script's session = %+v", mine)
		}
		if !mine.ExpiresAt.Equal(mine.LastSeenAt.Add(30*time.Minute)) || mine.CreatedAt.IsZero() {
			t.Errorf("expires_at = %v, want last_seen_at (%v) + the 30 min idle timeout", mine.ExpiresAt, mine.LastSeenAt)
		}
		for _, s := range items {
			if s.ID == "" || strings.Contains(browser.cookieValue(), s.ID) || strings.Contains(script.cookieValue(), s.ID) {
				t.Errorf("session id %q is empty or part of a cookie", s.ID)
			}
		}

		doc := browser.get("/admin/me/sessions", asHTML).wantStatus(t, http.StatusOK).doc(t)
		rows := doc.Find("#sessions tbody tr[data-session]")
		if rows.Length() != 2 {
			t.Fatalf("the page lists %d sessions, want 2", rows.Length())
		}
		cur := doc.Find("#sessions tr.current")
		if cur.Length() != 1 || !strings.Contains(cur.Text(), "this session") || cur.Find(".browser").Text() != "Firefox 128 on Linux" {
			t.Errorf("the current row reads %q", cur.Text())
		}
		if got := cur.Find(".browser").AttrOr("title", ""); got != firefoxUA {
			t.Errorf("the full User-Agent is not shown: %q", got)
		}

		t.Run("sessions idle too long are not listed", func(t *testing.T) {
			app.clock.Advance(20 * time.Minute)
			script.sessions() // the script is active (by its cookie: its token lives 30 min); the browser is not
			app.clock.Advance(15 * time.Minute)
			items := script.sessions()
			if len(items) != 1 || !items[0].Current {
				t.Errorf("after 35 idle minutes the browser's session is still listed: %+v", items)
			}
		})
	})
}

func TestRevokeSession(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		app.createUser(t, "bob@example.com", goodPassword)

		t.Run("a browser ends another browser's session", func(t *testing.T) {
			me, other := app.client(t), app.client(t)
			me.loginForm("ada@example.com", goodPassword)
			other.loginForm("ada@example.com", goodPassword)
			var target string
			for _, s := range other.sessions() {
				if s.Current {
					target = s.ID
				}
			}
			me.post("/admin/me/sessions/"+target+"/revoke", nil, asHTML).wantRedirect(t, "/admin/me/sessions?flash=session_ended")
			doc := me.get("/admin/me/sessions?flash=session_ended", asHTML).wantStatus(t, http.StatusOK).doc(t)
			if got := doc.Find(".flash").Text(); got != "The session has been ended." {
				t.Errorf("flash = %q", got)
			}
			if n := doc.Find("tr[data-session=\"" + target + "\"]").Length(); n != 0 {
				t.Errorf("the ended session is still listed")
			}
			other.get("/admin/me", asHTML).wantRedirect(t, "/auth/login?next=%2Fadmin%2Fme&state=5")
		})

		t.Run("an API client ends another client's session, cookie and token", func(t *testing.T) {
			me, other := app.client(t), app.client(t)
			myToken := me.loginAPI("ada@example.com", goodPassword)
			otherToken := other.loginAPI("ada@example.com", goodPassword)
			target := current(t, other.sessions(bearer(otherToken.AccessToken))).ID
			var body struct{ Detail string }
			me.post("/api/me/sessions/"+target+"/revoke", nil, bearer(myToken.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &body)
			if body.Detail != "Session ended" {
				t.Errorf("detail = %q", body.Detail)
			}
			resp := other.get("/api/me", bearer(otherToken.AccessToken))
			resp.wantProblem(t, http.StatusUnauthorized, "invalid_token")
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			other.get("/api/me").wantProblem(t, http.StatusUnauthorized, "not_authenticated") // its cookie
			me.get("/api/me", bearer(myToken.AccessToken)).wantStatus(t, http.StatusOK)
		})

		t.Run("someone else's session is not found", func(t *testing.T) {
			me, bob := app.client(t), app.client(t)
			tok := me.loginAPI("ada@example.com", goodPassword)
			bobToken := bob.loginAPI("bob@example.com", goodPassword)
			bobs := current(t, bob.sessions(bearer(bobToken.AccessToken))).ID
			for _, id := range []string{bobs, "no-such-session"} {
				me.post("/api/me/sessions/"+id+"/revoke", nil, bearer(tok.AccessToken)).wantProblem(t, http.StatusNotFound, "not_found")
			}
			browser := app.client(t)
			browser.loginForm("ada@example.com", goodPassword)
			browser.post("/admin/me/sessions/"+bobs+"/revoke", nil, asHTML).wantStatus(t, http.StatusNotFound).doc(t)
			bob.get("/api/me", bearer(bobToken.AccessToken)).wantStatus(t, http.StatusOK)
		})

		t.Run("ending the session a browser is on logs it out", func(t *testing.T) {
			c := app.client(t)
			c.loginForm("ada@example.com", goodPassword)
			id := current(t, c.sessions()).ID
			c.post("/admin/me/sessions/"+id+"/revoke", nil, asHTML).wantRedirect(t, "/auth/login?state=4")
			if c.cookieValue() != "" {
				t.Errorf("the cookie was not cleared")
			}
			c.get("/admin/me", asHTML).wantRedirect(t, "/auth/login?next=%2Fadmin%2Fme&state=2")
		})

		t.Run("log out everywhere else", func(t *testing.T) {
			ada := app.client(t)
			ada.loginForm("ada@example.com", goodPassword)
			others := []*client{app.client(t), app.client(t)}
			var tokens []token
			for _, o := range others {
				tokens = append(tokens, o.loginAPI("ada@example.com", goodPassword))
			}
			bob := app.client(t)
			bobToken := bob.loginAPI("bob@example.com", goodPassword)

			var body struct {
				Detail string `json:"detail"`
				Ended  int    `json:"ended"`
			}
			ada.post("/api/me/sessions/revoke-others", nil).wantStatus(t, http.StatusOK).decode(t, &body)
			if body.Ended < 2 || body.Detail == "" {
				t.Errorf("answer = %+v, want at least 2 ended", body)
			}
			for i, o := range others {
				o.get("/api/me", bearer(tokens[i].AccessToken)).wantProblem(t, http.StatusUnauthorized, "invalid_token")
			}
			if items := ada.sessions(); len(items) != 1 || !items[0].Current {
				t.Errorf("sessions left: %+v", items)
			}
			bob.get("/api/me", bearer(bobToken.AccessToken)).wantStatus(t, http.StatusOK)

			again := app.client(t)
			again.loginForm("ada@example.com", goodPassword)
			ada.post("/admin/me/sessions/revoke-others", nil, asHTML).wantRedirect(t, "/admin/me/sessions?flash=sessions_ended")
			again.get("/admin/me", asHTML).wantRedirect(t, "/auth/login?next=%2Fadmin%2Fme&state=5")
			if doc := ada.get("/admin/me/sessions?flash=sessions_ended", asHTML).doc(t); doc.Find(".flash").Text() != "Your other sessions have been ended." {
				t.Errorf("no flash after ending the other sessions")
			}
		})
	})
}

func TestUserAgentNotUTF8(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		odd := header{"User-Agent", "odd \xff\xfe agent"}
		c.post("/api/login", url.Values{"username": {"ada@example.com"}, "password": {goodPassword}}, odd).wantStatus(t, http.StatusOK)
		if got := current(t, c.sessions()).UserAgent; got != "odd \uFFFD agent" {
			t.Errorf("user_agent = %q, want the bad bytes replaced", got)
		}
		app.client(t).post("/api/register", map[string]string{"email": "new@example.com", "full_name": "New", "password": goodPassword}, odd).
			wantStatus(t, http.StatusCreated)
	})
}
