package models

import (
	"context"
	"database/sql"
	"time"

	"gorm.io/gorm"
)

// LoginFailure is one failed login, counted under a key such as an
// (account, IP) pair or an IP alone. Rows live in the database so every
// instance behind a load balancer sees the same counts.
type LoginFailure struct {
	ID  uint64    `gorm:"primaryKey"`
	Key string    `gorm:"size:320;not null;index:idx_login_failures_key_at,priority:1"`
	At  time.Time `gorm:"not null;index:idx_login_failures_key_at,priority:2;index"`
}

// countFailures is CountFailures' query, on a statement prepared once:
// every login runs it twice.
const countFailures = "SELECT COUNT(*), MIN(at) FROM login_failures WHERE `key` = ? AND at > ?"

// CountFailures counts the failures under key after since, and returns
// the time of the oldest of them. A failure exactly at since has left the
// window, so a client that waits the Retry-After it was given gets in.
func (s *Store) CountFailures(ctx context.Context, key string, since time.Time) (int64, time.Time, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var (
		n      uint64
		oldest sql.NullTime
	)
	err := s.query(ctx, countFailures, []any{key, since.UTC()}, func(scan func(...any) error) error {
		return scan(&n, &oldest)
	})
	if err != nil {
		return 0, time.Time{}, failed("count failures", err)
	}
	return int64(n), oldest.Time, nil
}

// AddAttempt records one failure at the given time under each key, in one
// INSERT, and returns the ids of the rows, so an attempt counted before its
// outcome is known can be forgotten. It deletes nothing: a delete of a key's
// old rows in the same transaction takes gap locks that deadlock with
// concurrent inserts on InnoDB. Old rows go in DeleteFailuresBefore.
func (s *Store) AddAttempt(ctx context.Context, at time.Time, keys ...string) ([]uint64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows := make([]LoginFailure, len(keys))
	for i, k := range keys {
		rows[i] = LoginFailure{Key: k, At: at}
	}
	if err := s.write(ctx, func(db *gorm.DB) error { return db.Create(&rows).Error }); err != nil {
		return nil, failed("add failure", err)
	}
	ids := make([]uint64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids, nil
}

// DeleteFailuresBefore drops failures that have left every window; the
// sweep runs it.
func (s *Store) DeleteFailuresBefore(ctx context.Context, before time.Time) (int64, error) {
	return sweepRows[uint64](ctx, s, sweep{op: "sweep failures", table: "login_failures", key: "id",
		where: "at < ?", args: []any{before}})
}

// ForgetFailures deletes the rows with these ids.
func (s *Store) ForgetFailures(ctx context.Context, ids []uint64) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if len(ids) == 0 {
		return nil
	}
	err := s.write(ctx, func(db *gorm.DB) error { return db.Delete(&LoginFailure{}, ids).Error })
	return failed("forget failures", err)
}

// ClearFailures forgets the failures under key and the rows with these
// ids, in one statement (after a good login: its own attempt, and the
// account's failures from this IP).
func (s *Store) ClearFailures(ctx context.Context, key string, ids ...uint64) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.write(ctx, func(db *gorm.DB) error {
		db = db.Where("`key` = ?", key)
		if len(ids) > 0 {
			db = db.Or("id IN ?", ids)
		}
		return db.Delete(&LoginFailure{}).Error
	})
	return failed("clear failures", err)
}
