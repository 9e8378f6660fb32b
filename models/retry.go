package models

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// Every write of the Store goes through transaction or write, the one
// place that retries a write the database rolled back whole:
//
//   - 1213 (ER_LOCK_DEADLOCK): InnoDB chose the transaction as a deadlock
//     victim, or — on a Galera cluster — a conflicting write committed
//     first on another node and this one failed certification at commit.
//     Either way nothing of it was applied.
//   - 1205 (ER_LOCK_WAIT_TIMEOUT): a statement waited too long for a row
//     lock. InnoDB rolls back only that statement; fn's error makes GORM
//     roll back the rest, so again nothing was applied.
//   - 1047: a Galera node that left the primary component refuses every
//     statement; the retry runs on a connection to another node.
//
// Each is run again, a bounded number of times, within the caller's
// deadline (s.deadline), rather than answered with a 503. Nothing else is
// retried: a connection lost during COMMIT leaves the outcome unknown, and
// running the write again could apply it twice, so that stays a 503.
//
// A write that can meet a conflict on a cluster — any write — therefore
// reads
//
//	err := s.transaction(ctx, func(tx *gorm.DB) error { … })
//
// for several statements that commit together, or
//
//	err := s.write(ctx, func(db *gorm.DB) error { res := db.…; n = res.RowsAffected; return res.Error })
//
// for one. fn may run more than once: it must assign, never accumulate,
// what it hands back to the caller.

// writeAttempts bounds how often a write is tried in all.
const writeAttempts = 5

// transaction runs fn in one transaction, retried on a deadlock or a
// certification conflict (see above).
//
// On a Store bound to a transaction (Atomically) fn runs in a savepoint
// of it and is not retried here: a deadlock rolls back the whole
// transaction, so only Atomically, which runs it all again, may retry.
func (s *Store) transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.inTx {
		return s.db.WithContext(ctx).Transaction(fn)
	}
	return retry(ctx, func() error { return s.db.WithContext(ctx).Transaction(fn) })
}

// caughtUpTransaction is transaction for a change that decides from what
// it reads (the last administrator, the last way to log in): on a Galera
// node it first waits, on the connection it then runs on, until the node
// has applied every write the cluster committed (the causal wait of
// caller.go), so its snapshot is not behind another node's. The wait must
// come before BEGIN: inside a transaction MariaDB skips it. Elsewhere it
// is transaction.
func (s *Store) caughtUpTransaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if !s.galera || s.inTx { // inside Atomically it is too late to wait (after BEGIN)
		return s.transaction(ctx, fn)
	}
	return retry(ctx, func() error {
		return s.db.WithContext(ctx).Connection(func(conn *gorm.DB) error {
			if err := conn.Exec(causal + "SELECT 1").Error; err != nil {
				return err
			}
			return conn.Transaction(fn)
		})
	})
}

// write runs fn, one statement in autocommit, retried like transaction.
// On a Store bound to a transaction it runs once, as transaction does.
func (s *Store) write(ctx context.Context, fn func(db *gorm.DB) error) error {
	if s.inTx {
		return fn(s.db.WithContext(ctx))
	}
	return retry(ctx, func() error { return fn(s.db.WithContext(ctx)) })
}

// retry runs run until it succeeds, fails for a reason a retry cannot
// help, writeAttempts have been made, or ctx ends. Between attempts it
// waits a few milliseconds, more each time and jittered, so two writers
// that collided do not collide again in step.
func retry(ctx context.Context, run func() error) error {
	for attempt := 1; ; attempt++ {
		err := run()
		if attempt >= writeAttempts || !rolledBack(err) || ctx.Err() != nil {
			return err
		}
		pause := time.Duration(attempt)*5*time.Millisecond + rand.N(5*time.Millisecond)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// rolledBack reports whether err is a MySQL error after which the whole
// write was rolled back and may safely run again: a deadlock or
// certification failure (1213), a lock wait timeout (1205), or a Galera
// node outside the primary component refusing the statement (1047; it
// cannot commit anything, and its connection is dropped: cluster.go).
func rolledBack(err error) bool {
	var me *mysqldriver.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205 || me.Number == 1047)
}

// deleteWhere deletes the rows of model's table that match the condition,
// through write, and says how many.
func (s *Store) deleteWhere(ctx context.Context, model any, query string, args ...any) (int64, error) {
	var n int64
	err := s.write(ctx, func(db *gorm.DB) error {
		res := db.Where(query, args...).Delete(model)
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

// writeResult runs one statement through write and hands back its result
// (RowsAffected, Error) from the last attempt.
func (s *Store) writeResult(ctx context.Context, stmt func(db *gorm.DB) *gorm.DB) *gorm.DB {
	var res *gorm.DB
	_ = s.write(ctx, func(db *gorm.DB) error {
		res = stmt(db)
		return res.Error
	})
	return res
}

// Atomically runs fn in one transaction with a Store bound to it: every
// Store method fn calls on tx commits or rolls back together (an action
// and the mail it causes, contract §6). fn must use tx only — on SQLite
// the store has a single writing connection, which the transaction holds.
// Store methods that open transactions of their own nest inside it.
func (s *Store) Atomically(ctx context.Context, fn func(tx *Store) error) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	// Retried whole, like transaction: the Store methods fn calls on tx
	// do not retry inside it (a deadlock has rolled everything back), so
	// fn may run more than once and must assign, not accumulate.
	err := retry(ctx, func() error {
		return s.db.WithContext(ctx).Transaction(func(db *gorm.DB) error {
			tx := *s
			tx.db, tx.reads, tx.stmts, tx.inTx = db, nil, nil, true
			return fn(&tx)
		})
	})
	if _, ok := AsError(err); ok {
		return err // a domain error from fn, already translated
	}
	return failed("transaction", err)
}
