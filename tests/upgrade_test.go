package tests

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gatehouse/internal/testenv"
	"gatehouse/tests/oidctest"
)

// release is an earlier Gatehouse, built from this repository's history.
type release struct {
	name, commit string
	// full: it has what the last release before migrations has (posts,
	// mails, signing keys, provider logins, refresh tokens); the first
	// release has users, sessions and failed logins.
	full bool
}

var earlierReleases = []release{
	{"first", "af2bb97", false}, // the first commit: its main.go builds with today's toolchain
	{"last", "c8351d0", true},   // main just before versioned migrations
}

// TestUpgradeFromEarlierReleases (contract §12): a database an earlier
// release made and filled through its own CLI and API is taken over by
// this binary with every row kept. The new binary first refuses to serve
// it with MIGRATE_ON_START=false (its migrations are pending), then
// `gatehouse migrate` adopts it: every row is still there, the schema is
// exactly a fresh database's, and the old passwords, access and refresh
// tokens and provider logins still work.
func TestUpgradeFromEarlierReleases(t *testing.T) {
	for _, rel := range earlierReleases {
		t.Run(rel.name, func(t *testing.T) {
			t.Parallel()
			bin := buildRelease(t, rel.commit)
			eachDB(t, func(t *testing.T, db database) { upgradeFrom(t, rel, bin, db) })
		})
	}
}

func upgradeFrom(t *testing.T, rel release, oldBin string, db database) {
	const password = "correct horse battery staple"
	old := newCLI(t, db)
	old.bin = oldBin
	dbURL := old.setting("DATABASE_URL")
	if db != sqliteDB {
		// A cluster's URL names every node (CI's Galera pass); the first
		// release knew one host only, so it gets the first.
		old.env = append(old.env, "DATABASE_URL="+testenv.OnNodes(t, dbURL, testenv.Nodes(t, dbURL)[0]))
	}

	// The earlier release fills its database through its own CLI and API.
	old.mustRun(password+"\n", "user", "add", "--email", "ada@example.com", "--name", "Ada Lovelace", "--scopes", "user:read user:write", "--password-stdin")
	old.mustRun(password+"\n", "user", "add", "--email", "root@example.com", "--name", "Root", "--admin", "--password-stdin")
	var provider *oidctest.Provider
	addr := freeAddr(t)
	if rel.full {
		old.mustRun("", "keys", "rotate")
		provider = oidctest.Start(t, "http://"+addr+"/auth/oauth/oidc/callback")
		old.env = append(old.env, "BASE_URL=http://"+addr, "OIDC_ISSUER="+provider.Issuer,
			"OIDC_CLIENT_ID="+provider.ClientID, "OIDC_CLIENT_SECRET="+provider.ClientSecret, "OIDC_NAME=Acme")
	}
	srv := old.serveAt(addr)
	token := loginOver(t, srv.url, "ada@example.com", password, http.StatusOK)
	loginOver(t, srv.url, "ada@example.com", "wrong password", http.StatusUnauthorized)
	var providerUser string
	if rel.full {
		callAPI(t, http.MethodPost, srv.url+"/api/posts", token.Access, `{"title":"Notes","body":"On the Analytical Engine"}`, http.StatusCreated)
		callAPI(t, http.MethodPost, srv.url+"/api/register", "", `{"email":"grace@example.com","full_name":"Grace Hopper","password":"`+password+`"}`, http.StatusCreated)
		callAPI(t, http.MethodPost, srv.url+"/api/password/forgot", "", `{"email":"ada@example.com"}`, http.StatusAccepted)
		providerUser = loginWithProvider(t, srv.url, provider)
	}
	stopServer(t, srv)

	before := tableRows(t, testenv.Plain(t, dbURL), db)
	for _, table := range []string{"users", "sessions", "login_failures"} {
		if len(before[table]) == 0 {
			t.Fatalf("the earlier release left no %s rows", table)
		}
	}
	if rel.full {
		for _, table := range []string{"posts", "events", "mails", "signing_keys", "refresh_tokens", "identities", "user_search_terms", "hash_params"} {
			if len(before[table]) == 0 {
				t.Fatalf("the earlier release left no %s rows", table)
			}
		}
	}

	// This binary: pending migrations, a refusal to serve without them,
	// then the takeover.
	c := newCLI(t, db)
	c.env = append(c.env, "DATABASE_URL="+dbURL) // later entries win
	c.dir = old.dir                              // DATA_DIR: the secrets the earlier release generated
	versions, _ := knownMigrations(t)
	status := c.mustRun("", "migrate", "status")
	if got := strings.Count(status, "pending"); got != len(versions) {
		t.Errorf("migrate status on the earlier release's database: %d pending, want %d:\n%s", got, len(versions), status)
	}
	c.env = append(c.env, "MIGRATE_ON_START=false")
	_, errOut, code := c.run("", "serve", "--addr", "127.0.0.1:0")
	if lines := strings.Split(strings.TrimSpace(errOut), "\n"); code != 1 || len(lines) != 1 || !strings.Contains(errOut, "pending") || !strings.Contains(errOut, "gatehouse migrate") {
		t.Errorf("serve with MIGRATE_ON_START=false and pending migrations: exit %d, stderr %q; want 1 and one line", code, errOut)
	}
	if out := c.mustRun("", "migrate"); !strings.Contains(out, fmt.Sprintf("applied %d migration(s)", len(versions))) {
		t.Errorf("migrate said %q", out)
	}

	after := tableRows(t, testenv.Plain(t, dbURL), db)
	for table, rows := range before {
		for _, row := range rows {
			if !slices.ContainsFunc(after[table], func(r map[string]string) bool { return sameRow(row, r) }) {
				t.Errorf("%s: row %v is gone or changed after the upgrade", table, row)
			}
		}
	}
	fresh := newCLI(t, db)
	fresh.mustRun("", "migrate")
	freshURL := fresh.setting("DATABASE_URL")
	if want, got := schemaLines(t, testenv.Plain(t, freshURL), db), schemaLines(t, testenv.Plain(t, dbURL), db); !slices.Equal(want, got) {
		t.Errorf("schema after the upgrade differs from a fresh database's:\nfresh:    %v\nupgraded: %v", diffLines(want, got), diffLines(got, want))
	}

	// Everything still works on the new binary.
	// The same address and BASE_URL (the tokens' issuer) as before, as an
	// operator upgrading in place has.
	c.env = append(c.env, "MIGRATE_ON_START=true")
	if rel.full {
		c.env = append(c.env, "BASE_URL=http://"+addr, "OIDC_ISSUER="+provider.Issuer,
			"OIDC_CLIENT_ID="+provider.ClientID, "OIDC_CLIENT_SECRET="+provider.ClientSecret, "OIDC_NAME=Acme")
	}
	srv = c.serveAt(addr)
	if !rel.full {
		// The first release's tokens were HS256 JWTs; today's are signed
		// with the keys in signing_keys, so only its passwords carry over.
		loginOver(t, srv.url, "ada@example.com", password, http.StatusOK)
		return
	}
	me := callAPI(t, http.MethodGet, srv.url+"/api/me", token.Access, "", http.StatusOK)
	if !strings.Contains(me, "ada@example.com") {
		t.Errorf("/api/me with the earlier release's token: %s", me)
	}
	callAPI(t, http.MethodPost, srv.url+"/api/token", "", `{"grant_type":"refresh_token","refresh_token":"`+token.Refresh+`"}`, http.StatusOK)
	fresh2 := loginOver(t, srv.url, "grace@example.com", password, http.StatusOK)
	if posts := callAPI(t, http.MethodGet, srv.url+"/api/posts", token.Access, "", http.StatusOK); !strings.Contains(posts, "Analytical Engine") {
		t.Errorf("/api/posts after the upgrade: %s", posts)
	}
	callAPI(t, http.MethodGet, srv.url+"/api/me", fresh2.Access, "", http.StatusOK)
	if again := loginWithProvider(t, srv.url, provider); again != providerUser {
		t.Errorf("provider login after the upgrade: user %s, want the same user as before, %s", again, providerUser)
	}
}

