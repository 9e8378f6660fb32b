package models

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"gorm.io/gorm"
)

// The schema is a numbered series of migrations per database kind
// (contract §12), run by goose: SQL files under migrations/<dialect>/,
// embedded in the binary, and the Go steps of migrate_adopt.go, which
// share the numbering. goose records each applied version in its table,
// goose_db_version. Adding a table later is a new numbered file in both
// directories (docs/migrations.md).
//
//go:embed migrations/sqlite/*.sql migrations/mysql/*.sql
var migrationFiles embed.FS

// Migration is one step of the schema and whether this database has had it.
type Migration struct {
	Version   int64
	Name      string    // the file, or what a Go step does
	Applied   bool      // false: pending
	AppliedAt time.Time // zero when pending
}

// SchemaNewerError stops a start on a database that a newer release has
// migrated further than this binary knows: running on it could corrupt
// what the newer schema means.
type SchemaNewerError struct{ Database, Binary int64 }

func (e *SchemaNewerError) Error() string {
	return fmt.Sprintf("the database schema is at version %d, newer than this gatehouse knows (version %d): run the newer release, or restore the backup made before the upgrade", e.Database, e.Binary)
}

// PendingError says that the database lacks migrations this binary has.
type PendingError struct {
	Database, Binary int64
	Pending          int
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("the database schema is at version %d and %d migration(s) up to version %d are pending", e.Database, e.Pending, e.Binary)
}

// Migrate applies every pending migration, once, whatever other instances
// start at the same moment: they wait on the migration lock
// (migrate_lock.go) and then find nothing left to do. A database newer
// than this binary is a *SchemaNewerError. serve (MIGRATE_ON_START),
// gatehouse migrate and the tests all come here.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.MigrateCounting(ctx)
	return err
}

// MigrateCounting is Migrate, and says how many migrations it applied.
func (s *Store) MigrateCounting(ctx context.Context) (int, error) {
	p, done, err := s.migrator(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	if err := checkNotNewer(ctx, p); err != nil {
		return 0, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("migrate: %w", err)
	}
	return len(results), s.catchUp(ctx)
}

// catchUp waits, on a Galera node, until the node the store's own pool
// is on has applied every migration: the migration pool may have run
// them through another node (the first listed was not Synced a moment
// before, say), and a node applies another's DDL a moment after it
// commits there. The pool keeps to one node, so one causal read on one
// of its connections covers them all.
func (s *Store) catchUp(ctx context.Context) error {
	if !s.galera {
		return nil
	}
	return s.db.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		if err := conn.Exec("SET SESSION wsrep_sync_wait = 1").Error; err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Exec("SET SESSION wsrep_sync_wait = 0")
		var n int64
		if err := conn.Raw("SELECT COUNT(*) FROM goose_db_version").Scan(&n).Error; err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		return nil
	})
}

// CheckSchema returns nil when the database has every migration this
// binary knows, a *PendingError when some are pending, and a
// *SchemaNewerError when the database is ahead (MIGRATE_ON_START=false).
func (s *Store) CheckSchema(ctx context.Context) error {
	p, done, err := s.migrator(ctx)
	if err != nil {
		return err
	}
	defer done()
	if err := checkNotNewer(ctx, p); err != nil {
		return err
	}
	status, err := p.Status(ctx)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	pending := 0
	for _, m := range status {
		if m.State == goose.StatePending {
			pending++
		}
	}
	if pending == 0 {
		return s.catchUp(ctx)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	return &PendingError{Database: current, Binary: target, Pending: pending}
}

// Migrations lists every migration this binary knows, in order, with
// whether and when this database had it (gatehouse migrate status).
func (s *Store) Migrations(ctx context.Context) ([]Migration, error) {
	p, done, err := s.migrator(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	status, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]Migration, 0, len(status))
	for _, m := range status {
		name := path.Base(m.Source.Path)
		if m.Source.Type == goose.TypeGo {
			name = goStepName(m.Source.Version)
		}
		out = append(out, Migration{
			Version:   m.Source.Version,
			Name:      name,
			Applied:   m.State == goose.StateApplied,
			AppliedAt: m.AppliedAt.UTC(),
		})
	}
	return out, nil
}

// checkNotNewer refuses a database whose highest applied version is
// beyond the last this binary has. On a Galera node the read is causal
// (migrationPool): a version another node just recorded is seen.
func checkNotNewer(ctx context.Context, p *goose.Provider) error {
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	if current > target {
		return &SchemaNewerError{Database: current, Binary: target}
	}
	return nil
}

// migrator builds the goose provider for this database: its dialect's
// files and Go steps, its lock, on a pool fit for migrating (see
// migrationPool). done releases what it opened.
func (s *Store) migrator(ctx context.Context) (*goose.Provider, func(), error) {
	files, err := fs.Sub(migrationFiles, "migrations/"+s.dialect)
	if err != nil {
		return nil, nil, err
	}
	db, closePool, err := s.migrationPool(ctx)
	if err != nil {
		return nil, nil, err
	}
	locker, err := s.migrationLocker()
	if err != nil {
		closePool()
		return nil, nil, err
	}
	dialect := goose.DialectSQLite3
	if s.dialect == "mysql" {
		dialect = goose.DialectMySQL
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true), // no package-level registry: every step is listed here
		goose.WithGoMigrations(s.goMigrations()...),
		locker,
	}
	p, err := goose.NewProvider(dialect, db, files, opts...)
	if err != nil {
		closePool()
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	return p, closePool, nil
}

// migrationPool is the connection pool the migrations run on. On SQLite
// it is the store's own single connection. On MySQL/MariaDB it is a pool
// of its own, opened for the run and closed after it, so that a long
// step does not hold the store's connections and so that, on a Galera
// node, every connection reads causally (wsrep_sync_wait = 1, as the old
// Store.Migrate did on its one connection): the version check and the
// "does this column exist" checks see what another node has committed.
func (s *Store) migrationPool(ctx context.Context) (*sql.DB, func(), error) {
	if s.newPool == nil {
		db, err := s.db.DB()
		return db, func() {}, err
	}
	var params map[string]string
	if s.galera {
		params = map[string]string{"wsrep_sync_wait": "1"}
	}
	db, err := s.newPool(params)
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(4) // the lock's connection, the step's, the lease's heartbeat
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	return db, func() { db.Close() }, nil
}

// errMigrateLockTimeout ends a wait for the migration lock.
var errMigrateLockTimeout = errors.New("another instance has held the migration lock for too long")
