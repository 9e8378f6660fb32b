package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"
)

// callerColumns is one authenticated request's whole read: the session
// and its user (with the providers linked to it, kept on the row), in one
// round trip.
// It is hand-written SQL on a statement prepared once (queryRow) because
// it runs on every authenticated request: GORM's statement building and,
// on SQLite, a fresh compile per query cost more than the query itself.
const callerColumns = `SELECT s.token_hash, s.public_id, s.user_id, s.scopes, s.ip, s.user_agent,
	s.created_at, s.last_seen_at, s.expires_at, s.auth_time, s.client_id, s.amr,
	u.id, u.email, u.full_name, u.password_hash, u.scopes, u.disabled, u.email_verified,
	u.created_at, u.updated_at, u.linked_providers, u.mfa_enabled`

const (
	callerByTokenHash = callerColumns + `
FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`
	// callerByPublicID reads, with the session a token names, whether
	// the key its kid names is live (exists and is not retired): the
	// check that lets retiring a key end its tokens at once costs no
	// query of its own. The kid is the first argument.
	callerByPublicID = callerColumns + `,
	k.kid IS NOT NULL AND k.retired_at IS NULL
FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN signing_keys k ON k.kid = ?
WHERE s.public_id = ?`
)

// causal makes a query on a Galera node wait until the node has applied
// every write the cluster committed before it began (wsrep_sync_wait=1,
// for this statement alone: MariaDB's SET STATEMENT). Galera replicates a
// commit to every node before it returns, but the other nodes apply it a
// moment later; without the wait a logout, revocation, disable or password
// change made through one node could let the very next request, through
// another, find the session still there. The wait is a round trip inside
// the cluster; bench/run's Galera mode measures it. Only the reads that
// decide whether a session lives, and the login's read of the account,
// pay it; a plain MySQL or MariaDB never sees the prefix (a MySQL server
// rejects the variable), and DATABASE_URL's ?wsrep_sync_wait=1 makes every
// read of a connection causal instead.
const causal = "SET STATEMENT wsrep_sync_wait=1 FOR "

// causalRead is query made causal on a Galera node (see causal); on
// any other server it is query.
func (s *Store) causalRead(query string) string {
	if s.galera {
		return causal + query
	}
	return query
}

// callerQueries are the caller queries as this Store runs them.
type callerQueries struct{ byTokenHash, byPublicID, userByEmail, refreshByHash string }

// userByEmail is UserByEmail's query: a login must not let in a password
// just changed, or an account just disabled, through another node.
const userByEmail = "SELECT * FROM users WHERE email = ? LIMIT 1"

func callerQueriesFor(galera bool) callerQueries {
	q := callerQueries{byTokenHash: callerByTokenHash, byPublicID: callerByPublicID, userByEmail: userByEmail,
		refreshByHash: refreshTokenByHash}
	if galera {
		q.byTokenHash, q.byPublicID, q.userByEmail = causal+q.byTokenHash, causal+q.byPublicID, causal+q.userByEmail
		q.refreshByHash = causal + q.refreshByHash // a refresh after a logout on another node
	}
	return q
}

// isGalera reports whether db's server is a node of a MariaDB Galera
// cluster. The causal statements (SET STATEMENT … FOR) are MariaDB's, so a
// Galera node of another make (Percona XtraDB Cluster) counts as a plain
// server; there, DATABASE_URL's ?wsrep_sync_wait=1 makes reads causal.
func isGalera(ctx context.Context, db *sql.DB) (bool, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var galera bool
	err = conn.Raw(func(dc any) error {
		status, err := galeraStatus(ctx, dc.(driver.Conn))
		galera = status != nil
		return err
	})
	if err != nil || !galera {
		return false, err
	}
	var version string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return false, err
	}
	return strings.Contains(version, "MariaDB"), nil
}

// SessionByTokenHash finds a session by the hash of its cookie token, with
// its user, in one query; ErrNotFound if none.
func (s *Store) SessionByTokenHash(ctx context.Context, hash string) (*Session, *User, error) {
	sess, u, err := s.sessionWithUser(ctx, s.caller.byTokenHash, []any{hash})
	return sess, u, err
}

// SessionByPublicID finds a session by its public handle (a token's sid),
// with its user, in one query; ErrNotFound if none. keyLive reports, in
// the same query, whether the signing key kid names exists and is not
// retired (always false for an empty kid: HS256 tokens have none).
func (s *Store) SessionByPublicID(ctx context.Context, publicID, kid string) (sess *Session, u *User, keyLive bool, err error) {
	sess, u, err = s.sessionWithUser(ctx, s.caller.byPublicID, []any{kid, publicID}, &keyLive)
	return sess, u, keyLive, err
}

// sessionWithUser runs one of the caller queries with args and scans its
// row; extra receives the columns after the user's.
func (s *Store) sessionWithUser(ctx context.Context, query string, args []any, extra ...any) (*Session, *User, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var (
		sess Session
		u    User
	)
	dest := append([]any{&sess.TokenHash, &sess.PublicID, &sess.UserID, &sess.Scopes, &sess.IP, &sess.UserAgent,
		&sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt, &sess.AuthTime, &sess.ClientID, &sess.AMR,
		&u.ID, &u.Email, &u.FullName, &u.PasswordHash, &u.Scopes, &u.Disabled, &u.EmailVerified,
		&u.CreatedAt, &u.UpdatedAt, &u.LinkedProviders, &u.MFAEnabled}, extra...)
	err := s.queryRow(ctx, query, args, dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, failed("session", err)
	}
	return &sess, &u, nil
}

// queryRow runs one of the hot-path queries, prepared once, with args,
// and scans its first row into dest; sql.ErrNoRows if none.
func (s *Store) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	found := false
	err := s.query(ctx, query, args, func(scan func(...any) error) error {
		if found {
			return nil
		}
		found = true
		return scan(dest...)
	})
	if err == nil && !found {
		return sql.ErrNoRows
	}
	return err
}

// query runs one of the hot-path queries, prepared once, and calls each
// for every row with a scan that stores the row's columns in its
// arguments.
func (s *Store) query(ctx context.Context, query string, args []any, each func(scan func(dest ...any) error) error) error {
	if s.inTx {
		rows, err := s.db.WithContext(ctx).Raw(query, args...).Rows()
		return eachRow(rows, err, each)
	}
	if s.reads != nil {
		return s.reads.query(ctx, query, args, each)
	}
	stmt, err := s.stmts.get(ctx, query)
	if err != nil {
		return err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	return eachRow(rows, err, each)
}

// eachRow calls each for every row of rows (the result of a query that
// failed with err, when err is not nil), then closes them.
func eachRow(rows *sql.Rows, err error, each func(scan func(dest ...any) error) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// stmtCache keeps MySQL's prepared statements for the hot paths, made on
// first use. database/sql re-prepares a statement on each pooled connection that
// needs it, and after a reconnect.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  sync.Map // query → *sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m.Store(query, st)
	return st, nil
}

func (c *stmtCache) close() {
	c.m.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
}
