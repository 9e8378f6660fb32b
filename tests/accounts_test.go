package tests

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"gatehouse/auth"
	"gatehouse/config"
)

// userBody is the contract's user object (§2).
type userBody struct {
	ID        uint64    `json:"id"`
	Email     string    `json:"email"`
	FullName  string    `json:"full_name"`
	Scopes    []string  `json:"scopes"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	Providers []string  `json:"providers"`
	// EmailVerified: contract §6.
	EmailVerified bool `json:"email_verified"`
}

// eventBody is one security-log entry.
type eventBody struct {
	Kind      string    `json:"kind"`
	At        time.Time `json:"at"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Detail    string    `json:"detail"`
}

// eventsBody is GET /api/me/events: the security log, newest first.
type eventsBody struct {
	Items []eventBody `json:"items"`
}

func (c *client) patch(path string, body any, headers ...header) *response {
	c.t.Helper()
	return c.do(http.MethodPatch, path, body, headers...)
}

// wantProblem fails the test unless the response is status with the JSON
// error code, and returns the error body.
func (r *response) wantProblem(t *testing.T, status int, code string) problemBody {
	t.Helper()
	r.wantStatus(t, status)
	p := r.problem(t)
	if p.Error != code {
		t.Fatalf("error = %q, want %q (%s)", p.Error, code, r.Body)
	}
	return p
}

// fieldMessage is the message a page shows under the form field with id.
func fieldMessage(doc *goquery.Document, id string) string {
	return strings.TrimSpace(doc.Find("#" + id).NextUntil("label").Filter(".field-error").Text())
}

// eventKinds lists the kinds of events, newest first.
func eventKinds(events []eventBody) []string {
	out := []string{}
	for _, e := range events {
		out = append(out, e.Kind)
	}
	return out
}

func noRegistration(c *config.Config) { c.AllowRegistration = false }

const goodPassword = "correct horse battery"

func TestRegister(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)

		t.Run("an API client gets 201 and the user object with the default scopes", func(t *testing.T) {
			body := map[string]any{"email": "  Ada@Example.COM ", "full_name": "Ada Lovelace", "password": goodPassword,
				"scopes": []string{"admin:write"}} // a client cannot choose scopes
			resp := app.client(t).post("/api/register", body).wantStatus(t, http.StatusCreated)
			var u userBody
			resp.decode(t, &u)
			want := userBody{ID: u.ID, Email: "ada@example.com", FullName: "Ada Lovelace", Scopes: []string{"user:read", "user:write"},
				CreatedAt: u.CreatedAt, Providers: []string{"password"}}
			if diff := cmp.Diff(want, u); diff != "" || u.ID == 0 || u.CreatedAt.IsZero() {
				t.Errorf("user (-want +got):\n%s", diff)
			}
			if strings.Contains(strings.ToLower(string(resp.Body)), "hash") || strings.Contains(string(resp.Body), goodPassword) {
				t.Errorf("the answer shows a password or its hash: %s", resp.Body)
			}
			app.client(t).loginAPI("ada@example.com", goodPassword)
		})

		t.Run("a browser is logged in and sent home", func(t *testing.T) {
			c := app.client(t)
			doc := c.get("/auth/register", asHTML).wantStatus(t, http.StatusOK).doc(t)
			if doc.Find(`form[action="/auth/register"] input[name=password]`).Length() != 1 {
				t.Fatalf("the sign-up page has no form")
			}
			form := url.Values{"email": {"grace@example.com"}, "full_name": {"Grace Hopper"}, "password": {goodPassword}}
			c.post("/auth/register", form, asHTML).wantRedirect(t, "/auth/home")
			home := c.get("/auth/home", asHTML).wantStatus(t, http.StatusOK).doc(t)
			if !strings.Contains(home.Find("h1").Text(), "Grace Hopper") {
				t.Errorf("home does not greet the new user")
			}
			c.get("/auth/register", asHTML).wantRedirect(t, "/auth/home")
			var log eventsBody
			c.get("/api/me/events").wantStatus(t, http.StatusOK).decode(t, &log)
			if diff := cmp.Diff([]string{"login_succeeded", "registered"}, eventKinds(log.Items)); diff != "" {
				t.Errorf("security log (-want +got):\n%s", diff)
			}
		})

		t.Run("an email already registered is 409, in any case or spacing", func(t *testing.T) {
			app.createUser(t, "taken@example.com", goodPassword)
			body := map[string]string{"email": " TAKEN@example.com", "full_name": "Someone", "password": goodPassword}
			p := app.client(t).post("/api/register", body).wantProblem(t, http.StatusConflict, "email_taken")
			if p.Fields["email"] == "" {
				t.Errorf("409 without a message for the email field: %+v", p)
			}
			form := url.Values{"email": {" TAKEN@example.com"}, "full_name": {"Someone"}, "password": {goodPassword}}
			page := app.client(t).post("/auth/register", form, asHTML).wantStatus(t, http.StatusConflict)
			doc := page.doc(t)
			if got := fieldMessage(doc, "email"); got != "An account with this email already exists." {
				t.Errorf("email message = %q", got)
			}
			if got, _ := doc.Find("#email").Attr("value"); got != " TAKEN@example.com" {
				t.Errorf("the form lost the email: %q", got)
			}
		})

		t.Run("a password is taken exactly as typed", func(t *testing.T) {
			spaced := "  spaced out password  "
			app.client(t).post("/api/register", map[string]string{"email": "gap@example.com", "full_name": "S", "password": spaced}).
				wantStatus(t, http.StatusCreated)
			app.client(t).post("/api/login", url.Values{"username": {"gap@example.com"}, "password": {strings.TrimSpace(spaced)}}).
				wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
			app.client(t).loginAPI("gap@example.com", spaced)
		})
	})
}

