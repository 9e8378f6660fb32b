package tests

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"gatehouse/internal/testenv"
)

// statusLine is one migration in `gatehouse migrate status`.
var statusLine = regexp.MustCompile(`(?m)^(\d+)\s+(applied|pending)\s+(-|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(\S.*)$`)

// knownMigrations lists the migrations this binary has, as `gatehouse
// migrate status` shows them on a fresh database: the tests expect what
// the binary says rather than a count that every new migration would
// have to raise. It also checks that the first two are the ones that
// adopt an earlier release's database.
func knownMigrations(t *testing.T) (versions []string, latest string) {
	t.Helper()
	for _, m := range statusLine.FindAllStringSubmatch(newCLI(t, sqliteDB).mustRun("", "migrate", "status"), -1) {
		versions = append(versions, m[1])
	}
	if len(versions) < 2 || versions[0] != "1" || versions[1] != "2" {
		t.Fatalf("known migrations: %v, want 1, 2, …", versions)
	}
	return versions, versions[len(versions)-1]
}

// TestMigrateCommands (contract §12): `migrate status` lists each
// migration, pending then applied with its time; MIGRATE_ON_START=false
// refuses to serve (or run a user command) while any is pending, in one
// line naming `gatehouse migrate`, and serves once it has run.
func TestMigrateCommands(t *testing.T) {
	versions, latest := knownMigrations(t)
	n := len(versions)
	eachDB(t, func(t *testing.T, db database) {
		c := newCLI(t, db, "MIGRATE_ON_START=false")
		status := func() [][]string {
			t.Helper()
			out := c.mustRun("", "migrate", "status")
			if !strings.HasPrefix(out, "VERSION") {
				t.Errorf("migrate status has no heading:\n%s", out)
			}
			return statusLine.FindAllStringSubmatch(out, -1)
		}
		before := status()
		if len(before) != n || before[0][4] != "00001_tables.sql" || before[1][4] != "00002_adopt_earlier_releases (Go)" {
			t.Errorf("migrate status on a fresh database: %q", before)
		}
		for _, m := range before {
			if m[2] != "pending" || m[3] != "-" {
				t.Errorf("on a fresh database: %q, want pending with no time", m[0])
			}
		}
		for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"user", "list"}} {
			_, errOut, code := c.run("", args...)
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code != 1 || len(lines) != 1 || !strings.Contains(errOut, fmt.Sprintf("%d migration(s) up to version %s are pending", n, latest)) || !strings.Contains(errOut, "MIGRATE_ON_START is false: run `gatehouse migrate` first") {
				t.Errorf("%v with pending migrations: exit %d, stderr %q; want 1 and one line", args, code, errOut)
			}
		}
		if out, want := c.mustRun("", "migrate"), fmt.Sprintf("applied %d migration(s): the database is up to date at version %s\n", n, latest); out != want {
			t.Errorf("first migrate said %q, want %q", out, want)
		}
		if out, want := c.mustRun("", "migrate"), "the database is up to date at version "+latest+"\n"; out != want {
			t.Errorf("second migrate said %q, want %q", out, want)
		}
		after := status()
		if len(after) != n {
			t.Errorf("migrate status after migrate: %q", after)
		}
		for _, m := range after {
			if m[2] != "applied" || m[3] == "-" {
				t.Errorf("after migrate: %q, want applied with a time", m[0])
			}
		}
		srv := c.serve()
		loginOver(t, srv.url, "admin@example.com", "wrong", 401) // it serves
	})
}

// TestNewerSchemaRefused (contract §12): a database a newer release has
// migrated further stops serve and migrate with one line naming both
// versions.
func TestNewerSchemaRefused(t *testing.T) {
	_, latest := knownMigrations(t)
	refusal := "the database schema is at version 9999, newer than this gatehouse knows (version " + latest + ")"
	eachDB(t, func(t *testing.T, db database) {
		c := newCLI(t, db)
		c.mustRun("", "migrate")
		if _, err := testenv.Plain(t, c.setting("DATABASE_URL")).Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)"); err != nil {
			t.Fatal(err)
		}
		if out := c.mustRun("", "migrate", "status"); !strings.Contains(out, refusal) {
			t.Errorf("migrate status on a newer schema does not say so:\n%s", out)
		}
		for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"migrate"}} {
			_, errOut, code := c.run("", args...)
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code != 1 || len(lines) != 1 || !strings.Contains(errOut, refusal) {
				t.Errorf("%v on a newer schema: exit %d, stderr %q; want 1 and one line naming both versions", args, code, errOut)
			}
		}
	})
}

// TestMigrateAtOnce: three `gatehouse migrate` processes started together
// on one fresh database: one applies both steps, the others wait for its
// lock and find the database up to date; goose records each version once.
func TestMigrateAtOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		c := newCLI(t, db)
		url := c.setting("DATABASE_URL")
		migrateAtOnceCLI(t, c, false, url, url, url)
	})
}

// TestClusterMigrateAtOnce is TestMigrateAtOnce on the Galera cluster,
// each process on its own node.
func TestClusterMigrateAtOnce(t *testing.T) {
	cluster := testenv.Cluster(t)
	t.Parallel()
	c := newCLI(t, galeraDB)
	url := c.setting("DATABASE_URL")
	nodes := testenv.Nodes(t, cluster)
	migrateAtOnceCLI(t, c, true, testenv.OnNodes(t, url, nodes[0]), testenv.OnNodes(t, url, nodes[1]), testenv.OnNodes(t, url, nodes[2]))
}

// migrateAtOnceCLI runs `gatehouse migrate` on each of urls at once and
// checks that one applied everything; causal: read the result through
// the first node with a causal read (a cluster).
func migrateAtOnceCLI(t *testing.T, c *cli, causal bool, urls ...string) {
	t.Helper()
	// goose's version table first (migrate status makes it), so that the
	// three meet where it matters: reading the version and applying.
	c.mustRun("", "migrate", "status")
	outs := make([]string, len(urls))
	var mu sync.Mutex
	testenv.FanOut(len(urls), func(i int) {
		one := &cli{t: t, dir: c.dir, env: append(slices.Clone(c.env), "DATABASE_URL="+urls[i])}
		out, errOut, code := one.run("", "migrate")
		mu.Lock()
		defer mu.Unlock()
		if code != 0 {
			t.Errorf("migrate %d: exit %d: %s", i, code, errOut)
		}
		outs[i] = out
	})
	slices.Sort(outs)
	versions, latest := knownMigrations(t)
	want := []string{
		fmt.Sprintf("applied %d migration(s): the database is up to date at version %s\n", len(versions), latest),
		"the database is up to date at version " + latest + "\n",
		"the database is up to date at version " + latest + "\n",
	}
	if !slices.Equal(outs, want) {
		t.Errorf("the three said %q, want %q", outs, want)
	}
	db := testenv.Plain(t, urls[0])
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if causal {
		if _, err := conn.ExecContext(context.Background(), "SET SESSION wsrep_sync_wait = 1"); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.QueryContext(context.Background(), "SELECT version_id, COUNT(*) FROM goose_db_version GROUP BY version_id ORDER BY version_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v, n string
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, v+":"+n)
	}
	want = []string{"0:1"}
	for _, v := range versions {
		want = append(want, v+":1")
	}
	if !slices.Equal(got, want) {
		t.Errorf("goose_db_version rows per version: %v, want %v", got, want)
	}
}
