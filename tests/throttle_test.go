package tests

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/config"
)

func trustProxy(cidr string) option {
	return func(c *config.Config) { c.TrustedProxies = append(c.TrustedProxies, netip.MustParsePrefix(cidr)) }
}

func from(ip string) header { return header{"X-Forwarded-For", ip} }

// TestLoginThrottle: 5 failures for one account from one IP, or 20 from
// one IP, within 15 minutes get that client 429 too_many_attempts with
// Retry-After — even with the right password — until the window passes;
// the owner on another IP is not locked out.
func TestLoginThrottle(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		t.Run("per account and IP", func(t *testing.T) {
			app := newApp(t, db, trustProxy("127.0.0.1/32"))
			app.createUser(t, "ada@example.com", "correct horse battery")
			attacker := app.client(t)
			wrong := formOf("username", "ada@example.com", "password", "guess")
			right := formOf("username", "ada@example.com", "password", "correct horse battery")
			for i := 0; i < 5; i++ {
				attacker.post("/api/login", wrong, from("203.0.113.9")).wantStatus(t, http.StatusUnauthorized)
			}
			resp := attacker.post("/api/login", right, from("203.0.113.9")).wantStatus(t, http.StatusTooManyRequests)
			if p := resp.problem(t); p.Error != "too_many_attempts" {
				t.Errorf("error = %q", p.Error)
			}
			retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || retry < 1 || retry > 15*60 {
				t.Errorf("Retry-After = %q, want 1..900 seconds", resp.Header.Get("Retry-After"))
			}
			page := attacker.post("/auth/token", right, from("203.0.113.9"), asHTML).wantStatus(t, http.StatusTooManyRequests)
			if page.doc(t).Find("#problem").Text() == "" {
				t.Errorf("the login page shows no message for 429")
			}
			app.client(t).post("/api/login", right, from("198.51.100.7")).wantStatus(t, http.StatusOK)

			app.clock.Advance(15*time.Minute + time.Second)
			attacker.post("/api/login", right, from("203.0.113.9")).wantStatus(t, http.StatusOK)
		})
		t.Run("concurrent guesses cannot outrun the count", func(t *testing.T) {
			app := newApp(t, db)
			app.createUser(t, "ada@example.com", "correct horse battery")
			const guesses = 30
			statuses := make(chan int, guesses)
			var wg sync.WaitGroup
			for i := 0; i < guesses; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					form := formOf("username", "ada@example.com", "password", "guess "+strconv.Itoa(i))
					req, _ := http.NewRequest(http.MethodPost, app.URL+"/api/login", strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					statuses <- resp.StatusCode
				}()
			}
			wg.Wait()
			close(statuses)
			counted := map[int]int{}
			for s := range statuses {
				counted[s]++
			}
			if counted[http.StatusUnauthorized] > 5 || counted[http.StatusUnauthorized]+counted[http.StatusTooManyRequests] != guesses {
				t.Errorf("answers = %v, want at most 5 password checks (401) and 429 for the rest", counted)
			}
		})
		t.Run("per IP across accounts", func(t *testing.T) {
			app := newApp(t, db, trustProxy("127.0.0.1/32"))
			app.createUser(t, "ada@example.com", "correct horse battery")
			c := app.client(t)
			for i := 0; i < 20; i++ {
				form := formOf("username", "user"+strconv.Itoa(i)+"@example.com", "password", "guess")
				c.post("/api/login", form, from("203.0.113.9")).wantStatus(t, http.StatusUnauthorized)
			}
			c.post("/api/login", formOf("username", "ada@example.com", "password", "correct horse battery"), from("203.0.113.9")).
				wantStatus(t, http.StatusTooManyRequests)
		})
		t.Run("X-Forwarded-For from an untrusted peer is ignored", func(t *testing.T) {
			app := newApp(t, db) // no TRUSTED_PROXIES: the socket's IP counts
			app.createUser(t, "ada@example.com", "correct horse battery")
			c := app.client(t)
			for i := 0; i < 5; i++ {
				c.post("/api/login", formOf("username", "ada@example.com", "password", "guess"), from("10.0.0."+strconv.Itoa(i))).
					wantStatus(t, http.StatusUnauthorized)
			}
			c.post("/api/login", formOf("username", "ada@example.com", "password", "correct horse battery"), from("10.9.9.9")).
				wantStatus(t, http.StatusTooManyRequests)
		})
	})
}

