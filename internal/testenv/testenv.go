// Package testenv is what every test tier shares: a fresh database per
// test (a temporary SQLite file; a gh_<random> database on
// TEST_DATABASE_URL's MariaDB, dropped when the test ends, as in
// ardanlabs' dbtest), opened and migrated (Store), the test
// configuration (Config), the injected clock, and the concurrent fan-out.
// With CI=true a missing MariaDB fails the test instead of skipping it.
// Only tests import it; it imports nothing of Gatehouse.
package testenv

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // registers "sqlite": the driver under Gatehouse's GORM dialector
	mysqldriver "github.com/go-sql-driver/mysql"
)

// The database kinds a test runs on.
const (
	SQLite = "sqlite"
	MySQL  = "mysql"
)

// Databases lists the databases to test on: SQLite always, MariaDB/MySQL
// when TEST_DATABASE_URL is set. With CI=true a missing MariaDB fails.
func Databases(t testing.TB) []string {
	t.Helper()
	dbs := []string{SQLite}
	if os.Getenv("TEST_DATABASE_URL") != "" {
		dbs = append(dbs, MySQL)
	} else if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but TEST_DATABASE_URL is not set: the MariaDB tests cannot run")
	}
	return dbs
}

// EachDB runs test once per database, as parallel subtests named after it.
func EachDB(t *testing.T, test func(t *testing.T, db string)) {
	t.Helper()
	for _, db := range Databases(t) {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			test(t, db)
		})
	}
}

// MariaDB collations a fresh database may get. CaseInsensitive is the
// default an operator might well create it with, so only the migrations'
// own table options keep emails exact; Binary is the strict one.
const (
	CaseInsensitive = "utf8mb4_general_ci"
	Binary          = "utf8mb4_bin"
)

// DatabaseURL returns the URL of a new, empty database of kind db: a
// temporary SQLite file, or a gh_<random> database with the given
// collation on TEST_DATABASE_URL's server, dropped in Cleanup.
func DatabaseURL(t testing.TB, db, collation string) string {
	t.Helper()
	if db == SQLite {
		return "sqlite://" + filepath.Join(t.TempDir(), "gatehouse.db")
	}
	return newDatabase(t, os.Getenv("TEST_DATABASE_URL"), collation)
}

// newDatabase creates a gh_<random> database with collation on the server
// serverURL names, dropped in Cleanup, and returns its URL.
func newDatabase(t testing.TB, serverURL, collation string) string {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("database server URL: %v", err)
	}
	cfg := mysqldriver.NewConfig()
	// A cluster's URL names several hosts: DDL replicates, so the first will do.
	host, _, _ := strings.Cut(u.Host, ",")
	cfg.Net, cfg.Addr, cfg.User = "tcp", host, u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("open MariaDB: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	name := "gh_" + RandomHex(8)
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE " + collation); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Cluster returns TEST_GALERA_URL, the URL of a Galera cluster naming each
// of its nodes (.ci/start-galera prints it), for the tests that need one.
// Without it the test is skipped, or fails with CI=true.
func Cluster(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_GALERA_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but TEST_GALERA_URL is not set: the Galera cluster tests cannot run (.ci/start-galera)")
		}
		t.Skip("needs a Galera cluster (TEST_GALERA_URL; .ci/start-galera)")
	}
	return u
}

// ClusterDatabaseURL returns the URL of a new, empty database on the
// cluster at clusterURL, naming every node, dropped in Cleanup.
func ClusterDatabaseURL(t testing.TB, clusterURL string) string {
	t.Helper()
	return newDatabase(t, clusterURL, Binary)
}

// Nodes returns a cluster URL's hosts, in order.
func Nodes(t testing.TB, clusterURL string) []string {
	t.Helper()
	u, err := url.Parse(clusterURL)
	if err != nil {
		t.Fatalf("cluster URL: %v", err)
	}
	return strings.Split(u.Host, ",")
}

// OnNodes returns databaseURL naming only the given hosts, in that order:
// an instance that prefers one node, or can reach only some.
func OnNodes(t testing.TB, databaseURL string, hosts ...string) string {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("database URL: %v", err)
	}
	u.Host = strings.Join(hosts, ",")
	return u.String()
}

// Node opens a plain connection pool (no Gatehouse in between) on one
// host of databaseURL's cluster, closed in Cleanup.
func Node(t testing.TB, databaseURL, host string) *sql.DB {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("database URL: %v", err)
	}
	cfg := mysqldriver.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.DBName, cfg.ParseTime = "tcp", host, u.User.Username(), strings.Trim(u.Path, "/"), true
	cfg.Passwd, _ = u.User.Password()
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("open %s: %v", host, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Plain opens a plain connection pool (no Gatehouse in between) on the
// database databaseURL names — an SQLite file or a MariaDB database (its
// first host) — closed in Cleanup: for seeding rows faster than the app's
// own paths would, or breaking its tables on purpose.
func Plain(t testing.TB, databaseURL string) *sql.DB {
	t.Helper()
	if path, ok := strings.CutPrefix(databaseURL, "sqlite://"); ok {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return Node(t, databaseURL, Nodes(t, databaseURL)[0])
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Clock is the injected time of a service under test; tests move it
// instead of sleeping.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads start until it is moved.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// FanOut runs f(0) … f(n-1) at once — each on its own goroutine, all
// released together once every one has started — and waits for them all.
func FanOut(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	for i := range n {
		done.Go(func() {
			ready.Done()
			<-start
			f(i)
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
}
