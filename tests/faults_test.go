package tests

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/config"
)

// freezer is a TCP proxy that can stop passing bytes while keeping every
// connection open: to the client, a database that has stopped answering
// (a SIGSTOPped process, a partitioned network), which is worse than one
// that refuses connections. Thawing lets the bytes through again.
type freezer struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	cond     *sync.Cond
	frozen   bool
}

// newFreezer proxies a loopback port to upstream until the test ends.
func newFreezer(t *testing.T, upstream string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, upstream: upstream}
	f.cond = sync.NewCond(&f.mu)
	var conns sync.WaitGroup
	t.Cleanup(func() {
		f.thaw()
		ln.Close()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			conns.Add(2)
			go f.pipe(&conns, up, c)
			go f.pipe(&conns, c, up)
		}
	}()
	return f
}

// pipe copies src to dst, holding each chunk while frozen.
func (f *freezer) pipe(wg *sync.WaitGroup, dst, src net.Conn) {
	defer wg.Done()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			f.mu.Lock()
			for f.frozen {
				f.cond.Wait()
			}
			f.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				src.Close()
			}
			return
		}
	}
}

func (f *freezer) freeze() { f.mu.Lock(); f.frozen = true; f.mu.Unlock() }

func (f *freezer) thaw() {
	f.mu.Lock()
	f.frozen = false
	f.mu.Unlock()
	f.cond.Broadcast()
}

// TestHungDatabase freezes the connection between Gatehouse and MariaDB
// (contract §9): every route that needs the database answers 503
// unavailable within DB_TIMEOUT plus a second, /readyz included, and
// Gatehouse answers again by itself once the database does.
func TestHungDatabase(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but TEST_DATABASE_URL is not set: the hung-database test needs MariaDB")
		}
		t.Skip("needs MariaDB (TEST_DATABASE_URL)")
	}
	t.Parallel()
	const dbTimeout = time.Second
	var proxy *freezer
	app := newApp(t, mysqlDB, func(c *config.Config) {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		host, _, _ := strings.Cut(u.Host, ",") // a cluster's URL: freeze its first node
		proxy = newFreezer(t, host)
		u.Host = proxy.ln.Addr().String()
		c.DatabaseURL = u.String()
		c.DBTimeout = dbTimeout
	})
	app.createUser(t, "ada@example.com", goodPassword)
	c := app.client(t)
	tok := c.loginAPI("ada@example.com", goodPassword)

	proxy.freeze()
	requests := []struct {
		name   string
		method string
		path   string
		body   any
		header []header
	}{
		{"readiness", http.MethodGet, "/readyz", nil, nil},
		{"a bearer request", http.MethodGet, "/api/me", nil, []header{bearer(tok.AccessToken)}},
		{"a cookie request", http.MethodGet, "/api/me", nil, nil},
		{"a login", http.MethodPost, "/api/login", url.Values{"username": {"ada@example.com"}, "password": {goodPassword}}, nil},
		{"a page", http.MethodGet, "/admin/me/sessions", nil, []header{asHTML}},
	}
	var wg sync.WaitGroup
	for _, rq := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			resp := c.do(rq.method, rq.path, rq.body, rq.header...)
			took := time.Since(start)
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("%s while the database hangs: status %d, want 503; body %.200s", rq.name, resp.StatusCode, resp.Body)
			}
			if rq.header == nil || rq.header[0] != asHTML {
				if p := resp.problem(t); p.Error != "unavailable" {
					t.Errorf("%s: error %q, want unavailable", rq.name, p.Error)
				}
			}
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: no Retry-After", rq.name)
			}
			if limit := dbTimeout + time.Second; took > limit {
				t.Errorf("%s answered after %v, want within DB_TIMEOUT + 1 s = %v", rq.name, took, limit)
			}
		}()
	}
	wg.Wait()
	if got := c.get("/healthz").StatusCode; got != http.StatusOK {
		t.Errorf("/healthz while the database hangs: %d, want 200 (the process is up)", got)
	}

	proxy.thaw()
	deadline := time.Now().Add(10 * dbTimeout)
	for c.get("/readyz").StatusCode != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still failing %v after the database came back", 10*dbTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
	c.get("/api/me").wantStatus(t, http.StatusOK)
	c.loginAPI("ada@example.com", goodPassword)
}
