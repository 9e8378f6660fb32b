package tests

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hostPort is the host:port of a server URL.
func hostPort(url string) string { return strings.TrimPrefix(url, "http://") }

// freeAddr is a loopback address nothing listens on (one that just did).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestHealthcheck (contract §12): `gatehouse healthcheck` exits 0 when
// /readyz on ADDR answers 200, else 1 with one line on stderr.
func TestHealthcheck(t *testing.T) {
	c := newCLI(t, sqliteDB)
	srv := c.serve()
	if out, errOut, code := c.run("", "healthcheck", "--addr", hostPort(srv.url)); code != 0 || out != "" || errOut != "" {
		t.Errorf("healthcheck of a ready server: exit %d, stdout %q, stderr %q; want 0 and nothing", code, out, errOut)
	}
	c.env = append(c.env, "ADDR="+hostPort(srv.url)) // ADDR as the container sets it
	if _, errOut, code := c.run("", "healthcheck"); code != 0 {
		t.Errorf("healthcheck with ADDR: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code := c.run("", "healthcheck", "--addr", freeAddr(t))
	if lines := strings.Split(strings.TrimSpace(errOut), "\n"); code != 1 || len(lines) != 1 || !strings.Contains(errOut, "healthcheck") {
		t.Errorf("healthcheck of nothing: exit %d, stderr %q; want 1 and one line", code, errOut)
	}
}

// TestLogFormatJSON: with LOG_FORMAT=json every line serve logs is a JSON
// object with time, level and msg.
func TestLogFormatJSON(t *testing.T) {
	c := newCLI(t, sqliteDB, "LOG_FORMAT=json")
	cmd := exec.Command(binaryPath, "serve", "--addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env = c.dir, c.env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var all []string
	addr := ""
	for addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before listening:\n%s", strings.Join(all, "\n"))
			}
			all = append(all, l)
			var rec map[string]any
			if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "serving" {
				addr, _ = rec["addr"].(string)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not start within 60 s")
		}
	}
	resp, err := http.Get("http://" + addr + "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for l := range lines {
		all = append(all, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v, want exit 0", err)
	}
	requests := 0
	for _, l := range all {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("log line is not JSON (%v): %s", err, l)
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line without %q: %s", k, l)
			}
		}
		if rec["msg"] == "request" {
			requests++
		}
	}
	if requests != 1 {
		t.Errorf("request lines: got %d, want 1", requests)
	}
}

