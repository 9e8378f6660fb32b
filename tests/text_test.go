package tests

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"gatehouse/config"
	"gatehouse/models"
)

// The contract's text rules (§9): names, titles and emails refuse control
// and format characters; post bodies keep newlines and tabs; an email must
// equal its NFKC form and only ASCII letters are case-folded; new
// passwords chosen on the web must be hard to guess; the CLI never writes
// a control character raw.

const (
	msgInvisible = "Remove the invisible or control characters."
	msgPlainMail = "Type the address in ordinary characters, without full-width letters or ligatures."
	msgTooEasy   = "This password is too easy to guess"
)

// manyAttempts lifts the login and sign-up throttles: these tests make
// more attempts from one IP than a person would.
func manyAttempts(c *config.Config) {
	c.LoginMaxFailures, c.LoginMaxFailuresPerIP = 1000, 1000
}

// signUpBoth posts the same sign-up as JSON and as the HTML form and wants
// 422 invalid_input with message on field in both.
func signUpBoth(t *testing.T, a *app, email, name, password, field, message string) {
	t.Helper()
	body := map[string]string{"email": email, "full_name": name, "password": password}
	p := a.client(t).post("/api/register", body).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
	if p.Fields[field] != message {
		t.Errorf("JSON fields = %v, want %s: %q", p.Fields, field, message)
	}
	form := url.Values{"email": {email}, "full_name": {name}, "password": {password}}
	doc := a.client(t).post("/auth/register", form, asHTML).wantStatus(t, http.StatusUnprocessableEntity).doc(t)
	if got := fieldMessage(doc, field); got != message {
		t.Errorf("page message for %s = %q, want %q", field, got, message)
	}
}

func TestTextAtSignUp(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, manyAttempts)
		cases := []struct {
			name, email, fullName, field, message string // field empty: accepted
		}{
			{"a name with accents, another script and emoji is taken", "zoe@example.com", "Zoë 李 😀", "", ""},
			{"an accented email is taken", "josé@example.com", "José", "", ""},
			{"a name with NUL is refused", "nul@example.com", "Ada\x00", "full_name", msgInvisible},
			{"a name with ESC is refused", "esc@example.com", "Ada\x1b[31mRed", "full_name", msgInvisible},
			{"a name with a bell is refused", "bel@example.com", "Ada\a", "full_name", msgInvisible},
			{"a name over two lines is refused", "lines@example.com", "Ada\r\nLovelace", "full_name", msgInvisible},
			{"a name with a right-to-left override is refused", "rlo@example.com", "Ada\u202eecalevoL", "full_name", msgInvisible},
			{"a name with a bidi isolate is refused", "iso@example.com", "Ada\u2066x\u2069", "full_name", msgInvisible},
			{"a name with a zero-width space is refused", "zwsp@example.com", "Ad\u200ba", "full_name", msgInvisible},
			{"a name with a byte-order mark is refused", "bom@example.com", "\ufeffAda", "full_name", msgInvisible},
			{"an email with a zero-width space is refused", "ada\u200b@example.com", "Ada", "email", msgInvisible},
			{"an email with a right-to-left override is refused", "ada\u202e@example.com", "Ada", "email", msgInvisible},
			{"an email with ESC is refused", "ada\x1b@example.com", "Ada", "email", msgInvisible},
			{"an email with full-width letters is refused", "\uff41\uff44\uff41@example.com", "Ada", "email", msgPlainMail},
			{"an email with a ligature is refused", "\ufb01nn@example.com", "Finn", "email", msgPlainMail},
			{"an email with a Kelvin sign is refused", "\u212Aate@example.com", "Kate", "email", msgPlainMail},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.field != "" {
					signUpBoth(t, app, tc.email, tc.fullName, goodPassword, tc.field, tc.message)
					return
				}
				var u userBody
				app.client(t).post("/api/register", map[string]string{"email": tc.email, "full_name": tc.fullName, "password": goodPassword}).
					wantStatus(t, http.StatusCreated).decode(t, &u)
				if u.Email != tc.email || u.FullName != tc.fullName {
					t.Errorf("stored %q, %q; want them as typed", u.Email, u.FullName)
				}
			})
		}
	})
}

