package models

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
	"gorm.io/gorm"
)

// Version 2 completes the adoption of a database made by an earlier
// release (version 1 created only the tables and indexes it lacked). Until
// migrations began, GORM's AutoMigrate grew the schema: it added columns
// to tables that already had rows, widened one, added an index, and
// Store.Migrate back-filled what the new columns and tables derive from.
// This step does the same, checking what exists first, so it is right for
// a database of any earlier release and a no-op on a fresh one. The
// history it covers (git log -p models/):
//
//	cf9918a users.email_verified
//	e015410 users.linked_providers, filled from identities
//	5cd15f8 users.mfa_enabled, sessions.auth_time
//	6a31d1a pending_logins.next from 1024 to 2048 characters (MySQL)
//	e662c76 the index idx_events_user_ip (MySQL; SQLite's is in version 1)
//	1b70728 user_search_terms, filled for every user (fillSearchTerms)
//	1624559 hash_params, filled from the stored hashes (fillHashParams)
const adoptVersion = 2

// goStepName names a Go migration for gatehouse migrate status.
func goStepName(version int64) string {
	if version == adoptVersion {
		return "00002_adopt_earlier_releases (Go)"
	}
	return fmt.Sprintf("%05d (Go)", version)
}

// goMigrations lists the Go steps. On SQLite a step runs in one
// transaction on the migration's connection (the store has only one);
// on MySQL on the migration pool, so that the search index is filled in
// transactions of a thousand users (small write sets on a cluster).
func (s *Store) goMigrations() []*goose.Migration {
	adopt := &goose.GoFunc{RunDB: func(ctx context.Context, db *sql.DB) error { return s.adopt(ctx, db) }}
	if s.dialect == "sqlite" {
		adopt = &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return s.adopt(ctx, tx) }}
	}
	return []*goose.Migration{goose.NewGoMigration(adoptVersion, adopt, nil)}
}

// addedColumn is a column earlier releases made their table without.
type addedColumn struct {
	table, column string
	sqlite, mysql string // the column's definition on each database
}

var addedColumns = []addedColumn{
	{"users", "email_verified", "numeric NOT NULL DEFAULT false", "tinyint(1) NOT NULL DEFAULT 0"},
	{"users", "linked_providers", "text NOT NULL DEFAULT ''", "varchar(255) NOT NULL DEFAULT ''"},
	{"users", "mfa_enabled", "numeric NOT NULL DEFAULT false", "tinyint(1) NOT NULL DEFAULT 0"},
	{"sessions", "auth_time", "datetime", "datetime(3) DEFAULT NULL"},
}

// adopt is version 2 on pool, a transaction (SQLite) or the migration
// pool (MySQL).
func (s *Store) adopt(ctx context.Context, pool gorm.ConnPool) error {
	db := s.db.Session(&gorm.Session{NewDB: true, Context: ctx})
	db.Statement.ConnPool = pool
	for _, c := range addedColumns {
		has, err := s.hasColumn(db, c.table, c.column)
		if err != nil {
			return err
		}
		if has {
			continue
		}
		def := c.sqlite
		if s.dialect == "mysql" {
			def = c.mysql
		}
		if err := db.Exec(fmt.Sprintf("ALTER TABLE `%s` ADD COLUMN `%s` %s", c.table, c.column, def)).Error; err != nil {
			return fmt.Errorf("add %s.%s: %w", c.table, c.column, err)
		}
		if c.column == "linked_providers" {
			// Derived from the identities, as the release that added it did once.
			err := db.Exec(`UPDATE users SET linked_providers = COALESCE(
				(SELECT GROUP_CONCAT(provider) FROM identities WHERE identities.user_id = users.id), '')`).Error
			if err != nil {
				return fmt.Errorf("fill users.linked_providers: %w", err)
			}
		}
	}
	if s.dialect == "mysql" {
		if err := adoptMySQL(db); err != nil {
			return err
		}
	}
	var params int64
	if err := db.Raw("SELECT COUNT(*) FROM hash_params").Scan(&params).Error; err != nil {
		return err
	}
	if params == 0 { // the table is new: record the parameters of the hashes already stored
		if err := fillHashParams(db); err != nil {
			return fmt.Errorf("fill hash_params: %w", err)
		}
	}
	if err := fillSearchTerms(db); err != nil {
		return fmt.Errorf("fill user_search_terms: %w", err)
	}
	return nil
}

// adoptMySQL is what AutoMigrate changed in place on MySQL/MariaDB only:
// a widened column and an index added to a table that had rows (SQLite
// columns have no length, and version 1 creates its index).
func adoptMySQL(db *gorm.DB) error {
	var length int64
	err := db.Raw(`SELECT COALESCE(MAX(character_maximum_length), 0) FROM information_schema.columns
		WHERE table_schema = DATABASE() AND table_name = 'pending_logins' AND column_name = 'next'`).Scan(&length).Error
	if err != nil {
		return err
	}
	if length < 2048 {
		if err := db.Exec("ALTER TABLE `pending_logins` MODIFY `next` varchar(2048) NOT NULL").Error; err != nil {
			return fmt.Errorf("widen pending_logins.next: %w", err)
		}
	}
	var indexes int64
	err = db.Raw(`SELECT COUNT(*) FROM information_schema.statistics
		WHERE table_schema = DATABASE() AND table_name = 'events' AND index_name = 'idx_events_user_ip'`).Scan(&indexes).Error
	if err != nil {
		return err
	}
	if indexes == 0 {
		if err := db.Exec("CREATE INDEX `idx_events_user_ip` ON `events` (`user_id`, `ip`, `at`)").Error; err != nil {
			return fmt.Errorf("add idx_events_user_ip: %w", err)
		}
	}
	return nil
}

// hasColumn reports whether table has column.
func (s *Store) hasColumn(db *gorm.DB, table, column string) (bool, error) {
	query := "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?"
	if s.dialect == "mysql" {
		query = `SELECT COUNT(*) FROM information_schema.columns
			WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?`
	}
	var n int64
	if err := db.Raw(query, table, column).Scan(&n).Error; err != nil {
		return false, fmt.Errorf("look for %s.%s: %w", table, column, err)
	}
	return n > 0, nil
}