// buildRelease builds the commit of this repository's history into a
// binary and returns its path. Builds are cached by commit under the
// user's cache directory, so a machine (or CI run) builds each once.
// Without git or the commit (a shallow clone), the test is skipped, or
// fails with CI=true.
func buildRelease(t *testing.T, commit string) string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	full, err := exec.Command("git", "-C", "..", "rev-parse", "--verify", commit+"^{commit}").Output()
	if err != nil {
		unavailable("release %s is not in this clone's history (git rev-parse: %v)", commit, err)
	}
	hash := strings.TrimSpace(string(full))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "gatehouse-test", "releases", hash, "gatehouse")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	src := t.TempDir()
	archive := exec.Command("bash", "-c", `git -C .. archive "$1" | tar -x -C "$2"`, "archive", hash, src)
	if out, err := archive.CombinedOutput(); err != nil {
		unavailable("git archive %s: %v\n%s", commit, err, out)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := bin + fmt.Sprintf(".%d", os.Getpid())
	build := exec.Command("go", "build", "-o", tmp, ".")
	build.Dir = src
	// Its own go.mod and go.sum; -mod=mod lets go fill what an old go.sum lacks.
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build release %s: %v\n%s", commit, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// tokens is a login's answer.
type tokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

// loginOver logs in at a running binary's /api/login and checks the status.
func loginOver(t *testing.T, base, email, password string, want int) tokens {
	t.Helper()
	resp, err := http.PostForm(base+"/api/login", formOf("username", email, "password", password))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("login %s: %d %s, want %d", email, resp.StatusCode, body, want)
	}
	var out tokens
	if want == http.StatusOK {
		if err := json.Unmarshal(body, &out); err != nil || out.Access == "" {
			t.Fatalf("login %s: %s (%v)", email, body, err)
		}
	}
	return out
}