func TestRegisterValidation(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		cases := []struct {
			name                      string
			email, fullName, password string
			field, message            string // empty: accepted
		}{
			{"a malformed email", "not-an-email", "Ada", goodPassword, "email", "Enter a valid email address."},
			{"no email", "", "Ada", goodPassword, "email", "Enter your email."},
			{"an email over 254 characters", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", "Ada", goodPassword, "email", "Use at most 254 characters."},
			{"no name", "noname@example.com", "   ", goodPassword, "full_name", "Enter your name."},
			{"a name over 200 characters", "long@example.com", strings.Repeat("n", 201), goodPassword, "full_name", "Use at most 200 characters."},
			{"a password of 7 characters", "seven@example.com", "Ada", "1234567", "password", "Use at least 8 characters."},
			{"a password of 257 characters", "long-pw@example.com", "Ada", strings.Repeat("p", 257), "password", "Use at most 256 characters."},
			{"the email as password, in another case", "same@example.com", "Ada", "SAME@example.com", "password", "Your password must not be your email."},
			{"a password of 8 characters", "eight@example.com", "Ada", "Tq7#mZ2p", "", ""},
			{"a password of 256 characters", "max-pw@example.com", "Ada", strings.Repeat("Tr0ub4dor&3 correct horse battery staple ", 7)[:256], "", ""},
			{"a password of 8 multi-byte characters", "runes@example.com", "Ada", "éééééééé", "", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				body := map[string]string{"email": tc.email, "full_name": tc.fullName, "password": tc.password}
				resp := app.client(t).post("/api/register", body)
				if tc.field == "" {
					resp.wantStatus(t, http.StatusCreated)
					return
				}
				p := resp.wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
				if p.Fields[tc.field] != tc.message {
					t.Errorf("fields = %v, want %s: %q", p.Fields, tc.field, tc.message)
				}

				form := url.Values{"email": {tc.email}, "full_name": {tc.fullName}, "password": {tc.password}}
				page := app.client(t).post("/auth/register", form, asHTML).wantStatus(t, http.StatusUnprocessableEntity)
				doc := page.doc(t)
				if got := fieldMessage(doc, tc.field); got != tc.message {
					t.Errorf("page message for %s = %q, want %q", tc.field, got, tc.message)
				}
				if got, _ := doc.Find("#email").Attr("value"); got != tc.email {
					t.Errorf("the form lost the email: %q, want %q", got, tc.email)
				}
				if got, _ := doc.Find("#full_name").Attr("value"); got != tc.fullName {
					t.Errorf("the form lost the name: %q, want %q", got, tc.fullName)
				}
				if _, has := doc.Find("#password").Attr("value"); has || (len(tc.password) > 3 && strings.Contains(string(page.Body), tc.password)) {
					t.Errorf("the page repeats the password")
				}
			})
		}
		t.Run("a body that is not JSON is 400", func(t *testing.T) {
			app.client(t).post("/api/register", `{"email":`).wantProblem(t, http.StatusBadRequest, "bad_request")
		})
	})
}

func TestRegistrationOff(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, noRegistration)
		c := app.client(t)
		c.get("/auth/register", asHTML).wantStatus(t, http.StatusNotFound).doc(t)
		c.post("/auth/register", url.Values{"email": {"a@example.com"}, "full_name": {"A"}, "password": {goodPassword}}, asHTML).
			wantStatus(t, http.StatusNotFound).doc(t)
		c.post("/api/register", map[string]string{"email": "a@example.com", "full_name": "A", "password": goodPassword}).
			wantProblem(t, http.StatusNotFound, "not_found")
		if c.get("/auth/login", asHTML).doc(t).Find(`a[href="/auth/register"]`).Length() != 0 {
			t.Errorf("the login page offers sign-up while it is off")
		}
		app.client(t).post("/api/login", url.Values{"username": {"a@example.com"}, "password": {goodPassword}}).
			wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
	})
}