func TestEmailsFoldOnlyASCII(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, manyAttempts)
		const alicePassword, otherPassword = "Tr0ub4dor&3 staple", "the other battery staple"
		var alice, other userBody
		app.client(t).post("/api/register", map[string]string{"email": "alice@example.com", "full_name": "Alice", "password": alicePassword}).
			wantStatus(t, http.StatusCreated).decode(t, &alice)

		t.Run("ALİCE is another address than alice and can sign up", func(t *testing.T) {
			app.client(t).post("/api/register", map[string]string{"email": "ALİCE@example.com", "full_name": "Other", "password": otherPassword}).
				wantStatus(t, http.StatusCreated).decode(t, &other)
			if other.ID == alice.ID || other.Email != "alİce@example.com" {
				t.Errorf("got %+v beside alice %+v, want a second account, İ kept", other, alice)
			}
		})

		cases := []struct {
			name, username, password string
			wantStatus               int
		}{
			{"alice in ASCII capitals is alice", "ALICE@example.com", alicePassword, http.StatusOK},
			{"ALİCE with alice's password fails", "ALİCE@example.com", alicePassword, http.StatusUnauthorized},
			{"strings.ToLower's spelling of ALİCE with alice's password fails", "ali\u0307ce@example.com", alicePassword, http.StatusUnauthorized},
			{"ALİCE with its own password is the other account", "ALİCE@example.com", otherPassword, http.StatusOK},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				form := url.Values{"username": {tc.username}, "password": {tc.password}}
				resp := app.client(t).post("/api/login", form).wantStatus(t, tc.wantStatus)
				if tc.wantStatus == http.StatusUnauthorized {
					if p := resp.problem(t); p.Error != "invalid_credentials" {
						t.Errorf("error = %q, want invalid_credentials", p.Error)
					}
					app.client(t).post("/auth/token", form, asHTML).wantStatus(t, http.StatusUnauthorized)
				}
			})
		}
	})
}

// TestLoginMalformedEmail: a username no account can have (control or
// format characters, non-NFKC, not UTF-8) is answered exactly like an
// unknown email, even with an account's password — never a 422 that would
// tell it apart (no account oracle).
func TestLoginMalformedEmail(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, manyAttempts)
		app.createUser(t, "ada@example.com", goodPassword)
		unknown := app.client(t).post("/api/login", url.Values{"username": {"nobody@example.com"}, "password": {goodPassword}}).
			wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		cases := []struct{ name, username string }{
			{"a zero-width space", "ada\u200b@example.com"},
			{"a right-to-left override", "\u202eada@example.com"},
			{"NUL", "ada\x00@example.com"},
			{"ESC", "ada\x1b@example.com"},
			{"full-width letters", "\uff41\uff44\uff41@example.com"},
			{"a ligature", "\ufb01@example.com"},
			{"bytes that are not UTF-8", "ada\xff@example.com"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				form := url.Values{"username": {tc.username}, "password": {goodPassword}}
				p := app.client(t).post("/api/login", form).wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
				if diff := cmp.Diff(unknown, p); diff != "" {
					t.Errorf("answer differs from an unknown email's (-unknown +got):\n%s", diff)
				}
				app.client(t).post("/auth/token", form, asHTML).wantStatus(t, http.StatusUnauthorized)
			})
		}
	})
}

func TestTextInAdminRename(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		browser, tok := asAdmin(t, app)
		bob := app.createUser(t, "bob@example.com", goodPassword, withName("Bob"))
		cases := []struct {
			name, fullName, message string // message empty: accepted
		}{
			{"a name with emoji is taken", "Bob 🚀", ""},
			{"ESC is refused", "Bob\x1b]0;owned\a", msgInvisible},
			{"a newline inside is refused", "Bob\nAdmin", msgInvisible},
			{"a tab inside is refused", "Bob\tAdmin", msgInvisible},
			{"a right-to-left override is refused", "Bob\u202enimdA", msgInvisible},
			{"a zero-width joiner is refused", "Bo\u200db", msgInvisible},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := app.client(t).patch("/api/users/"+userPath(bob.ID), map[string]any{"full_name": tc.fullName}, bearer(tok))
				if tc.message == "" {
					var u userBody
					resp.wantStatus(t, http.StatusOK).decode(t, &u)
					if u.FullName != tc.fullName {
						t.Errorf("name = %q, want %q", u.FullName, tc.fullName)
					}
					return
				}
				p := resp.wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
				if p.Fields["full_name"] != tc.message {
					t.Errorf("fields = %v, want full_name: %q", p.Fields, tc.message)
				}
				doc := browser.post("/admin/users/"+userPath(bob.ID), url.Values{"full_name": {tc.fullName}}, asHTML).
					wantStatus(t, http.StatusUnprocessableEntity).doc(t)
				if got := fieldMessage(doc, "full_name"); got != tc.message {
					t.Errorf("page message = %q, want %q", got, tc.message)
				}
			})
		}
		if u, err := app.store.UserByID(t.Context(), bob.ID); err != nil || u.FullName != "Bob 🚀" {
			t.Errorf("bob's name = %q (%v), want only the good change kept", u.FullName, err)
		}
	})
}

