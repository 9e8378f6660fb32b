package models

import (
	"context"
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

// CountFailures counts the failures under key after since, and returns
// the time of the oldest of them. A failure exactly at since has left the
// window, so a client that waits the Retry-After it was given gets in.
func (s *Store) CountFailures(ctx context.Context, key string, since time.Time) (int64, time.Time, error) {
	query := func() *gorm.DB {
		return s.db.WithContext(ctx).Model(&LoginFailure{}).Where("`key` = ? AND at > ?", key, since)
	}
	var n int64
	if err := query().Count(&n).Error; err != nil || n == 0 {
		return n, time.Time{}, failed("count failures", err)
	}
	var oldest LoginFailure // a typed column, so both drivers parse the time
	if err := query().Order("at").Limit(1).Find(&oldest).Error; err != nil {
		return 0, time.Time{}, failed("count failures", err)
	}
	return n, oldest.At, nil
}

// AddFailure records one failure at the given time under each key, and
// drops that key's rows older than before, so the table stays small.
func (s *Store) AddFailure(ctx context.Context, at, before time.Time, keys ...string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, k := range keys {
			if err := tx.Where("`key` = ? AND at < ?", k, before).Delete(&LoginFailure{}).Error; err != nil {
				return err
			}
			if err := tx.Create(&LoginFailure{Key: k, At: at}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return failed("add failure", err)
}

// ClearFailures forgets the failures under key (after a good login).
func (s *Store) ClearFailures(ctx context.Context, key string) error {
	return failed("clear failures", s.db.WithContext(ctx).Where("`key` = ?", key).Delete(&LoginFailure{}).Error)
}
