// Package models owns Gatehouse's vocabulary — users and their linked
// provider identities, sessions and refresh tokens, login failures, the
// security log (events), two-factor secrets and pending logins, emailed
// links and the mail outbox, OAuth states, signing keys, posts — and their
// persistence through GORM on SQLite or MySQL/MariaDB (a Galera cluster
// included), the schema made by numbered migrations (migrate.go), every
// write retried the one way retry.go describes. It also
// defines the domain Error that every layer returns. It must not import
// net/http, Echo or templates; *gorm.DB never leaves it.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is the database. Its methods are named for what callers intend
// (UserByEmail, CreateSession) and take a context first.
type Store struct {
	db      *gorm.DB
	dialect string
	timeout time.Duration // DB_TIMEOUT: the deadline of every call
	// The hot-path reads (caller.go) use statements prepared once: on
	// SQLite through reads, a pool of read-only connections beside the
	// single writer (WAL lets them run while a write commits); on MySQL
	// through stmts, on the one pool.
	reads *sqliteReads
	stmts *stmtCache
	inTx  bool // a Store bound to a transaction (Atomically): queries run on it
	// galera is set when the server is a Galera cluster node: then the
	// reads that decide whether a session lives wait until the node has
	// applied every write committed anywhere in the cluster (caller.go).
	galera bool
	caller callerQueries
	// sweepBatch and sweepPause bound the sweeps' batches (sweep.go).
	sweepBatch int
	sweepPause time.Duration
	// path is the SQLite file ("" on MySQL); newPool opens another pool on
	// the same MySQL/MariaDB database with extra session variables (nil on
	// SQLite). The migrations use them (migrate.go, migrate_lock.go).
	path    string
	newPool func(params map[string]string) (*sql.DB, error)
}

// Open connects to databaseURL: sqlite://relative/path.db,
// sqlite:///absolute/path.db or mysql://USER:PASS@HOST:PORT/DB[?params].
// timeout (DB_TIMEOUT) bounds every database call; zero means the default,
// 3 s. It does not migrate; call Migrate.
func Open(databaseURL string, timeout time.Duration) (*Store, error) {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	dialector, path, newPool, err := dialectorFor(databaseURL, timeout)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		TranslateError: true, // unique violations become gorm.ErrDuplicatedKey on both drivers
		Logger:         logger.Discard,
		NowFunc:        func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: cannot connect: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	s := &Store{db: db, dialect: dialector.Name(), timeout: timeout, sweepBatch: DefaultSweepBatch, sweepPause: DefaultSweepPause, path: path, newPool: newPool}
	if s.dialect == "sqlite" {
		// One writer at a time is SQLite's model; a single connection turns
		// "database is locked" races into an orderly queue. The hot-path
		// reads have connections of their own (sqliteReads).
		sqlDB.SetMaxOpenConns(1)
		s.reads = newSQLiteReads(path, sqliteReaders, timeout)
	} else {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(20) // a busy instance keeps its connections instead of redialling
		sqlDB.SetConnMaxLifetime(5 * time.Minute)
		s.stmts = &stmtCache{db: sqlDB}
		ctx, cancel := s.deadline(context.Background())
		defer cancel()
		if s.galera, err = isGalera(ctx, sqlDB); err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("DATABASE_URL: cannot connect: %w", err)
		}
	}
	s.caller = callerQueriesFor(s.galera)
	return s, nil
}

// sqliteReaders is the size of SQLite's read pool: enough to keep two
// cores busy while one connection waits on the disk.
const sqliteReaders = 4