func TestTextInPosts(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", goodPassword)
		c := app.client(t)
		c.loginForm("ada@example.com", goodPassword)
		cases := []struct {
			name, title, body, field, message string // field empty: accepted
		}{
			{"a body keeps newlines, carriage returns and tabs", "Lines", "one\r\ntwo\n\tindented", "", ""},
			{"a body keeps an emoji sequence joined by U+200D", "Emoji", "👩\u200d💻 at work", "", ""},
			{"a body keeps right-to-left marks", "RTL", "abc \u200fعربي", "", ""},
			{"a title with ESC is refused", "Title\x1b[2J", "text", "title", msgInvisible},
			{"a title over two lines is refused", "Title\nsecond", "text", "title", msgInvisible},
			{"a title with a tab is refused", "Title\tcolumn", "text", "title", msgInvisible},
			{"a title with a right-to-left override is refused", "txt.\u202eexe", "text", "title", msgInvisible},
			{"a title with a zero-width space is refused", "Ti\u200btle", "text", "title", msgInvisible},
			{"a body with NUL is refused", "T", "a\x00b", "body", msgInvisible},
			{"a body with ESC is refused", "T", "\x1b]0;owned\a", "body", msgInvisible},
			{"a body with a form feed is refused", "T", "page\fbreak", "body", msgInvisible},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := c.post("/api/posts", map[string]string{"title": tc.title, "body": tc.body})
				if tc.field == "" {
					var p postBody
					resp.wantStatus(t, http.StatusCreated).decode(t, &p)
					if p.Title != tc.title || p.Body != tc.body {
						t.Errorf("stored %q, %q; want them as written", p.Title, p.Body)
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
			})
		}
	})
}

func TestWeakPasswords(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db, manyAttempts)
		weak := []struct{ name, password string }{
			{"password", "password"},
			{"12345678", "12345678"},
			{"a keyboard walk", "qwertyuiop"},
			{"one letter repeated to the limit", strings.Repeat("p", 256)},
			{"the email's local part inside a passphrase", "correct ada horse"},
			{"the whole email inside", "my ada@example.com pw"},
			{"the local part in capitals", "ADA-correct-horse"},
		}
		t.Run("at sign-up", func(t *testing.T) {
			for _, tc := range weak {
				t.Run(tc.name, func(t *testing.T) {
					signUpBoth(t, app, "ada@example.com", "Ada Lovelace", tc.password, "password", msgTooEasy)
				})
			}
		})

		app.createUser(t, "ada@example.com", goodPassword)
		me := app.client(t)
		me.loginForm("ada@example.com", goodPassword)
		t.Run("at a change", func(t *testing.T) {
			for _, tc := range weak {
				t.Run(tc.name, func(t *testing.T) {
					body := map[string]string{"current_password": goodPassword, "new_password": tc.password}
					p := me.post("/api/me/password", body).wantProblem(t, http.StatusUnprocessableEntity, "invalid_input")
					if p.Fields["new_password"] != msgTooEasy {
						t.Errorf("fields = %v, want new_password: %q", p.Fields, msgTooEasy)
					}
					form := url.Values{"current_password": {goodPassword}, "new_password": {tc.password}}
					doc := me.post("/admin/me/password", form, asHTML).wantStatus(t, http.StatusUnprocessableEntity).doc(t)
					if got := fieldMessage(doc, "new_password"); got != msgTooEasy {
						t.Errorf("page message = %q, want %q", got, msgTooEasy)
					}
				})
			}
		})
		t.Run("the refused changes left the password as it was", func(t *testing.T) {
			app.client(t).loginAPI("ada@example.com", goodPassword)
		})
	})
}

