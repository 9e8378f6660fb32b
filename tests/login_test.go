package tests

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestLogin(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", "correct horse battery")
		app.createUser(t, "off@example.com", "correct horse battery", disabled)

		cases := []struct {
			name, username, password string
			wantStatus               int
			wantCode                 string // JSON "error"; empty on success
			wantMessage              string // shown on the HTML login page
		}{
			{"right password", "ada@example.com", "correct horse battery", http.StatusOK, "", ""},
			{"email is matched in canonical form", "  ADA@Example.com ", "correct horse battery", http.StatusOK, "", ""},
			{"wrong password", "ada@example.com", "wrong", http.StatusUnauthorized, "invalid_credentials", "Incorrect username or password"},
			{"unknown email gets the same answer", "bob@example.com", "wrong", http.StatusUnauthorized, "invalid_credentials", "Incorrect username or password"},
			{"disabled user with the right password", "off@example.com", "correct horse battery", http.StatusForbidden, "inactive_user", "Inactive user"},
			{"disabled user with a wrong password looks like anyone", "off@example.com", "nope", http.StatusUnauthorized, "invalid_credentials", "Incorrect username or password"},
			{"empty password", "ada@example.com", "", http.StatusUnprocessableEntity, "invalid_input", "Some fields are not valid."},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				form := url.Values{"username": {tc.username}, "password": {tc.password}}
				resp := app.client(t).post("/api/login", form)
				resp.wantStatus(t, tc.wantStatus)
				if tc.wantCode == "" {
					var tok token
					resp.decode(t, &tok)
					if tok.AccessToken == "" || tok.TokenType != "bearer" || tok.ExpiresIn != 1800 || tok.Scope != "user:read user:write" {
						t.Errorf("token response = %+v, want a bearer token of 1800 s for user:read user:write", tok)
					}
					if resp.Header.Get("Cache-Control") != "no-store" {
						t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
					}
					return
				}
				if got := resp.problem(t).Error; got != tc.wantCode {
					t.Errorf("error = %q, want %q", got, tc.wantCode)
				}
				page := app.client(t).post("/auth/token", form, asHTML).wantStatus(t, tc.wantStatus)
				doc := page.doc(t)
				if got := doc.Find("#problem").Text(); got != tc.wantMessage {
					t.Errorf("page message = %q, want %q", got, tc.wantMessage)
				}
				if got, _ := doc.Find("#username").Attr("value"); got != tc.username {
					t.Errorf("the email field = %q, want what was typed, %q", got, tc.username)
				}
				if strings.Contains(string(page.Body), tc.password) && tc.password != "" {
					t.Errorf("the page repeats the password")
				}
			})
		}
	})
}

func TestLoginFormats(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", "correct horse battery")
		bodies := map[string]any{
			"urlencoded form": url.Values{"username": {"ada@example.com"}, "password": {"correct horse battery"}, "grant_type": {"password"}},
			"multipart form":  multipartForm(map[string]string{"username": "ada@example.com", "password": "correct horse battery"}),
			"JSON":            map[string]string{"username": "ada@example.com", "password": "correct horse battery"},
		}
		for name, body := range bodies {
			t.Run(name, func(t *testing.T) {
				c := app.client(t)
				var tok token
				c.post("/api/login", body).wantStatus(t, http.StatusOK).decode(t, &tok)
				var me struct {
					Email string `json:"email"`
				}
				c.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK).decode(t, &me)
				if me.Email != "ada@example.com" {
					t.Errorf("me.email = %q", me.Email)
				}
			})
		}
	})
}

func TestBrowserLoginLogout(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", "correct horse battery", withName("Ada Lovelace"))
		c := app.client(t)

		doc := c.get("/", asHTML).wantStatus(t, http.StatusOK).doc(t)
		if doc.Find(`form[action="/auth/token"] input[name=password]`).Length() != 1 {
			t.Fatalf("the login page has no login form")
		}
		c.loginForm("ada@example.com", "correct horse battery")
		c.get("/", asHTML).wantRedirect(t, "/auth/home")
		home := c.get("/auth/home", asHTML).wantStatus(t, http.StatusOK)
		if !strings.Contains(home.doc(t).Find("h1").Text(), "Ada Lovelace") {
			t.Errorf("home does not greet the user: %s", home.Body)
		}
		if home.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("an authenticated page is cacheable")
		}
		me := c.get("/admin/me", asHTML).wantStatus(t, http.StatusOK).doc(t)
		if got := me.Find("#email").Text(); got != "ada@example.com" {
			t.Errorf("my info shows email %q", got)
		}
		c.post("/auth/logout", nil, asHTML).wantRedirect(t, "/auth/login?state=4")
		c.get("/auth/home", asHTML).wantRedirect(t, "/auth/login?next=%2Fauth%2Fhome&state=2")
		c.post("/auth/logout", nil, asHTML).wantRedirect(t, "/auth/login?state=1")
	})
}

// TestLoginScopes: a login may ask for fewer scopes with scope; it never
// gets more than the user has, and the token can do only what it got.
func TestLoginScopes(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", "correct horse battery")
		app.createUser(t, "root@example.com", "correct horse battery", withScopes("user:read", "user:write", "admin:read", "admin:write"))
		cases := []struct {
			name, email, scope, want string
		}{
			{"nothing asked: all the user has", "ada@example.com", "", "user:read user:write"},
			{"fewer asked", "ada@example.com", "user:read", "user:read"},
			{"more asked than the user has", "ada@example.com", "user:read admin:write", "user:read"},
			{"only scopes the user lacks", "ada@example.com", "admin:read", ""},
			{"an administrator, comma-separated", "root@example.com", "admin:read,user:read", "user:read admin:read"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := app.client(t)
				var tok token
				if tc.scope == "" {
					tok = c.loginAPI(tc.email, "correct horse battery")
				} else {
					tok = c.loginAPI(tc.email, "correct horse battery", tc.scope)
				}
				if tok.Scope != tc.want {
					t.Errorf("scope = %q, want %q", tok.Scope, tc.want)
				}
				me := app.client(t).get("/api/me", bearer(tok.AccessToken))
				if strings.Contains(" "+tc.want+" ", " user:read ") {
					me.wantStatus(t, http.StatusOK)
					return
				}
				me.wantStatus(t, http.StatusForbidden)
				if p := me.problem(t); p.Error != "insufficient_scope" {
					t.Errorf("error = %q", p.Error)
				}
				if got := me.Header.Get("WWW-Authenticate"); got != `Bearer error="insufficient_scope", scope="user:read"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				// The session the cookie rides on is narrowed the same way.
				c.get("/admin/me", asHTML).wantStatus(t, http.StatusForbidden).doc(t)
			})
		}
	})
}
