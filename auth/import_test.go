package auth

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"gatehouse/models"
)

// importInto runs an import of text and returns its counts and the
// reported lines (line → why).
func importInto(t *testing.T, f *fixture, text string, dryRun bool) (ImportResult, map[int]string) {
	t.Helper()
	skipped := map[int]string{}
	res, err := f.svc.ImportUsers(context.Background(), strings.NewReader(text), dryRun, func(line int, why string) {
		if _, twice := skipped[line]; twice {
			t.Errorf("line %d reported twice", line)
		}
		skipped[line] = why
	})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return res, skipped
}

func bcryptHash(t *testing.T, password, prefix string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + string(h[4:])
}

// TestImportUsers checks contract §12's import: good lines come in with
// what they say, every bad line, existing email and repeat is reported
// by its number and skipped, and a dry run reports the same and writes
// nothing.
func TestImportUsers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.createUser(t, "taken@example.com")
	argon, err := f.svc.hasher.hash(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		fmt.Sprintf(`{"email": "Ada@Example.com", "full_name": " Ada Lovelace ", "password_hash": %q, "scopes": ["admin:read", "user:read"], "email_verified": true, "created_at": "2020-01-02T03:04:05Z"}`, argon),
		fmt.Sprintf(`{"email": "devise@example.com", "password_hash": %q}`, bcryptHash(t, password, "$2a$")),
		fmt.Sprintf(`{"email": "php@example.com", "password_hash": %q, "disabled": true, "scopes": []}`, bcryptHash(t, password, "$2y$")),
		`{"email": "nohash@example.com"}`,
		``,         // 5: blank, ignored
		`not json`, // 6
		`{"email": "x@example.com", "fullname": "typo"}`,                                           // 7: unknown field
		`{"email": "not an email"}`,                                                                // 8
		`{"email": "s@example.com", "scopes": ["root"]}`,                                           // 9
		`{"email": "h@example.com", "password_hash": "md5$abc"}`,                                   // 10
		`{"email": "b@example.com", "password_hash": "$2b$10$short"}`,                              // 11: a broken bcrypt hash
		`{"email": "two@example.com"} {"email": "three@example.com"}`,                              // 12
		`{"email": "TAKEN@example.com"}`,                                                           // 13: an existing account
		`{"email": "ada@example.com"}`,                                                             // 14: a repeat of line 1
		`{"email": "n@example.com", "full_name": "bad\u001bname"}`,                                 // 15
		`{"email": "long@example.com", "full_name": "` + strings.Repeat("x", maxImportLine) + `"}`, // 16
		`{"email": "t@example.com", "created_at": "yesterday"}`,                                    // 17
		`{"email": 42}`,                 // 18
		`{"email": "last@example.com"}`, // 19, without a final newline
	}
	text := strings.Join(lines, "\n")
	wantSkipped := map[int]string{
		6: "malformed JSON", 7: `unknown field "fullname"`, 8: "email:", 9: "scopes:", 10: "password_hash:", 11: "password_hash: This bcrypt hash is malformed",
		12: "more than one JSON value", 13: "email: An account with this email already exists", 14: "the same address as line 1",
		15: "full_name:", 16: "longer than", 17: "created_at", 18: "email has the wrong type",
	}

	users, _ := f.store.CountUsers(ctx)
	dry, drySkipped := importInto(t, f, text, true)
	if after, _ := f.store.CountUsers(ctx); after != users {
		t.Errorf("a dry run changed the users: %d before, %d after", users, after)
	}
	res, skipped := importInto(t, f, text, false)
	if dry != res || !cmp.Equal(drySkipped, skipped) {
		t.Errorf("dry run %+v %v, real %+v %v: want the same", dry, drySkipped, res, skipped)
	}
	if res != (ImportResult{Imported: 5, Skipped: len(wantSkipped)}) {
		t.Errorf("result: got %+v, want 5 imported, %d skipped", res, len(wantSkipped))
	}
	var got []int
	for line, why := range skipped {
		got = append(got, line)
		if want := wantSkipped[line]; want == "" || !strings.Contains(why, want) {
			t.Errorf("line %d: skipped for %q, want it skipped for %q", line, why, want)
		}
	}
	sort.Ints(got)
	var want []int
	for line := range wantSkipped {
		want = append(want, line)
	}
	sort.Ints(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("skipped lines (-want +got):\n%s", diff)
	}

	ada, err := f.store.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if ada.FullName != "Ada Lovelace" || ada.Scopes != "user:read admin:read" || !ada.EmailVerified || ada.Disabled ||
		!ada.CreatedAt.Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) || ada.PasswordHash != argon {
		t.Errorf("ada as imported: %+v", ada)
	}
	php, _ := f.store.UserByEmail(ctx, "php@example.com")
	if php == nil || !php.Disabled || php.Scopes != "" {
		t.Errorf("php as imported: %+v", php)
	}
	if page, _ := f.store.ListUsers(ctx, models.UserQuery{Q: "lovelace", Limit: 10}); len(page.Users) != 1 {
		t.Errorf("an imported user is not found by a word of the name: %+v", page)
	}
	f.login(t, "ada@example.com") // the argon2id hash came in as it was
}

// TestImportedBcryptUpgrade checks that a bcrypt hash from an import lets
// its user in, and that the first good login replaces it with argon2id
// (the rehash a stale argon2id hash gets); a wrong password changes
// nothing.
func TestImportedBcryptUpgrade(t *testing.T) {
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		t.Run(prefix, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			hash := bcryptHash(t, password, prefix)
			importInto(t, f, fmt.Sprintf(`{"email": "old@example.com", "password_hash": %q}`, hash), false)
			_, err := f.svc.Login(ctx, Credentials{Username: "old@example.com", Password: "wrong password"}, client, nil)
			wantError(t, err, ErrInvalidCredentials)
			if u, _ := f.store.UserByEmail(ctx, "old@example.com"); u.PasswordHash != hash {
				t.Errorf("after a wrong password the hash changed to %q", u.PasswordHash)
			}
			f.login(t, "old@example.com")
			u, _ := f.store.UserByEmail(ctx, "old@example.com")
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
				t.Fatalf("after the first good login the hash is %q, want argon2id", u.PasswordHash)
			}
			f.login(t, "old@example.com") // and the new hash lets them in
		})
	}
}

// TestExportImportRoundTrip exports users, imports the export into a
// fresh database and exports again: the same lines.
func TestExportImportRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.createUser(t, "root@example.com", AllScopes...)
	importInto(t, f, strings.Join([]string{
		fmt.Sprintf(`{"email": "b@example.com", "full_name": "Bee Crypt", "password_hash": %q, "email_verified": true}`, bcryptHash(t, password, "$2b$")),
		`{"email": "p@example.com", "full_name": "Provider Only", "scopes": [], "disabled": true, "created_at": "2019-05-06T07:08:09.123456Z"}`,
	}, "\n"), false)
	var first bytes.Buffer
	if n, err := f.svc.ExportUsers(ctx, &first); err != nil || n != 3 {
		t.Fatalf("export: %d, %v", n, err)
	}
	g := newFixture(t)
	if res, skipped := importInto(t, g, first.String(), false); res.Imported != 3 || len(skipped) != 0 {
		t.Fatalf("importing the export: %+v %v", res, skipped)
	}
	var second bytes.Buffer
	if _, err := g.svc.ExportUsers(ctx, &second); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first.String(), second.String()); diff != "" {
		t.Errorf("export after the round trip (-first +second):\n%s", diff)
	}
	g.login(t, "root@example.com")
	g.login(t, "b@example.com")
}
