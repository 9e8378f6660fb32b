package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The last administrator (contract §9, issue 9): no change, concurrent or
// not, may leave the system without an enabled user holding admin:write.
// The rule lives here, in the transaction that makes the change, because
// only there can it hold under concurrency: two administrators who demote
// each other at the same moment each pass any check made beforehand.

// scopeAdminWrite is auth.ScopeAdminWrite, which models cannot import: the
// scope whose last enabled holder must keep it.
const scopeAdminWrite = "admin:write"

// ErrLastAdmin refuses a change that would leave no enabled user with
// admin:write. It carries no fields: it is about every administrator, not
// one input, and the same change can come from the API, a form or the CLI.
var ErrLastAdmin = &Error{Kind: Invalid, Code: "last_admin",
	Detail: "This change would leave no enabled user with admin:write; give that scope to another user first."}

// adminWriters returns the ids of the enabled users who hold admin:write,
// in id order.
func adminWriters(db *gorm.DB) ([]uint64, error) {
	var rows []User
	// LIKE narrows the rows; the exact match on whole scope names is below,
	// so a scope that merely contains "admin:write" could never count.
	err := db.Select("id", "scopes").
		Where("disabled = ? AND scopes LIKE ?", false, "%"+scopeAdminWrite+"%").Order("id").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, u := range rows {
		for _, sc := range u.ScopeList() {
			if sc == scopeAdminWrite {
				ids = append(ids, u.ID)
				break
			}
		}
	}
	return ids, nil
}

// lockAdminWriters is adminWriters as a locking read (SELECT … FOR
// UPDATE) inside tx. On InnoDB nothing indexes scopes, so the read locks
// every row of users (and the gaps between) until the transaction ends: a
// second change waits here for the first to commit and then reads its
// result, instead of each judging from a REPEATABLE READ snapshot in which
// the other's row is unchanged. Every guarded change takes these locks
// first, in primary-key order, so two of them queue rather than deadlock.
// SQLite has no row locks (its dialector drops the clause); there
// _txlock=immediate and the one writer connection already run write
// transactions one at a time.
func lockAdminWriters(tx *gorm.DB) ([]uint64, error) {
	return adminWriters(tx.Clauses(clause.Locking{Strength: "UPDATE"}))
}

// AdminWriters returns the ids of the enabled users who hold admin:write,
// in id order. It is a plain read, good for choosing words (is this the
// only administrator?); the rule itself is enforced by the transactions
// that change users (changeUser).
func (s *Store) AdminWriters(ctx context.Context) ([]uint64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	ids, err := adminWriters(s.db.WithContext(ctx))
	return ids, failed("list administrators", err)
}

// changeUser runs change in one transaction (retried on a deadlock or a
// certification conflict: s.transaction) and translates its error (op
// names it for the log). When guard is set — the change can disable a user
// or take scopes away — the transaction first locks the administrators
// (lockAdminWriters), and after the change, if there were enabled holders of
// admin:write before and none are left, rolls back with ErrLastAdmin. A
// system that had none to begin with is not made worse by the change, so
// it is not refused. Enabling or renaming a user is not guarded.
func (s *Store) changeUser(ctx context.Context, op string, guard bool, change func(tx *gorm.DB) error) error {
	run := s.transaction
	if guard {
		run = s.caughtUpTransaction // it judges by every administrator, wherever just made
	}
	err := run(ctx, func(tx *gorm.DB) error {
		if !guard {
			return change(tx)
		}
		before, err := lockAdminWriters(tx)
		if err != nil {
			return err
		}
		if err := s.claimAdminWriters(tx, before); err != nil {
			return err
		}
		if err := change(tx); err != nil {
			return err
		}
		if len(before) == 0 {
			return nil
		}
		after, err := lockAdminWriters(tx)
		if err != nil {
			return err
		}
		if len(after) == 0 {
			return ErrLastAdmin
		}
		return nil
	})
	if errors.Is(err, ErrLastAdmin) {
		return ErrLastAdmin
	}
	return failed(op, err)
}

// claimAdminWriters makes a guarded change write every administrator row
// it locked, on a Galera cluster. Row locks are a node's own there: two
// administrators demoting each other through two nodes each lock both rows
// on their own node, change one row each, and both commit (write skew),
// leaving no administrator. Certification compares only the rows written,
// so every guarded change also writes the rows it judged by (updated_at,
// moved on by at least a millisecond so the row really changes): two of
// them at once then conflict, one fails certification, and its retry
// (s.transaction) sees the other's change. A single server needs none of
// this: the locks already queue the two changes.
func (s *Store) claimAdminWriters(tx *gorm.DB, ids []uint64) error {
	if !s.galera || len(ids) == 0 {
		return nil
	}
	return tx.Model(&User{}).Where("id IN ?", ids).
		UpdateColumn("updated_at", gorm.Expr("GREATEST(?, updated_at + INTERVAL 1000 MICROSECOND)", time.Now().UTC())).Error
}