// callAPI sends a JSON request, with a bearer token unless it is empty, and
// checks the status; it returns the body.
func callAPI(t *testing.T, method, url, bearer, body string, want int) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, out, want)
	}
	return string(out)
}

// loginWithProvider logs in through the OpenID Connect provider as its
// demo user, the way a single-page app does (the /api twins), and returns
// the Gatehouse user's id it lands on.
func loginWithProvider(t *testing.T, base string, p *oidctest.Provider) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) []byte {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
		}
		return body
	}
	var start struct{ URL string }
	if err := json.Unmarshal(get(base+"/api/oauth/oidc/login"), &start); err != nil || start.URL == "" {
		t.Fatalf("provider login start: %v", err)
	}
	username, password := p.User()
	back := p.Login(t, client, start.URL, username, password)
	var tok tokens
	if err := json.Unmarshal(get(base+"/api/oauth/oidc/callback?"+back.RawQuery), &tok); err != nil || tok.Access == "" {
		t.Fatalf("provider callback: %v", err)
	}
	var me struct{ ID json.Number }
	if err := json.Unmarshal([]byte(callAPI(t, http.MethodGet, base+"/api/me", tok.Access, "", http.StatusOK)), &me); err != nil || me.ID == "" {
		t.Fatalf("/api/me after the provider login: %v", err)
	}
	return me.ID.String()
}

// stopServer stops a running binary as an operator would (SIGTERM) and
// waits for it to exit 0.
func stopServer(t *testing.T, srv *server) {
	t.Helper()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.done:
		srv.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("the earlier release stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the earlier release did not stop within 30 s")
	}
}

// tableRows reads every row of every table but goose's, each as column →
// value.
func tableRows(t *testing.T, db *sql.DB, kind database) map[string][]map[string]string {
	t.Helper()
	list := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
	if kind != sqliteDB {
		list = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
	}
	out := map[string][]map[string]string{}
	for _, table := range queryStrings(t, db, list) {
		if strings.HasPrefix(table[0], "goose") || strings.HasPrefix(table[0], "gatehouse_migrate") {
			continue
		}
		rows, err := db.Query("SELECT * FROM " + table[0])
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		rows.Close()
		for _, r := range queryStrings(t, db, "SELECT * FROM "+table[0]) {
			row := map[string]string{}
			for i, c := range cols {
				row[c] = r[i]
			}
			out[table[0]] = append(out[table[0]], row)
		}
	}
	return out
}

// sameRow reports whether after has every column of before, with the
// same value (after may have columns before lacked).
func sameRow(before, after map[string]string) bool {
	for c, v := range before {
		if w, ok := after[c]; !ok || w != v {
			return false
		}
	}
	return true
}

// schemaLines describes every column and index of a database but goose's
// tables, one sorted line each, in a form that does not depend on the
// order columns were added in.
func schemaLines(t *testing.T, db *sql.DB, kind database) []string {
	t.Helper()
	var lines []string
	if kind == sqliteDB {
		for _, table := range queryStrings(t, db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'goose%' AND name <> 'sqlite_sequence'") {
			for _, r := range queryStrings(t, db, "SELECT name, type, \"notnull\", COALESCE(dflt_value, 'NULL'), pk FROM pragma_table_info(?)", table[0]) {
				r[3] = strings.ReplaceAll(r[3], `""`, `''`) // GORM wrote DEFAULT "", the migrations DEFAULT ''
				lines = append(lines, "column "+table[0]+" "+strings.Join(r, " "))
			}
			for _, idx := range queryStrings(t, db, `SELECT name, "unique" FROM pragma_index_list(?)`, table[0]) {
				for _, c := range queryStrings(t, db, "SELECT seqno, name FROM pragma_index_info(?)", idx[0]) {
					lines = append(lines, "index "+table[0]+" "+strings.Join(idx, " ")+" "+strings.Join(c, " "))
				}
			}
		}
	} else {
		for _, r := range queryStrings(t, db, `SELECT table_name, column_name, column_type, is_nullable, COALESCE(column_default, 'NULL'), extra, COALESCE(collation_name, '')
			FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name NOT LIKE 'goose%' AND table_name NOT LIKE 'gatehouse_migrate%'`) {
			lines = append(lines, "column "+strings.Join(r, " "))
		}
		for _, r := range queryStrings(t, db, `SELECT table_name, index_name, non_unique, seq_in_index, column_name
			FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name NOT LIKE 'goose%' AND table_name NOT LIKE 'gatehouse_migrate%'`) {
			lines = append(lines, "index "+strings.Join(r, " "))
		}
	}
	slices.Sort(lines)
	return lines
}

// queryStrings runs a query and returns its rows, every value as text.
func queryStrings(t *testing.T, db *sql.DB, query string, args ...any) [][]string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				row[i] = "NULL"
			case []byte:
				row[i] = string(v)
			case time.Time:
				row[i] = v.UTC().Format(time.RFC3339Nano)
			default:
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// diffLines lists the lines of a that b lacks.
func diffLines(a, b []string) []string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, l)
		}
	}
	return out
}
