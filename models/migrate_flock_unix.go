//go:build unix

package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// sqliteLock is goose's SessionLocker for SQLite: an exclusive flock on
// path, a file beside the database (see migrate_lock.go for why not
// SQLite's own lock). The connection goose passes is not needed. One
// sqliteLock serves one provider, which holds it at most once at a time.
type sqliteLock struct {
	path string
	file *os.File // open while locked
}

// SessionLock takes the flock, polling, until migrateLockWait.
func (l *sqliteLock) SessionLock(ctx context.Context, _ *sql.Conn) error {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	deadline := time.Now().Add(migrateLockWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			l.file = f
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return fmt.Errorf("migration lock %s: %w", l.path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return fmt.Errorf("migration lock %s: %w (%s)", l.path, errMigrateLockTimeout, migrateLockWait)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SessionUnlock closes the file, which drops the flock.
func (l *sqliteLock) SessionUnlock(context.Context, *sql.Conn) error {
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	return err
}
