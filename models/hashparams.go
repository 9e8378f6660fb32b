package models

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// HashParams is one set of password-hashing parameters that stored
// password hashes may carry (ARGON2_* at the time they were made, or an
// imported hash's). Every instance reads the set, so that a failed login
// costs as long as a check against the slowest of them, whatever the
// account's own hash (contract §9, timing after a settings change). A
// row is added when a hash is first made with new parameters; rows are
// never removed, so the set errs on the slow side.
type HashParams struct {
	Params    string    `gorm:"primaryKey;size:100"` // the hash's prefix before its salt, see HashParamsOf
	CreatedAt time.Time `gorm:"not null"`
}

// HashParamsOf is the parameter part of a stored hash: an argon2id PHC
// string without its salt and digest ("$argon2id$v=19$m=19456,t=2,p=1"),
// or a bcrypt hash's version and cost ("$2b$12"). Anything else is "".
func HashParamsOf(hash string) string {
	parts := strings.Split(hash, "$")
	switch {
	case strings.HasPrefix(hash, "$argon2") && len(parts) == 6:
		return strings.Join(parts[:4], "$")
	case strings.HasPrefix(hash, "$2") && len(parts) == 4:
		return strings.Join(parts[:3], "$")
	}
	return ""
}

// HashParamsInUse lists every parameter set recorded.
func (s *Store) HashParamsInUse(ctx context.Context) ([]string, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out []string
	err := s.db.WithContext(ctx).Model(&HashParams{}).Order("params").Pluck("params", &out).Error
	return out, failed("hash parameters", err)
}

// AddHashParams records params (one HashParamsOf), if it is not yet.
func (s *Store) AddHashParams(ctx context.Context, params string, now time.Time) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return failed("add hash parameters", s.write(ctx, func(db *gorm.DB) error {
		return db.Clauses(clause.OnConflict{DoNothing: true}).Create(&HashParams{Params: params, CreatedAt: now.UTC()}).Error
	}))
}

// fillHashParams records the parameters of every stored hash: once, when
// the table is new, on a database made by an earlier release. It reads
// the users table once, a row at a time.
func fillHashParams(db *gorm.DB) error {
	db = db.Session(&gorm.Session{NewDB: true}) // not the migration's chained statement
	rows, err := db.Session(&gorm.Session{}).Model(&User{}).Select("password_hash").Where("password_hash <> ''").Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var hash string
		if err := rows.Scan(&hash); err != nil {
			return err
		}
		if p := HashParamsOf(hash); p != "" {
			seen[p] = true
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	now := time.Now().UTC()
	for p := range seen {
		if err := db.Session(&gorm.Session{}).Clauses(clause.OnConflict{DoNothing: true}).Create(&HashParams{Params: p, CreatedAt: now}).Error; err != nil {
			return err
		}
	}
	return nil
}
