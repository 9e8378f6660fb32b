package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binaryPath is the gatehouse binary TestMain builds once for the CLI tests.
var binaryPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaryPath = filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", binaryPath, "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build gatehouse: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the built binary in its own working directory with env.
type cli struct {
	t   *testing.T
	dir string
	env []string
	bin string // the binary to run: binaryPath unless set (an earlier release, upgrade_test.go)
}

// setting is the value of key in c's environment (the last one wins).
func (c *cli) setting(key string) string {
	for _, kv := range slices.Backward(c.env) {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// binary is the gatehouse binary c runs.
func (c *cli) binary() string {
	if c.bin != "" {
		return c.bin
	}
	return binaryPath
}

func newCLI(t *testing.T, db database, env ...string) *cli {
	t.Helper()
	dir := t.TempDir()
	base := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"DATABASE_URL=" + freshDatabaseURL(t, db),
		"ARGON2_MEMORY_KIB=1024", "ARGON2_TIME=1",
	}
	return &cli{t: t, dir: dir, env: append(base, env...)}
}

// run runs the binary to the end and returns its stdout, stderr and exit code.
func (c *cli) run(stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.binary(), args...)
	cmd.Dir, cmd.Env = c.dir, c.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	}
	if err != nil {
		c.t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errOut.String(), 0
}

// mustRun runs a command that must succeed.
func (c *cli) mustRun(stdin string, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("gatehouse %v: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

// server is a running `gatehouse serve`.
type server struct {
	url    string
	stdout string // what it printed (both streams) before it was ready
	cmd    *exec.Cmd
	done   chan error
}

var servingAddr = regexp.MustCompile(`msg=serving addr=(\S+)`)

// serve starts `gatehouse serve` on a free loopback port and waits, by
// reading its log, until it listens. It is stopped with SIGTERM at cleanup.
func (c *cli) serve() *server {
	c.t.Helper()
	return c.serveAt("127.0.0.1:0")
}

// serveAt is serve on addr.
func (c *cli) serveAt(listen string) *server {
	c.t.Helper()
	cmd := exec.Command(c.binary(), "serve", "--addr", listen)
	cmd.Dir, cmd.Env = c.dir, c.env
	// One pipe for both streams keeps their order: what serve prints
	// before its "serving" log line is all there once that line is read.
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		var before strings.Builder
		for sc.Scan() {
			if m := servingAddr.FindStringSubmatch(sc.Text()); m != nil {
				s.stdout = before.String()
				addr <- m[1]
				break
			}
			before.WriteString(sc.Text() + "\n")
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() { err := cmd.Wait(); pw.Close(); s.done <- err }()
	c.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-s.done
	})
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.done:
		c.t.Fatalf("serve exited before listening: %v", err)
	case <-time.After(60 * time.Second):
		c.t.Fatal("serve did not start within 60 s")
	}
	return s
}

func TestCLIUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		c := newCLI(t, db)
		if out := c.mustRun("", "migrate"); !strings.Contains(out, "up to date") {
			t.Errorf("migrate said %q", out)
		}
		out := c.mustRun("pass word with spaces  \r\n", "user", "add", "--email", " Ada@Example.com ", "--name", "Ada", "--scopes", "user:read,user:write admin:read", "--password-stdin")
		if !strings.Contains(out, "ada@example.com") {
			t.Errorf("user add said %q", out)
		}
		c.mustRun("another password\n", "user", "add", "--email", "root@example.com", "--name", "Root", "--admin", "--password-stdin")

		list := c.mustRun("", "user", "list")
		for _, want := range []string{"ada@example.com", "user:read user:write admin:read", "root@example.com", "user:read user:write admin:read admin:write"} {
			if !strings.Contains(list, want) {
				t.Errorf("user list lacks %q:\n%s", want, list)
			}
		}

		failures := []struct {
			name  string
			stdin string
			args  []string
			want  string
		}{
			{"a taken email", "pass word 123\n", []string{"user", "add", "--email", "ada@example.com", "--name", "A", "--password-stdin"}, "already exists"},
			{"a password in argv is refused", "", []string{"user", "add", "--email", "x@example.com", "--name", "X"}, "--password-stdin"},
			{"an unknown scope", "pass word 123\n", []string{"user", "add", "--email", "x@example.com", "--name", "X", "--scopes", "root", "--password-stdin"}, `Unknown scope "root"`},
			{"a short password", "short\n", []string{"user", "add", "--email", "x@example.com", "--name", "X", "--password-stdin"}, "at least 8"},
			{"an unknown user", "", []string{"user", "disable", "nobody@example.com"}, "no such user"},
			{"an unknown command", "", []string{"frobnicate"}, "unknown command"},
		}
		for _, f := range failures {
			t.Run(f.name, func(t *testing.T) {
				_, errOut, code := c.run(f.stdin, f.args...)
				if code != 1 || !strings.Contains(errOut, f.want) {
					t.Errorf("exit %d, stderr %q; want exit 1 mentioning %q", code, errOut, f.want)
				}
				if strings.Count(strings.TrimSpace(errOut), "\n") > 8 || strings.Contains(errOut, "goroutine") {
					t.Errorf("stderr is not a short message: %q", errOut)
				}
			})
		}

		srv := c.serve()
		if strings.Contains(srv.stdout, "admin@example.com") {
			t.Errorf("an administrator was created although users exist:\n%s", srv.stdout)
		}
		web := &http.Client{Timeout: 10 * time.Second}
		login := func(email, password string) int {
			t.Helper()
			resp, err := web.PostForm(srv.url+"/api/login", formOf("username", email, "password", password))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := login("ada@example.com", "pass word with spaces  "); got != http.StatusOK {
			t.Errorf("login with the password exactly as typed (trailing spaces kept, line ending dropped) = %d", got)
		}
		c.mustRun("", "user", "disable", "ada@example.com")
		if got := login("ada@example.com", "pass word with spaces  "); got != http.StatusForbidden {
			t.Errorf("login of a disabled user = %d, want 403", got)
		}
		c.mustRun("", "user", "enable", "ada@example.com")
		c.mustRun("brand new secret\n", "user", "passwd", "ada@example.com", "--password-stdin")
		if got := login("ada@example.com", "pass word with spaces  "); got != http.StatusUnauthorized {
			t.Errorf("login with the old password = %d, want 401", got)
		}
		if got := login("ada@example.com", "brand new secret"); got != http.StatusOK {
			t.Errorf("login with the new password = %d, want 200", got)
		}
	})
}

func TestFirstStart(t *testing.T) {
	c := newCLI(t, sqliteDB, "DATA_DIR=data")
	srv := c.serve()
	m := regexp.MustCompile(`admin@example\.com with password (\S+)`).FindStringSubmatch(srv.stdout)
	if m == nil {
		t.Fatalf("no administrator password printed:\n%s", srv.stdout)
	}
	resp, err := http.PostForm(srv.url+"/api/login", formOf("username", "admin@example.com", "password", m[1]))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login with the printed password = %d", resp.StatusCode)
	}
	info, err := os.Stat(filepath.Join(c.dir, "data", "secrets"))
	if err != nil {
		t.Fatalf("no generated secrets: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("data/secrets mode = %v, want 0600", info.Mode().Perm())
	}

	// Graceful shutdown: SIGTERM ends it with exit 0.
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-srv.done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM, want 0", err)
		}
		srv.done <- err // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15 s of SIGTERM")
	}

	// The second start prints no password: the administrator exists.
	again := c.serve()
	if strings.Contains(again.stdout, "password") {
		t.Errorf("second start printed a password:\n%s", again.stdout)
	}
}

func TestBadConfiguration(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"a bad ADDR", []string{"ADDR=nonsense"}, "ADDR"},
		{"a bad duration", []string{"ACCESS_TOKEN_TTL=soon"}, "ACCESS_TOKEN_TTL"},
		{"production without secrets", []string{"APP_ENV=production"}, "SESSION_SECRET"},
		{"a short JWT secret", []string{"JWT_SECRET=short"}, "JWT_SECRET"},
		{"an unknown database", []string{"DATABASE_URL=postgres://x"}, "DATABASE_URL"},
		{"an unreachable MySQL", []string{"DATABASE_URL=mysql://u:p@127.0.0.1:1/db"}, "DATABASE_URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t, sqliteDB, tc.env...)
			c.env = append(c.env, tc.env...)        // later entries win
			_, errOut, code := c.run("", "migrate") // loads and checks the configuration as serve does
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code != 1 || len(lines) != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and one line naming %s", code, errOut, tc.want)
			}
		})
	}
}