// TestMe pins GET /api/me to the user object alone (contract §2): exactly
// its fields, by bearer token and by cookie; the security log has a route
// of its own.
func TestMe(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword, withName("Ada Lovelace"))
		c := app.client(t)
		tok := c.loginAPI("ada@example.com", goodPassword)
		want := []string{"created_at", "disabled", "email", "email_verified", "full_name", "id", "mfa", "providers", "scopes"}
		for name, headers := range map[string][]header{"by bearer": {bearer(tok.AccessToken)}, "by cookie": nil} {
			var me map[string]any
			c.get("/api/me", headers...).wantStatus(t, http.StatusOK).decode(t, &me)
			if diff := cmp.Diff(want, slices.Sorted(maps.Keys(me))); diff != "" {
				t.Errorf("%s: /api/me fields (-want +got):\n%s", name, diff)
			}
			if me["email"] != "ada@example.com" || me["full_name"] != "Ada Lovelace" {
				t.Errorf("%s: /api/me = %v", name, me)
			}
		}
	})
}

func TestSecurityLog(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		firefox := header{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}

		app.client(t).post("/api/login", url.Values{"username": {"ada@example.com"}, "password": {"wrong password"}}, firefox).
			wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		app.client(t).post("/api/login", url.Values{"username": {"nobody@example.com"}, "password": {"wrong password"}}).
			wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		other := app.client(t)
		tok := other.loginAPI("ada@example.com", goodPassword)
		other.post("/api/logout", nil, bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
		c := app.client(t)
		c.post("/auth/token", url.Values{"username": {"ada@example.com"}, "password": {goodPassword}}, asHTML, firefox).
			wantRedirect(t, "/auth/home")

		var log eventsBody
		c.get("/api/me/events").wantStatus(t, http.StatusOK).decode(t, &log)
		want := []string{"login_succeeded", "logout", "login_succeeded", "login_failed"}
		if diff := cmp.Diff(want, eventKinds(log.Items)); diff != "" {
			t.Fatalf("events, newest first (-want +got):\n%s", diff)
		}
		failed := log.Items[3]
		if failed.IP != "127.0.0.1" || !strings.Contains(failed.UserAgent, "Firefox/128.0") || failed.Detail != "wrong password" || failed.At.IsZero() {
			t.Errorf("the failed login event = %+v", failed)
		}

		doc := c.get("/admin/me", asHTML).wantStatus(t, http.StatusOK).doc(t)
		rows := doc.Find("#events tbody tr")
		if rows.Length() != 4 {
			t.Fatalf("My info shows %d events, want 4", rows.Length())
		}
		last := rows.Last()
		if got := last.AttrOr("data-kind", ""); got != "login_failed" {
			t.Errorf("the oldest row is %q", got)
		}
		if text := last.Text(); !strings.Contains(text, "Failed login") || !strings.Contains(text, "Firefox 128 on Linux") || !strings.Contains(text, "127.0.0.1") {
			t.Errorf("the failed login row reads %q", text)
		}

		t.Run("the last 20 by default, up to 100 with limit", func(t *testing.T) {
			for range 20 {
				app.client(t).loginAPI("ada@example.com", goodPassword)
			}
			var log eventsBody
			c.get("/api/me/events").wantStatus(t, http.StatusOK).decode(t, &log)
			if len(log.Items) != 20 {
				t.Errorf("%d events, want 20", len(log.Items))
			}
			if n := c.get("/admin/me", asHTML).doc(t).Find("#events tbody tr").Length(); n != 20 {
				t.Errorf("the page shows %d events, want 20", n)
			}
			c.get("/api/me/events?limit=3").wantStatus(t, http.StatusOK).decode(t, &log)
			if got := eventKinds(log.Items); !cmp.Equal(got, []string{"login_succeeded", "login_succeeded", "login_succeeded"}) {
				t.Errorf("limit=3: got %v, want the three newest", got)
			}
			c.get("/api/me/events?limit=100").wantStatus(t, http.StatusOK).decode(t, &log)
			if len(log.Items) != 24 {
				t.Errorf("limit=100: %d events, want all 24", len(log.Items))
			}
			if n := c.get("/admin/me/events?limit=100", asHTML).wantStatus(t, http.StatusOK).doc(t).Find("#events tbody tr").Length(); n != 24 {
				t.Errorf("the security log page shows %d events, want 24", n)
			}
		})

		t.Run("a limit outside 1 to 100 is refused in both formats", func(t *testing.T) {
			for _, limit := range []string{"0", "101", "-1"} {
				p := c.get("/api/me/events?limit="+limit).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
				if p.Fields["limit"] == "" {
					t.Errorf("limit=%s: got fields %v, want one for limit", limit, p.Fields)
				}
				c.get("/admin/me/events?limit="+limit, asHTML).wantStatus(t, http.StatusUnprocessableEntity)
			}
			c.get("/api/me/events?limit=ten").wantProblem(t, http.StatusBadRequest, "bad_request")
		})
	})
}

// adminUser makes an administrator (all four scopes).
func adminUser(t *testing.T, a *app) {
	t.Helper()
	a.createUser(t, "root@example.com", goodPassword, withScopes(auth.AllScopes...), withName("Root Admin"))
}
