package models

import (
	"context"
	"database/sql"
)

// MailCounts counts the outbox's mails by state (pending, sent, failed,
// dropped), for the gatehouse_mails gauge, read when it is scraped. The
// sweep keeps the table to recent mail, so the count stays cheap.
func (s *Store) MailCounts(ctx context.Context) (map[string]int64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var rows []struct {
		State string
		N     int64
	}
	err := s.db.WithContext(ctx).Model(&Mail{}).Select("state, COUNT(*) AS n").Group("state").Scan(&rows).Error
	if err != nil {
		return nil, failed("count mails", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// SQLDB is the pool under the store, for its statistics (the metrics'
// DB stats collector): never for queries.
func (s *Store) SQLDB() (*sql.DB, error) { return s.db.DB() }
