package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteReads runs the hot-path reads (caller.go) on SQLite through
// statements prepared once per connection and reused.
//
// It exists because the driver under GORM, glebarez/go-sqlite, compiles a
// statement anew on every execution, even through a database/sql Stmt:
// for the session-and-user join that compile costs several times the
// query itself (BenchmarkSessionLookup). This is the same SQLite library
// (modernc.org/sqlite/lib) the driver links, called the way its C API
// intends: prepare once, then bind, step and reset. Sharing the library
// matters: SQLite's POSIX lock bookkeeping is per process, so every
// connection to one file must come from one copy of it. The connections
// are read-only (query_only); writes stay on GORM's single writer, and in
// WAL mode each statement here sees every write committed before it began.
type sqliteReads struct {
	path    string
	timeout time.Duration // busy_timeout: never wait on a lock past DB_TIMEOUT
	idle    chan *readConn
	slots   chan struct{} // one per connection that may be open
	mu      sync.Mutex
	closed  bool
}

// readConn is one SQLite connection and its prepared statements. It is
// used by one goroutine at a time.
type readConn struct {
	tls   *libc.TLS
	db    uintptr
	stmts map[string]uintptr
}

func newSQLiteReads(path string, conns int, timeout time.Duration) *sqliteReads {
	return &sqliteReads{path: path, timeout: timeout,
		idle: make(chan *readConn, conns), slots: make(chan struct{}, conns)}
}

var errReadsClosed = errors.New("sqlite reads: closed")

// query runs query with args (string, int, int64, uint64, time.Time) and calls each
// for every row with a scan that stores the row's columns in dest
// (*string, *uint64, *bool, *time.Time, *sql.NullString).
func (r *sqliteReads) query(ctx context.Context, query string, args []any, each func(scan func(dest ...any) error) error) error {
	c, err := r.acquire(ctx)
	if err != nil {
		return err
	}
	defer r.release(c)
	return c.query(query, args, each)
}

func (r *sqliteReads) acquire(ctx context.Context) (*readConn, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, errReadsClosed
	}
	select {
	case c := <-r.idle:
		return c, nil
	default:
	}
	select {
	case c := <-r.idle:
		return c, nil
	case r.slots <- struct{}{}:
		c, err := openReadConn(r.path, r.timeout)
		if err != nil {
			<-r.slots
			return nil, err
		}
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *sqliteReads) release(c *readConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.close()
		return
	}
	r.idle <- c // never blocks: at most cap(idle) connections exist
}

// close closes the idle connections; those in use close when released.
func (r *sqliteReads) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for {
		select {
		case c := <-r.idle:
			c.close()
		default:
			return
		}
	}
}

func openReadConn(path string, timeout time.Duration) (*readConn, error) {
	c := &readConn{tls: libc.NewTLS(), stmts: map[string]uintptr{}}
	name, err := libc.CString(path)
	if err != nil {
		c.tls.Close()
		return nil, err
	}
	defer libc.Xfree(c.tls, name)
	out := c.tls.Alloc(int(unsafe.Sizeof(uintptr(0))))
	defer c.tls.Free(int(unsafe.Sizeof(uintptr(0))))
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, out, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = libc.AtomicLoadPUintptr(out)
	if rc != sqlite3.SQLITE_OK {
		err := c.errorFor(rc)
		c.close()
		return nil, err
	}
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, int32(timeout.Milliseconds()))
	if err := c.exec("PRAGMA query_only = 1"); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *readConn) exec(query string) error {
	st, err := c.prepare(query)
	if err != nil {
		return err
	}
	rc := sqlite3.Xsqlite3_step(c.tls, st)
	sqlite3.Xsqlite3_reset(c.tls, st)
	if rc != sqlite3.SQLITE_DONE && rc != sqlite3.SQLITE_ROW {
		return c.errorFor(rc)
	}
	return nil
}

// prepare returns query's statement on this connection, compiling it the
// first time.
func (c *readConn) prepare(query string) (uintptr, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	text, err := libc.CString(query)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(c.tls, text)
	out := c.tls.Alloc(int(unsafe.Sizeof(uintptr(0))))
	defer c.tls.Free(int(unsafe.Sizeof(uintptr(0))))
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, text, -1, out, 0); rc != sqlite3.SQLITE_OK {
		return 0, c.errorFor(rc)
	}
	st := libc.AtomicLoadPUintptr(out)
	c.stmts[query] = st
	return st, nil
}