// TestCrossSiteRequests: unsafe requests a browser marks as cross-site are
// refused with 403 cross_site_request, the login and logout forms
// included; clients that send neither Sec-Fetch-Site nor Origin pass.
func TestCrossSiteRequests(t *testing.T) {
	app := newApp(t, sqliteDB)
	app.createUser(t, "ada@example.com", "correct horse battery")
	login := formOf("username", "ada@example.com", "password", "correct horse battery")
	cases := []struct {
		name    string
		path    string
		headers []header
		want    int
	}{
		{"a cross-site login form", "/auth/token", []header{asHTML, {"Sec-Fetch-Site", "cross-site"}}, http.StatusForbidden},
		{"a cross-site JSON login", "/api/login", []header{{"Sec-Fetch-Site", "cross-site"}}, http.StatusForbidden},
		{"a foreign Origin without Sec-Fetch-Site", "/api/login", []header{{"Origin", "https://evil.example"}}, http.StatusForbidden},
		{"a cross-site logout", "/auth/logout", []header{asHTML, {"Sec-Fetch-Site", "cross-site"}}, http.StatusForbidden},
		{"same-origin", "/api/login", []header{{"Sec-Fetch-Site", "same-origin"}}, http.StatusOK},
		{"Postman-style, no browser headers", "/api/login", nil, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := app.client(t).post(tc.path, login, tc.headers...)
			resp.wantStatus(t, tc.want)
			if tc.want != http.StatusForbidden {
				return
			}
			if wantsHTML(tc.headers) {
				resp.doc(t)
				return
			}
			if p := resp.problem(t); p.Error != "cross_site_request" {
				t.Errorf("error = %q, want cross_site_request", p.Error)
			}
		})
	}
}

func wantsHTML(headers []header) bool {
	for _, h := range headers {
		if h == asHTML {
			return true
		}
	}
	return false
}

// TestDatabaseDown: /readyz answers 503 while the database is unreachable,
// and a request with a session cookie gets 503 — never a silent log-out.
func TestDatabaseDown(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", "correct horse battery")
		c := app.client(t)
		c.loginForm("ada@example.com", "correct horse battery")
		tok := c.loginAPI("ada@example.com", "correct horse battery")
		if err := app.store.Close(); err != nil {
			t.Fatal(err)
		}
		for _, resp := range []*response{
			c.get("/readyz"),
			c.get("/api/me"),
			app.client(t).get("/api/me", bearer(tok.AccessToken)),
			app.client(t).post("/api/login", formOf("username", "ada@example.com", "password", "correct horse battery")),
		} {
			resp.wantStatus(t, http.StatusServiceUnavailable)
			if p := resp.problem(t); p.Error != "unavailable" {
				t.Errorf("%s: error = %q, want unavailable", resp.Request.URL.Path, p.Error)
			}
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: no Retry-After", resp.Request.URL.Path)
			}
		}
		page := c.get("/admin/me", asHTML).wantStatus(t, http.StatusServiceUnavailable)
		page.doc(t)
		if clearsCookie(page, "session") {
			t.Errorf("a database failure logged the browser out")
		}
		c.get("/healthz").wantStatus(t, http.StatusOK)
	})
}

// TestSignupThrottle: sign-ups count per client IP like failed logins, so a
// flood of them (each holds an argon2id slot) or of email_taken probes
// ends in 429; another IP is not affected.
func TestSignupThrottle(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, trustProxy("127.0.0.1/32"), func(c *config.Config) { c.LoginMaxFailuresPerIP = 3 })
		c := app.client(t)
		for i := 0; i < 3; i++ {
			body := map[string]string{"email": "u" + strconv.Itoa(i) + "@example.com", "full_name": "U", "password": "correct horse battery"}
			c.post("/api/register", body, from("203.0.113.9")).wantStatus(t, http.StatusCreated)
		}
		body := map[string]string{"email": "late@example.com", "full_name": "Late", "password": "correct horse battery"}
		resp := c.post("/api/register", body, from("203.0.113.9")).wantStatus(t, http.StatusTooManyRequests)
		if p := resp.problem(t); p.Error != "too_many_attempts" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("problem = %+v, Retry-After %q", p, resp.Header.Get("Retry-After"))
		} else if strings.Contains(p.Detail, "login") {
			t.Errorf("a throttled sign-up says %q: it speaks of logins", p.Detail)
		}
		c.post("/api/register", body, from("198.51.100.7")).wantStatus(t, http.StatusCreated)
	})
}