// TestCLIText: the CLI refuses what the web refuses in names and emails,
// applies only the length rules to passwords, and never writes a control
// character raw — names and emails that reached the database some other
// way (an older version, a provider) are printed escaped, and a tab in a
// name does not break the columns of user list.
func TestCLIText(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		c := newCLI(t, db)
		c.mustRun("", "migrate")

		refused := []struct {
			name, email, fullName, want string
		}{
			{"a name with ESC", "esc@example.com", "Ada\x1b[2J", msgInvisible},
			{"a name with a right-to-left override", "rlo@example.com", "Ada\u202e", msgInvisible},
			{"an email with a zero-width space", "ada\u200b@example.com", "Ada", msgInvisible},
			{"an email with full-width letters", "\uff41da@example.com", "Ada", msgPlainMail},
		}
		for _, tc := range refused {
			t.Run(tc.name+" is refused", func(t *testing.T) {
				_, errOut, code := c.run("correct horse battery\n", "user", "add", "--email", tc.email, "--name", tc.fullName, "--password-stdin")
				if code != 1 || !strings.Contains(errOut, tc.want) {
					t.Errorf("exit %d, stderr %q; want exit 1 mentioning %q", code, errOut, tc.want)
				}
				if strings.ContainsFunc(errOut, isRawControl) {
					t.Errorf("stderr holds a raw control character: %q", errOut)
				}
			})
		}

		t.Run("an easy password is the administrator's choice", func(t *testing.T) {
			c.mustRun("12345678\n", "user", "add", "--email", "ada@example.com", "--name", "Zoë 😀", "--password-stdin")
			c.mustRun("password\n", "user", "passwd", "ada@example.com", "--password-stdin")
		})

		store, err := models.Open(cliDatabaseURL(t, c), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []*models.User{
			{Email: "evil\x1b[31m@example.com", FullName: "Evil\x1b]0;owned\a", Scopes: "user:read"},
			{Email: "tab@example.com", FullName: "Tab\tSeparated\nName\u202e", Scopes: "user:read"},
		} {
			if err := store.CreateUser(context.Background(), u); err != nil {
				t.Fatal(err)
			}
		}
		store.Close()

		t.Run("user list escapes control and format characters and keeps its columns", func(t *testing.T) {
			out := c.mustRun("", "user", "list")
			if strings.ContainsFunc(out, isRawControl) {
				t.Errorf("user list writes a raw control character:\n%q", out)
			}
			for _, want := range []string{"Zoë 😀", `evil\x1b[31m@example.com`, `Evil\x1b]0;owned\a`, `Tab\tSeparated\nName\u202e`} {
				if !strings.Contains(out, want) {
					t.Errorf("user list lacks %q:\n%s", want, out)
				}
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 4 {
				t.Fatalf("user list has %d lines, want a header and 3 users:\n%s", len(lines), out)
			}
			// tabwriter aligns by characters, not bytes.
			column := utf8.RuneCountInString(lines[0][:strings.Index(lines[0], "SCOPES")])
			for _, line := range lines[1:] {
				if r := []rune(line); len(r) < column || !strings.HasPrefix(string(r[column:]), "user:read") {
					t.Errorf("the scopes column is out of line in %q", line)
				}
			}
		})
		t.Run("disable and passwd print the email escaped", func(t *testing.T) {
			out := c.mustRun("", "user", "disable", "evil\x1b[31m@example.com")
			if out != "disabled evil\\x1b[31m@example.com\n" {
				t.Errorf("user disable said %q", out)
			}
			out = c.mustRun("correct horse battery\n", "user", "passwd", "evil\x1b[31m@example.com", "--password-stdin")
			if strings.ContainsFunc(out, isRawControl) || !strings.Contains(out, `evil\x1b[31m@example.com`) {
				t.Errorf("user passwd said %q", out)
			}
		})
	})
}

// isRawControl reports a control or format character other than the
// newline that ends each line of output.
func isRawControl(r rune) bool { return r != '\n' && models.IsInvisible(r) }

// cliDatabaseURL is the DATABASE_URL the CLI c runs with.
func cliDatabaseURL(t *testing.T, c *cli) string {
	t.Helper()
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok {
			return v
		}
	}
	t.Fatal("the CLI has no DATABASE_URL")
	return ""
}
