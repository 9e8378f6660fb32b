package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// The migration lock: several instances starting at once on a new
// release apply each migration exactly once (contract §12). Whoever holds
// the lock reads the version table, applies what is pending and records
// it; the others wait, then read the new version and find nothing to do.
// Each database has the lock that fits it:
//
//   - MariaDB/MySQL: GET_LOCK on the connection goose runs the migrations
//     on (mysqlLock). The server drops it when that connection ends, so an
//     instance killed mid-migration never leaves it held.
//   - A Galera cluster: GET_LOCK is local to one node (two instances on
//     two nodes would both get it), so the lock is a row every node sees,
//     goose's table lock (gatehouse_migrate_lock: a lease of 30 s renewed
//     every 5 s while held; a killed holder's lease runs out). Galera's
//     certification lets one of two nodes taking it at once win. The reads
//     are causal (migrationPool), so the winner sees what the last holder
//     wrote through another node.
//   - SQLite: an exclusive flock on a file beside the database
//     (<file>-migrate.lock, sqliteLock). SQLite's own write lock is held
//     per transaction, and goose runs each migration in a transaction of
//     its own, so it cannot cover "read the version, then apply": two
//     processes would both read version 0 and both apply version 1. The
//     kernel drops a flock when its process dies; a lock row would outlive
//     a killed process.

// migrateLockWait is how long an instance waits for another to finish
// migrating before it gives up: migrations that fill a column of a
// million rows take minutes, not hours.
const migrateLockWait = 15 * time.Minute

// migrationLocker returns the provider option that takes this database's
// migration lock.
func (s *Store) migrationLocker() (goose.ProviderOption, error) {
	switch {
	case s.dialect == "sqlite":
		return goose.WithSessionLocker(&sqliteLock{path: s.path + "-migrate.lock"}), nil
	case s.galera:
		l, err := lock.NewMySQLTableLocker(
			lock.WithTableName("gatehouse_migrate_lock"),
			lock.WithTableLockTimeout(250*time.Millisecond, uint64(migrateLockWait/(250*time.Millisecond))),
		)
		if err != nil {
			return nil, err
		}
		return goose.WithLocker(l), nil
	default:
		return goose.WithSessionLocker(mysqlLock{}), nil
	}
}

// mysqlLock is goose's SessionLocker as MariaDB's named lock, one per
// database on the server (its name carries a hash of the database name,
// which may be longer than a lock name may be).
type mysqlLock struct{}

const mysqlLockName = "CONCAT('gatehouse_migrate_', LEFT(SHA2(DATABASE(), 256), 32))"

// SessionLock waits for the lock in rounds of a few seconds, so that a
// cancelled start stops waiting soon.
func (mysqlLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	deadline := time.Now().Add(migrateLockWait)
	for {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+mysqlLockName+", 2)").Scan(&got); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		switch {
		case !got.Valid:
			return fmt.Errorf("migration lock: GET_LOCK failed")
		case got.Int64 == 1:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("migration lock: %w (%s)", errMigrateLockTimeout, migrateLockWait)
		}
	}
}

// SessionUnlock releases the lock.
func (mysqlLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "DO RELEASE_LOCK("+mysqlLockName+")")
	return err
}
