package models

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	mysqldriver "github.com/go-sql-driver/mysql"
)

// A MySQL DATABASE_URL may name several hosts, the nodes of one cluster
// (mysql://USER:PASS@h1:3306,h2:3306,h3:3306/DB). Gatehouse then picks the
// node itself, in this process, rather than through a proxy such as
// haproxy in front: one moving part fewer to run, watch and make highly
// available in its turn, and the check of a node's state below needs the
// MySQL protocol, which a TCP proxy does not speak.
//
// Every new connection goes to the node the last one went to, so an
// instance keeps to one node while it is up (fewer certification
// conflicts than spreading writes); if that node refuses, dies or is not
// synced, it tries the next, in the URL's order, and stays there. Pooled
// connections to a node that died are dropped by the driver when they are
// next taken from the pool (it sees the closed socket) or fail the one
// request that was using them: that request may get a 503, and database/sql
// opens the next connection on a live node.

// hostConnector is a driver.Connector over the hosts of one DATABASE_URL.
type hostConnector struct {
	addrs []string
	hosts []driver.Connector // one per address, same settings otherwise
	last  atomic.Int64       // index of the host the last connection went to
	// epochs count, per host, the times its connections were found
	// refusing statements (1047): a connection made before the last time
	// is stale (nodeConn).
	epochs []atomic.Int64
}

// newHostConnector returns a connector that tries cfg with each of addrs.
func newHostConnector(cfg *mysqldriver.Config, addrs []string) (*hostConnector, error) {
	c := &hostConnector{addrs: addrs}
	for _, addr := range addrs {
		hc := cfg.Clone()
		hc.Addr = addr
		conn, err := mysqldriver.NewConnector(hc)
		if err != nil {
			return nil, err
		}
		c.hosts = append(c.hosts, conn)
	}
	c.epochs = make([]atomic.Int64, len(addrs))
	return c, nil
}

