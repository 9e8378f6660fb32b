package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gatehouse/internal/testenv"
)

// autoMigrated lists every table's struct: TestMigrateMatchesAutoMigrate
// holds the migrations to what GORM's AutoMigrate makes of them (version
// 1 and 2: the tables until migrations began; 3: applications and
// passkeys).
var autoMigrated = []any{&User{}, &Session{}, &LoginFailure{}, &Post{}, &Event{}, &Identity{}, &OAuthState{}, &SigningKey{}, &RefreshToken{},
	&TOTP{}, &RecoveryCode{}, &PendingLogin{}, &Mail{}, &EmailLink{}, &HashParams{}, &SearchTerm{},
	&App{}, &Consent{}, &AuthCode{}, &Passkey{}, &PasskeyFlow{}}

// asEarlierRelease makes s's database look like one an earlier release
// left: the same tables, but no record of migrations.
//
// Nothing of version 3 or later is there either: no release before
// migrations made it.
func asEarlierRelease(t *testing.T, s *Store) {
	t.Helper()
	dropIndex := "DROP INDEX idx_sessions_client_id"
	if s.dialect == "mysql" {
		dropIndex = "ALTER TABLE sessions DROP INDEX idx_sessions_client_id"
	}
	for _, stmt := range []string{"DROP TABLE apps", "DROP TABLE consents", "DROP TABLE auth_codes", "DROP TABLE passkeys",
		"DROP TABLE passkey_flows", dropIndex, "ALTER TABLE sessions DROP COLUMN client_id", "ALTER TABLE sessions DROP COLUMN amr",
		"DROP TABLE goose_db_version"} {
		if err := s.db.Exec(stmt).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// TestMigrateMatchesAutoMigrate checks that the migrations make exactly
// the schema the last release's AutoMigrate made from the structs: every
// table, column (type, null, default) and index, on each database.
func TestMigrateMatchesAutoMigrate(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db string) {
		migrated := openOn(t, testenv.DatabaseURL(t, db, testenv.Binary))
		auto, err := Open(testenv.DatabaseURL(t, db, testenv.Binary), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer auto.Close()
		gdb := auto.db
		if db == testenv.MySQL {
			gdb = gdb.Set("gorm:table_options", "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
		}
		if err := gdb.AutoMigrate(autoMigrated...); err != nil {
			t.Fatal(err)
		}
		want, got := schemaOf(t, auto), schemaOf(t, migrated)
		if len(want) < 16*3 {
			t.Fatalf("AutoMigrate's schema has only %d lines: %v", len(want), want)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("schema (-AutoMigrate +migrations):\n%s", diff)
		}
	})
}

// schemaOf describes every table, column and index of s's database but
// goose's own, one sorted line each.
func schemaOf(t *testing.T, s *Store) []string {
	t.Helper()
	var lines []string
	query := func(q string, args ...any) [][]string {
		t.Helper()
		rows, err := s.db.Raw(q, args...).Rows()
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out [][]string
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			row := make([]string, len(cols))
			for i, v := range vals {
				row[i] = v.String
				if !v.Valid {
					row[i] = "NULL"
				}
			}
			out = append(out, row)
		}
		return out
	}
	if s.dialect == "mysql" {
		for _, r := range query(`SELECT table_name, column_name, column_type, is_nullable, COALESCE(column_default, 'NULL'), extra, collation_name
			FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name NOT LIKE 'goose%' AND table_name NOT LIKE 'gatehouse_migrate%'`) {
			lines = append(lines, "column "+strings.Join(r, " "))
		}
		for _, r := range query(`SELECT table_name, index_name, non_unique, seq_in_index, column_name
			FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name NOT LIKE 'goose%' AND table_name NOT LIKE 'gatehouse_migrate%'`) {
			lines = append(lines, "index "+strings.Join(r, " "))
		}
		for _, r := range query(`SELECT table_name, engine, table_collation FROM information_schema.tables
			WHERE table_schema = DATABASE() AND table_name NOT LIKE 'goose%' AND table_name NOT LIKE 'gatehouse_migrate%'`) {
			lines = append(lines, "table "+strings.Join(r, " "))
		}
	} else {
		for _, table := range query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'goose%' AND name <> 'sqlite_sequence'`) {
			lines = append(lines, "table "+table[0])
			for _, r := range query("SELECT name, type, \"notnull\", COALESCE(dflt_value, 'NULL'), pk FROM pragma_table_info(?)", table[0]) {
				r[3] = strings.ReplaceAll(r[3], `""`, `''`) // GORM wrote DEFAULT "", the files DEFAULT ''
				lines = append(lines, "column "+table[0]+" "+strings.Join(r, " "))
			}
			for _, idx := range query(`SELECT name, "unique", origin FROM pragma_index_list(?)`, table[0]) {
				for _, c := range query("SELECT seqno, name FROM pragma_index_info(?)", idx[0]) {
					lines = append(lines, "index "+table[0]+" "+strings.Join(idx, " ")+" "+strings.Join(c, " "))
				}
			}
		}
	}
	slices.Sort(lines)
	return lines
}

// knownVersions lists the versions of every migration this binary has,
// as Migrations sees them on a fresh database: the tests expect those
// rather than a count every new migration would have to raise.
func knownVersions(t *testing.T) []int64 {
	t.Helper()
	s, err := Open(testenv.DatabaseURL(t, testenv.SQLite, testenv.Binary), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.Migrations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, m := range list {
		out = append(out, m.Version)
	}
	if len(out) < 2 || out[0] != 1 || out[1] != adoptVersion {
		t.Fatalf("known versions %v, want 1, 2, …", out)
	}
	return out
}

// onceEach is goose's rows per version after each known version ran once.
func onceEach(versions []int64) map[int64]int {
	want := map[int64]int{0: 1}
	for _, v := range versions {
		want[v] = 1
	}
	return want
}

// versionsRecorded counts goose's rows per version.
func versionsRecorded(t *testing.T, db *sql.DB) map[int64]int {
	t.Helper()
	rows, err := db.Query("SELECT version_id, COUNT(*) FROM goose_db_version GROUP BY version_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int64]int{}
	for rows.Next() {
		var v int64
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		got[v] = n
	}
	return got
}

// migrateAtOnce opens a store on each URL and has them all migrate at the
// same moment; it returns how many steps each applied.
func migrateAtOnce(t *testing.T, urls ...string) []int {
	t.Helper()
	stores := make([]*Store, len(urls))
	for i, u := range urls {
		s, err := Open(u, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	// goose's version table first, so the instances do not meet at its
	// creation (where goose retries a second later, which would line
	// them up) but all at reading it and applying version 1.
	var pending *PendingError
	if err := stores[0].CheckSchema(context.Background()); !errors.As(err, &pending) {
		t.Fatalf("CheckSchema on a fresh database: %v", err)
	}
	applied := make([]int, len(urls))
	var failed atomic.Int32
	testenv.FanOut(len(stores), func(i int) {
		n, err := stores[i].MigrateCounting(context.Background())
		if err != nil {
			failed.Add(1)
			t.Errorf("instance %d: %v", i, err)
		}
		applied[i] = n
	})
	if failed.Load() > 0 {
		t.FailNow()
	}
	return applied
}

// TestMigrateConcurrently: three instances migrating one fresh database
// at the same moment apply each step once between them (the migration
// lock), and each version is recorded once.
func TestMigrateConcurrently(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db string) {
		versions := knownVersions(t)
		url := testenv.DatabaseURL(t, db, testenv.Binary)
		applied := migrateAtOnce(t, url, url, url)
		if total := applied[0] + applied[1] + applied[2]; total != len(versions) {
			t.Errorf("steps applied by the three: %v, want %d in all", applied, len(versions))
		}
		want := onceEach(versions)
		if got := versionsRecorded(t, testenv.Plain(t, url)); !cmp.Equal(got, want) {
			t.Errorf("goose_db_version rows per version: %v, want %v", got, want)
		}
	})
}

// TestClusterMigrateConcurrently is TestMigrateConcurrently on a Galera
// cluster, each instance on its own node: GET_LOCK would be one per node,
// so the cluster's lock is a row, and the version reads are causal.
func TestClusterMigrateConcurrently(t *testing.T) {
	cluster := testenv.Cluster(t)
	t.Parallel()
	url := testenv.ClusterDatabaseURL(t, cluster)
	nodes := testenv.Nodes(t, cluster)
	versions := knownVersions(t)
	applied := migrateAtOnce(t, testenv.OnNodes(t, url, nodes[0]), testenv.OnNodes(t, url, nodes[1]), testenv.OnNodes(t, url, nodes[2]))
	if total := applied[0] + applied[1] + applied[2]; total != len(versions) {
		t.Errorf("steps applied by the three: %v, want %d in all", applied, len(versions))
	}
	for _, node := range nodes {
		db := testenv.Node(t, url, node)
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(context.Background(), "SET SESSION wsrep_sync_wait = 1"); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		want := onceEach(versions)
		if got := versionsRecorded(t, db); !cmp.Equal(got, want) {
			t.Errorf("goose_db_version rows per version through %s: %v, want %v", node, got, want)
		}
	}
}

// TestMigrateRefusesNewerSchema: a database a newer release migrated
// stops Migrate and CheckSchema with an error naming both versions.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	versions := knownVersions(t)
	latest := versions[len(versions)-1]
	eachDB(t, func(t *testing.T, s *Store) {
		if err := s.db.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)").Error; err != nil {
			t.Fatal(err)
		}
		for name, check := range map[string]func(context.Context) error{"Migrate": s.Migrate, "CheckSchema": s.CheckSchema} {
			err := check(context.Background())
			var newer *SchemaNewerError
			if !errors.As(err, &newer) || newer.Database != 9999 || newer.Binary != latest {
				t.Errorf("%s: got %v, want a SchemaNewerError 9999 > %d", name, err, latest)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, "version 9999") || !strings.Contains(msg, fmt.Sprintf("version %d)", latest)) || strings.Contains(msg, "\n") {
				t.Errorf("%s said %q, want one line naming both versions", name, msg)
			}
		}
	})
}

// TestCheckSchema: a fresh database has every step pending, and
// Migrations says so; after Migrate, none.
func TestCheckSchema(t *testing.T) {
	versions := knownVersions(t)
	latest := versions[len(versions)-1]
	testenv.EachDB(t, func(t *testing.T, db string) {
		s, err := Open(testenv.DatabaseURL(t, db, testenv.Binary), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		var pending *PendingError
		if err := s.CheckSchema(ctx); !errors.As(err, &pending) || pending.Pending != len(versions) || pending.Database != 0 || pending.Binary != latest {
			t.Fatalf("CheckSchema on a fresh database: got %v, want %d pending, 0 → %d", err, len(versions), latest)
		}
		describe := func(applied bool) {
			t.Helper()
			list, err := s.Migrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != len(versions) || list[0].Name != "00001_tables.sql" || list[1].Name != "00002_adopt_earlier_releases (Go)" {
				t.Errorf("migrations: %+v", list)
			}
			for _, m := range list {
				if m.Applied != applied || m.AppliedAt.IsZero() == applied {
					t.Errorf("migration %d %s: applied %t at %v, want applied %t", m.Version, m.Name, m.Applied, m.AppliedAt, applied)
				}
			}
		}
		describe(false)
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.CheckSchema(ctx); err != nil {
			t.Errorf("CheckSchema after Migrate: %v", err)
		}
		describe(true)
	})
}
