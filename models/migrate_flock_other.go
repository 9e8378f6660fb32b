//go:build !unix

package models

import (
	"context"
	"database/sql"
)

// sqliteLock takes no lock where flock does not exist: one process at a
// time should migrate an SQLite file there (gatehouse migrate, then serve).
type sqliteLock struct{ path string }

func (*sqliteLock) SessionLock(context.Context, *sql.Conn) error   { return nil }
func (*sqliteLock) SessionUnlock(context.Context, *sql.Conn) error { return nil }