// Connect opens a connection on the first host, starting from the last
// one used, that accepts it and is ready for clients.
func (c *hostConnector) Connect(ctx context.Context) (driver.Conn, error) {
	start := int(c.last.Load())
	var errs []error
	for i := range c.hosts {
		h := (start + i) % len(c.hosts)
		conn, err := c.hosts[h].Connect(ctx)
		if err == nil {
			if err = ready(ctx, conn); err != nil {
				conn.Close()
			}
		}
		if err == nil {
			c.last.Store(int64(h))
			return wrapConn(conn, &c.epochs[h]), nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", c.addrs[h], err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// Driver returns the MySQL driver.
func (c *hostConnector) Driver() driver.Driver { return c.hosts[0].Driver() }

// wsrepState asks a server for its Galera state. A server that is not a
// Galera node (wsrep off, or MySQL) has no wsrep_local_state row.
const wsrepState = "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', 'wsrep_ready')"

// errNotSynced refuses a Galera node that is up but not part of the
// primary component or not synced with it (joining, donor, desynced):
// it would refuse queries or serve stale reads.
var errNotSynced = errors.New("node not synced with its Galera cluster (wsrep_local_state is not 4 or wsrep_ready is not ON)")

// ready checks, on a new connection, that its server may serve clients:
// any server that is not a Galera node, or a Galera node that is Synced
// (wsrep_local_state 4) and ready. One round trip per new connection; the
// pool keeps connections, so requests do not pay it.
func ready(ctx context.Context, conn driver.Conn) error {
	status, err := galeraStatus(ctx, conn)
	if err != nil || status == nil {
		return err
	}
	if status["wsrep_local_state"] != "4" || status["wsrep_ready"] != "ON" {
		return errNotSynced
	}
	return nil
}

// galeraStatus returns the server's wsrep_local_state and wsrep_ready, or
// nil when it is not a Galera node.
func galeraStatus(ctx context.Context, conn driver.Conn) (map[string]string, error) {
	q, ok := conn.(driver.QueryerContext)
	if !ok {
		return nil, errors.New("the MySQL driver cannot run a query on a new connection")
	}
	rows, err := q.QueryContext(ctx, wsrepState, nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	status := map[string]string{}
	row := make([]driver.Value, len(rows.Columns()))
	for {
		if err := rows.Next(row); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		if len(row) == 2 {
			status[text(row[0])] = text(row[1])
		}
	}
	if _, ok := status["wsrep_local_state"]; !ok {
		return nil, nil
	}
	return status, nil
}

// text is a column value the driver returned as bytes or a string.
func text(v driver.Value) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// splitHosts returns the addresses a URL's host part names, comma
// separated, each with MySQL's port 3306 when it names none.
func splitHosts(hostPart string) ([]string, error) {
	var addrs []string
	for _, h := range strings.Split(hostPart, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, errors.New("DATABASE_URL names an empty host")
		}
		if !strings.Contains(h, ":") {
			h += ":3306"
		}
		addrs = append(addrs, h)
	}
	return addrs, nil
}

// A Galera node can leave the primary component while it stays up (a
// network partition, its peers gone): it then refuses every statement
// with 1047 (ER_UNKNOWN_COM_ERROR, "WSREP has not yet prepared node for
// application use") until it rejoins. The pool would keep handing out its
// connections, so a connection that meets 1047 makes every connection to
// its node stale (the host's epoch moves on): database/sql closes a stale
// one when it next takes it from the pool, instead of using it, and the
// next one the hostConnector opens goes to a node that is Synced. One
// statement per node meets the refusal; it was not run, so a write that
// met it is retried like a certification failure (rolledBack).

// notReady reports whether err is a node's refusal to run anything
// because it is not part of the primary component (1047).
func notReady(err error) bool {
	var me *mysqldriver.MySQLError
	return errors.As(err, &me) && me.Number == 1047
}

// mysqlConnection is what the MySQL driver's connection implements and
// database/sql uses.
type mysqlConnection interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.NamedValueChecker
	driver.SessionResetter
	driver.Validator
}

// nodeConn is a MySQL connection that goes stale when a connection to
// its node meets a refusal (1047).
type nodeConn struct {
	mysqlConnection
	host  *atomic.Int64 // its host's epoch
	epoch int64         // the epoch it was made in
}

// wrapConn returns conn as a nodeConn of the host whose epoch is host, or
// conn itself if the driver ever stops implementing what nodeConn
// forwards.
func wrapConn(conn driver.Conn, host *atomic.Int64) driver.Conn {
	mc, ok := conn.(mysqlConnection)
	if !ok {
		return conn
	}
	return &nodeConn{mysqlConnection: mc, host: host, epoch: host.Load()}
}

func (c *nodeConn) stale() bool { return c.host.Load() != c.epoch }

// check passes err on; a refusal makes the connections to the node stale,
// unless they already were (a connection made since stays good).
func (c *nodeConn) check(err error) error {
	if notReady(err) {
		c.host.CompareAndSwap(c.epoch, c.epoch+1)
	}
	return err
}

func (c *nodeConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *nodeConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.mysqlConnection.PrepareContext(ctx, query)
	if err != nil {
		return nil, c.check(err)
	}
	if ms, ok := st.(mysqlStatement); ok {
		return &nodeStmt{mysqlStatement: ms, conn: c}, nil
	}
	return st, nil
}

func (c *nodeConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.mysqlConnection.BeginTx(ctx, opts)
	return tx, c.check(err)
}

func (c *nodeConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.mysqlConnection.ExecContext(ctx, query, args)
	return res, c.check(err)
}

func (c *nodeConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.mysqlConnection.QueryContext(ctx, query, args)
	return rows, c.check(err)
}

// ResetSession and IsValid are how database/sql asks whether a connection
// may go back to the pool and be reused.
func (c *nodeConn) ResetSession(ctx context.Context) error {
	if c.stale() {
		return driver.ErrBadConn
	}
	return c.mysqlConnection.ResetSession(ctx)
}

func (c *nodeConn) IsValid() bool { return !c.stale() && c.mysqlConnection.IsValid() }

// mysqlStatement is what the MySQL driver's prepared statement implements.
type mysqlStatement interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
	driver.NamedValueChecker
}

// nodeStmt is a statement prepared on a nodeConn: its refusals make the
// connection stale too.
type nodeStmt struct {
	mysqlStatement
	conn *nodeConn
}

func (s *nodeStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	res, err := s.mysqlStatement.ExecContext(ctx, args)
	return res, s.conn.check(err)
}

func (s *nodeStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.mysqlStatement.QueryContext(ctx, args)
	return rows, s.conn.check(err)
}