// dialectorFor returns GORM's dialector for databaseURL and, for SQLite,
// the database file's path, for MySQL a way to open another pool on the
// same database with extra session variables.
func dialectorFor(databaseURL string, timeout time.Duration) (gorm.Dialector, string, func(map[string]string) (*sql.DB, error), error) {
	// Which schemes are accepted is config's rule (config.DatabaseSchemes,
	// checked at start); here each is mapped to its driver.
	scheme, rest, _ := strings.Cut(databaseURL, "://")
	switch scheme {
	case "sqlite":
		path, query, _ := strings.Cut(rest, "?")
		if path == "" || path == "/" {
			return nil, "", nil, errors.New("DATABASE_URL names no SQLite file")
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, "", nil, fmt.Errorf("DATABASE_URL: create %s: %w", dir, err)
			}
		}
		// synchronous(NORMAL) is SQLite's advice for WAL: a commit no longer
		// waits for fsync (the WAL is synced at checkpoints); a power cut
		// may lose the last commits but never corrupts the file.
		pragmas := "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
		if query != "" {
			pragmas += "&" + query
		}
		return sqlite.Open("file:" + path + "?" + pragmas), path, nil, nil
	case "mysql":
		u, err := url.Parse(databaseURL)
		if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" {
			return nil, "", nil, errors.New("DATABASE_URL must look like mysql://USER:PASS@HOST:PORT[,HOST:PORT…]/DB")
		}
		addrs, err := splitHosts(u.Host)
		if err != nil {
			return nil, "", nil, err
		}
		cfg := mysqldriver.NewConfig()
		cfg.Net = "tcp"
		cfg.Addr = addrs[0]
		cfg.DBName = strings.Trim(u.Path, "/")
		if u.User != nil {
			cfg.User = u.User.Username()
			cfg.Passwd, _ = u.User.Password()
		}
		cfg.ParseTime = true
		cfg.Loc = time.UTC
		cfg.InterpolateParams = true // no server-side prepare per statement: about half the round trips
		cfg.Params = map[string]string{"charset": "utf8mb4"}
		cfg.Collation = "utf8mb4_bin"
		cfg.Timeout = timeout // dialling; each call's context bounds the rest
		dsn := cfg.FormatDSN()
		if u.RawQuery != "" {
			dsn += "&" + u.RawQuery // the caller's params win over our defaults
		}
		cfg, err = mysqldriver.ParseDSN(dsn)
		if err != nil {
			return nil, "", nil, errors.New("DATABASE_URL has a parameter the MySQL driver does not accept")
		}
		connector, err := newHostConnector(cfg, addrs)
		if err != nil {
			return nil, "", nil, errors.New("DATABASE_URL has a parameter the MySQL driver does not accept")
		}
		newPool := func(params map[string]string) (*sql.DB, error) {
			c := cfg.Clone()
			c.Params = maps.Clone(c.Params)
			if c.Params == nil {
				c.Params = map[string]string{}
			}
			for k, v := range params {
				c.Params[k] = v
			}
			conn, err := newHostConnector(c, addrs)
			if err != nil {
				return nil, err
			}
			return sql.OpenDB(conn), nil
		}
		return mysql.New(mysql.Config{Conn: sql.OpenDB(connector)}), "", newPool, nil
	default:
		return nil, "", nil, fmt.Errorf("DATABASE_URL scheme %q is not supported (use sqlite:// or mysql://)", scheme)
	}
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w: %v", ErrUnavailable, err)
	}
	return nil
}

// Close releases the connection pools.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	if s.reads != nil {
		s.reads.close()
	}
	if s.stmts != nil {
		s.stmts.close()
	}
	return sqlDB.Close()
}

// Dialect names the database in use: "sqlite" or "mysql".
func (s *Store) Dialect() string { return s.dialect }

// failed translates a storage error at the package boundary: a missing row
// is ErrNotFound, a domain Error returned from inside a transaction and a
// cancelled request stay what they are, and anything else means the
// database failed us (503, with the cause kept for the log).
func failed(op string, err error) error {
	var domain *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &domain):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", op, err)
	default:
		// err stays wrapped too: retry (retry.go) looks for the MySQL
		// error inside an Atomically that a Store method translated.
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
}

// deadline bounds one database call by DB_TIMEOUT (contract §9): a
// database that stops answering gives 503 instead of a hung request.
func (s *Store) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

// defaultTimeout is DB_TIMEOUT's default.
const defaultTimeout = 3 * time.Second