func (c *readConn) query(query string, args []any, each func(scan func(dest ...any) error) error) error {
	st, err := c.prepare(query)
	if err != nil {
		return err
	}
	defer sqlite3.Xsqlite3_clear_bindings(c.tls, st)
	defer sqlite3.Xsqlite3_reset(c.tls, st)
	for i, arg := range args {
		if err := c.bind(st, int32(i+1), arg); err != nil {
			return err
		}
	}
	scan := func(dest ...any) error {
		for i, d := range dest {
			if err := c.column(st, int32(i), d); err != nil {
				return fmt.Errorf("column %d: %w", i, err)
			}
		}
		return nil
	}
	for {
		switch rc := sqlite3.Xsqlite3_step(c.tls, st); rc {
		case sqlite3.SQLITE_ROW:
			if err := each(scan); err != nil {
				return err
			}
		case sqlite3.SQLITE_DONE:
			return nil
		default:
			return c.errorFor(rc)
		}
	}
}

// bind sets parameter i (from 1). Text is copied by SQLite
// (SQLITE_TRANSIENT), so it is freed at once.
func (c *readConn) bind(st uintptr, i int32, arg any) error {
	var rc int32
	switch v := arg.(type) {
	case string:
		p, err := libc.CString(v)
		if err != nil {
			return err
		}
		rc = sqlite3.Xsqlite3_bind_text(c.tls, st, i, p, int32(len(v)), sqlite3.SQLITE_TRANSIENT)
		libc.Xfree(c.tls, p)
	case int64:
		rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, i, v)
	case uint64:
		rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, i, int64(v))
	case int:
		rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, i, int64(v))
	case time.Time:
		return c.bind(st, i, v.Format(sqliteTimeFormats[0])) // as the driver writes it
	default:
		return fmt.Errorf("unsupported argument %T", arg)
	}
	if rc != sqlite3.SQLITE_OK {
		return c.errorFor(rc)
	}
	return nil
}

// column stores column i of the current row in dest, converting as the
// database/sql driver would for the types GORM writes.
func (c *readConn) column(st uintptr, i int32, dest any) error {
	isNull := sqlite3.Xsqlite3_column_type(c.tls, st, i) == sqlite3.SQLITE_NULL
	switch d := dest.(type) {
	case *sql.NullString:
		d.Valid = !isNull
		d.String = c.text(st, i)
	case *string:
		*d = c.text(st, i)
	case *uint64:
		*d = uint64(sqlite3.Xsqlite3_column_int64(c.tls, st, i))
	case *bool:
		*d = sqlite3.Xsqlite3_column_int64(c.tls, st, i) != 0
	case *sql.NullTime:
		d.Valid = !isNull
		d.Time = time.Time{}
		if isNull {
			return nil
		}
		return c.column(st, i, &d.Time)
	case *time.Time:
		if isNull {
			*d = time.Time{}
			return nil
		}
		t, err := parseSQLiteTime(c.text(st, i))
		if err != nil {
			return err
		}
		*d = t
	default:
		return fmt.Errorf("unsupported destination %T", dest)
	}
	return nil
}

// text copies a text column into Go memory.
func (c *readConn) text(st uintptr, i int32) string {
	p := sqlite3.Xsqlite3_column_text(c.tls, st, i)
	n := sqlite3.Xsqlite3_column_bytes(c.tls, st, i)
	if p == 0 || n <= 0 {
		return ""
	}
	return string(libc.GoBytes(p, int(n))) // string() copies out of SQLite's buffer
}

func (c *readConn) errorFor(rc int32) error {
	msg := "sqlite error " + strconv.Itoa(int(rc))
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	return fmt.Errorf("sqlite: %s (%d)", msg, rc)
}

func (c *readConn) close() {
	for _, st := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, st)
	}
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
	}
	c.tls.Close()
}

// sqliteTimeFormats are the layouts glebarez/go-sqlite writes time.Time
// in (the first) and reads back, in its order.
var sqliteTimeFormats = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseSQLiteTime(s string) (time.Time, error) {
	s = strings.TrimSuffix(s, "Z")
	for _, f := range sqliteTimeFormats {
		if t, err := time.ParseInLocation(f, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time", s)
}