// TestGracefulStop (contract §12): on SIGTERM /readyz answers 503 at once
// while the rest is still served for SHUTDOWN_DELAY; the logins in flight
// (slow: real argon2id costs) get their real answers; the exit code is 0.
func TestGracefulStop(t *testing.T) {
	metricsAddr := freeAddr(t)
	c := newCLI(t, sqliteDB, "SHUTDOWN_DELAY=700ms", "METRICS_ADDR="+metricsAddr)
	c.mustRun("correct horse battery staple\n", "user", "add", "--email", "bob@example.com", "--name", "Bob", "--password-stdin")
	// Later entries win: a login now takes a good fraction of a second.
	c.env = append(c.env, "ARGON2_MEMORY_KIB=32768", "ARGON2_TIME=8")
	srv := c.serve()

	// Four logins at once, three right and one wrong. Two hash, two wait
	// for a hashing slot (there are GOMAXPROCS of them): when the
	// waiting gauge shows two, all four are in flight.
	passwords := []string{"correct horse battery staple", "correct horse battery staple", "correct horse battery staple", "wrong"}
	want := map[int]int{http.StatusOK: 3, http.StatusUnauthorized: 1}
	codes := make(chan int, len(passwords))
	var wg sync.WaitGroup
	for _, pw := range passwords {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.PostForm(srv.url+"/api/login", formOf("username", "bob@example.com", "password", pw))
			if err != nil {
				t.Errorf("login in flight: %v", err)
				codes <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(scrapeText(t, metricsAddr), "gatehouse_password_hash_waiting 2") {
		if time.Now().After(deadline) {
			t.Fatal("the four logins were never in flight together")
		}
		time.Sleep(5 * time.Millisecond) // polling the server's own state, not waiting for time to pass
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// /readyz turns 503 within moments, while /healthz still answers.
	got503 := false
	for time.Now().Before(deadline) && !got503 {
		resp, err := http.Get(srv.url + "/readyz")
		if err != nil {
			t.Fatalf("/readyz during SHUTDOWN_DELAY: %v", err)
		}
		resp.Body.Close()
		got503 = resp.StatusCode == http.StatusServiceUnavailable
	}
	if !got503 {
		t.Fatal("/readyz never answered 503 after SIGTERM")
	}
	if resp, err := http.Get(srv.url + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz during SHUTDOWN_DELAY: %v %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	if _, _, code := c.run("", "healthcheck", "--addr", hostPort(srv.url)); code != 1 {
		t.Errorf("healthcheck of a stopping server: exit %d, want 1", code)
	}

	wg.Wait()
	close(codes)
	got := map[int]int{}
	for code := range codes {
		got[code]++
	}
	if got[http.StatusOK] != want[http.StatusOK] || got[http.StatusUnauthorized] != want[http.StatusUnauthorized] || len(got) != 2 {
		t.Errorf("answers to the logins in flight: %v, want %v", got, want)
	}
	select {
	case err := <-srv.done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM, want 0", err)
		}
		srv.done <- err // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of SIGTERM")
	}
	if _, err := http.Get(srv.url + "/healthz"); err == nil {
		t.Error("the listener still takes connections after the stop")
	}
}

// scrapeText is GET /metrics on addr as text ("" while it does not answer).
func scrapeText(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestPrometheusScrape: a real Prometheus (Debian's prometheus package)
// scrapes METRICS_ADDR and answers gatehouse_logins_total through its
// HTTP API. Without the binary it is skipped, or fails under CI=true.
func TestPrometheusScrape(t *testing.T) {
	promPath, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prometheus is not installed (apt-get install -y prometheus)")
		}
		t.Skip("prometheus is not installed (apt-get install -y prometheus)")
	}
	metricsAddr := freeAddr(t)
	c := newCLI(t, sqliteDB, "METRICS_ADDR="+metricsAddr)
	c.mustRun("correct horse battery staple\n", "user", "add", "--email", "bob@example.com", "--name", "Bob", "--password-stdin")
	srv := c.serve()
	resp, err := http.PostForm(srv.url+"/api/login", formOf("username", "bob@example.com", "password", "correct horse battery staple"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}

	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	yml := "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: gatehouse\n  static_configs:\n  - targets: ['" + metricsAddr + "']\n"
	if err := os.WriteFile(conf, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	webAddr := freeAddr(t)
	prom := exec.Command(promPath, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+webAddr)
	var promLog strings.Builder
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Process.Kill(); _ = prom.Wait() })

	query := "http://" + webAddr + `/api/v1/query?query=` + url.QueryEscape(`gatehouse_logins_total{method="password",result="success"}`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var answer struct {
			Status string
			Data   struct {
				Result []struct {
					Metric map[string]string
					Value  []any
				}
			}
		}
		if resp, err := http.Get(query); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&answer)
			resp.Body.Close()
		}
		if answer.Status == "success" && len(answer.Data.Result) == 1 {
			r := answer.Data.Result[0]
			if len(r.Value) != 2 || r.Value[1] != "1" || r.Metric["job"] != "gatehouse" {
				t.Errorf("gatehouse_logins_total through Prometheus: %+v, want the value 1", r)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never had gatehouse_logins_total; its log:\n%s", promLog.String())
		}
		time.Sleep(200 * time.Millisecond) // polling Prometheus until its scrape lands
	}
}