// TestCLIUserScopes: `gatehouse user scopes E "SCOPES"` sets a user's
// scopes from a shell (contract §9, the way back in), obeys the
// last-administrator rule like `user disable`, and takes effect on live
// sessions at once.
func TestCLIUserScopes(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		c := newCLI(t, db)
		c.mustRun("root password\n", "user", "add", "--email", "root@example.com", "--name", "Root", "--admin", "--password-stdin")
		c.mustRun("ada password\n", "user", "add", "--email", "ada@example.com", "--name", "Ada", "--password-stdin")

		if out := c.mustRun("", "user", "scopes", "Ada@Example.com", "user:read,admin:read  user:read"); !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "user:read admin:read") {
			t.Errorf("user scopes said %q", out)
		}
		if list := c.mustRun("", "user", "list"); !regexp.MustCompile(`ada@example\.com\s+Ada\s+user:read admin:read\s`).MatchString(list) {
			t.Errorf("user list after user scopes:\n%s", list)
		}

		failures := []struct {
			name string
			args []string
			want string
		}{
			{"an unknown scope is named", []string{"user", "scopes", "ada@example.com", "user:read root"}, `Unknown scope "root"`},
			{"taking admin:write from the last administrator", []string{"user", "scopes", "root@example.com", "user:read user:write admin:read"}, "no enabled user with admin:write"},
			{"taking every scope from the last administrator", []string{"user", "scopes", "root@example.com", ""}, "no enabled user with admin:write"},
			{"disabling the last administrator", []string{"user", "disable", "root@example.com"}, "no enabled user with admin:write"},
			{"an unknown user", []string{"user", "scopes", "nobody@example.com", "user:read"}, "no such user"},
			{"no scopes argument", []string{"user", "scopes", "ada@example.com"}, "user scopes takes an email and the scopes"},
		}
		for _, f := range failures {
			t.Run(f.name, func(t *testing.T) {
				_, errOut, code := c.run("", f.args...)
				if code != 1 || !strings.Contains(errOut, f.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
					t.Errorf("exit %d, stderr %q; want exit 1 and one line mentioning %q", code, errOut, f.want)
				}
			})
		}
		if list := c.mustRun("", "user", "list"); !regexp.MustCompile(`root@example\.com\s+Root\s+user:read user:write admin:read admin:write\s+false`).MatchString(list) {
			t.Errorf("the refused changes changed root:\n%s", list)
		}

		srv := c.serve()
		web := &http.Client{Timeout: 10 * time.Second}
		call := func(method, path, token string) (int, []byte) {
			t.Helper()
			req, err := http.NewRequest(method, srv.url+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := web.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, body
		}
		login := func(email, password string) string {
			t.Helper()
			resp, err := web.PostForm(srv.url+"/api/login", formOf("username", email, "password", password))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var tok token
			if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("login %s: status %d, %v", email, resp.StatusCode, err)
			}
			return tok.AccessToken
		}

		// Ada can read users but not change them; the CLI gives her
		// admin:write, and from her next login she can.
		ada := login("ada@example.com", "ada password")
		if got, _ := call(http.MethodGet, "/api/users", ada); got != http.StatusOK {
			t.Errorf("GET /api/users with admin:read = %d, want 200", got)
		}
		c.mustRun("", "user", "scopes", "ada@example.com", "user:read user:write admin:read admin:write")
		ada = login("ada@example.com", "ada password")
		var list struct {
			Items []struct {
				ID    uint64 `json:"id"`
				Email string `json:"email"`
			} `json:"items"`
		}
		status, body := call(http.MethodGet, "/api/users?q=ada", ada)
		if err := json.Unmarshal(body, &list); status != http.StatusOK || err != nil || len(list.Items) != 1 {
			t.Fatalf("GET /api/users?q=ada = %d %s", status, body)
		}
		adaPath := "/api/users/" + strconv.FormatUint(list.Items[0].ID, 10)

		// Now that Ada holds admin:write too, root may lose it.
		c.mustRun("", "user", "scopes", "root@example.com", "user:read")

		// Scopes taken away stop working on her live session at once.
		c.mustRun("", "user", "scopes", "ada@example.com", "user:read user:write admin:write")
		if got, _ := call(http.MethodGet, "/api/users", ada); got != http.StatusForbidden {
			t.Errorf("GET /api/users after the CLI took admin:read = %d, want 403 at once", got)
		}
		// Given back, admin:read comes with her next login, and the change
		// is in her security log, as the CLI's.
		c.mustRun("", "user", "scopes", "ada@example.com", "user:read admin:read admin:write")
		ada = login("ada@example.com", "ada password")
		status, body = call(http.MethodGet, adaPath, ada)
		var detail struct {
			Events []eventBody `json:"events"`
		}
		if err := json.Unmarshal(body, &detail); status != http.StatusOK || err != nil || len(detail.Events) == 0 {
			t.Fatalf("GET %s = %d %s", adaPath, status, body)
		}
		found := false
		for _, e := range detail.Events {
			if e.Kind == "admin_changed_user" && e.Detail == "scopes set to user:read admin:read admin:write (by the CLI)" {
				found = true
			}
		}
		if !found {
			t.Errorf("ada's security log lacks the CLI's change: %+v", detail.Events)
		}
	})
}

// TestCLIKeys: `gatehouse keys list | rotate | retire KID` against a
// running server, which is another instance: a rotation logs nobody out,
// and retiring a key ends its tokens there by the next request.
func TestCLIKeys(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		c := newCLI(t, db)
		c.mustRun("ada password\n", "user", "add", "--email", "ada@example.com", "--name", "Ada", "--password-stdin")
		srv := c.serve()
		login := func() string {
			resp, err := http.PostForm(srv.url+"/api/login", map[string][]string{"username": {"ada@example.com"}, "password": {"ada password"}})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("login: %d %v", resp.StatusCode, err)
			}
			return tok.AccessToken
		}
		me := func(tok string) int {
			req, _ := http.NewRequest(http.MethodGet, srv.url+"/api/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		row := regexp.MustCompile(`(?m)^(\S+)\s+(EdDSA|RS256)\s+(\S+)\s+(\w+)\s*$`)
		list := func() [][]string {
			out := c.mustRun("", "keys", "list")
			if !strings.HasPrefix(out, "KID") {
				t.Errorf("keys list has no header:\n%s", out)
			}
			return row.FindAllStringSubmatch(out, -1)
		}

		tok := login()
		first := list()
		if len(first) != 1 || first[0][2] != "EdDSA" || first[0][4] != "current" {
			t.Fatalf("keys list on the first start: %q, want one current EdDSA key", first)
		}
		oldKid := first[0][1]
		if _, err := time.Parse(time.RFC3339, first[0][3]); err != nil {
			t.Errorf("created %q is not RFC 3339", first[0][3])
		}

		if out := c.mustRun("", "keys", "rotate"); !strings.Contains(out, "new signing key") {
			t.Errorf("keys rotate said %q", out)
		}
		second := list()
		if len(second) != 2 || second[0][4] != "current" || second[1][1] != oldKid || second[1][4] != "rotated" {
			t.Fatalf("keys list after a rotation: %q, want a new current key and %s rotated", second, oldKid)
		}
		if got := me(tok); got != http.StatusOK {
			t.Errorf("a token of the rotated key: %d, want 200 (rotation logs nobody out)", got)
		}

		if out := c.mustRun("", "keys", "retire", oldKid); !strings.Contains(out, "retired signing key "+oldKid) {
			t.Errorf("keys retire said %q", out)
		}
		if got := me(tok); got != http.StatusUnauthorized {
			t.Errorf("a token of the retired key on the running server: %d, want 401 at once", got)
		}
		if got := list(); len(got) != 2 || got[1][4] != "retired" {
			t.Errorf("keys list after retiring: %q", got)
		}

		for _, f := range []struct {
			args []string
			want string
		}{
			{[]string{"keys", "retire", "no-such-kid"}, "no signing key with kid no-such-kid"},
			{[]string{"keys", "retire"}, "keys retire takes one kid"},
			{[]string{"keys", "spin"}, "unknown keys subcommand"},
			{[]string{"keys"}, "keys needs a subcommand"},
		} {
			_, errOut, code := c.run("", f.args...)
			if code != 1 || !strings.Contains(errOut, f.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line mentioning %q", f.args, code, errOut, f.want)
			}
		}
	})
}
