package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The sweeps (DeleteDeadSessions, DeleteEventsBefore, …) delete what has
// served its time in batches (contract §13): one statement removes at most
// SweepBatch rows, each batch has its own DB_TIMEOUT deadline, and between
// two batches the sweep pauses at least as long as the batch took (and at
// least SweepPause). So no statement holds SQLite's one write lock, or a
// big set of InnoDB row locks, for long; a Galera cluster certifies and
// applies small write sets instead of one of half a million rows; and a
// table of any size is swept in the end, where one DELETE of everything
// would run past DB_TIMEOUT and roll back every time.
//
// A batch is two statements: the keys of at most SweepBatch rows that
// match (read on SQLite's read-only connections, so the writer is not
// held while the index is walked), then a DELETE of those keys that
// repeats the condition, so a row that stopped matching in between (a
// session touched a moment ago) stays.
const (
	// DefaultSweepBatch is the most rows one sweep statement deletes.
	DefaultSweepBatch = 1000
	// DefaultSweepPause is the least pause between two batches.
	DefaultSweepPause = 10 * time.Millisecond
)

// SetSweepBatch sets how many rows a sweep statement deletes at most
// (rows ≤ 0: DefaultSweepBatch) and the least pause between two batches
// (pause < 0: DefaultSweepPause). Tests use it to see the batches; call
// it before the first sweep.
func (s *Store) SetSweepBatch(rows int, pause time.Duration) {
	if rows <= 0 {
		rows = DefaultSweepBatch
	}
	if pause < 0 {
		pause = DefaultSweepPause
	}
	s.sweepBatch, s.sweepPause = rows, pause
}

// sweep names the rows one sweep deletes.
type sweep struct {
	op    string // for errors: "sweep sessions"
	table string
	key   string // the primary key column
	where string // an SQL condition on args
	args  []any
}

// sweepRows deletes the rows sw names in batches (see above) and says how
// many it deleted, also when a later batch failed. K is the type of the
// table's key.
func sweepRows[K string | uint64](ctx context.Context, s *Store, sw sweep) (int64, error) {
	batch := s.sweepBatch
	if batch <= 0 {
		batch = DefaultSweepBatch
	}
	for i, a := range sw.args {
		if t, ok := a.(time.Time); ok {
			sw.args[i] = t.UTC() // stored in UTC; SQLite compares times as text
		}
	}
	pick := fmt.Sprintf("SELECT %s FROM %s WHERE %s LIMIT %d", sw.key, sw.table, sw.where, batch)
	del := fmt.Sprintf("DELETE FROM %s WHERE %s IN ? AND (%s)", sw.table, sw.key, sw.where)
	var total int64
	for {
		start := time.Now()
		n, more, err := sweepBatch[K](ctx, s, sw, pick, del, batch)
		total += n
		if err != nil {
			return total, failed(sw.op, err)
		}
		if !more {
			return total, nil
		}
		t := time.NewTimer(max(s.sweepPause, time.Since(start)))
		select {
		case <-ctx.Done():
			t.Stop()
			return total, failed(sw.op, ctx.Err())
		case <-t.C:
		}
	}
}

// sweepBatch deletes one batch, within its own deadline, and says how many
// rows went and whether there may be more.
func sweepBatch[K string | uint64](ctx context.Context, s *Store, sw sweep, pick, del string, batch int) (int64, bool, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	keys := make([]K, 0, batch)
	err := s.query(ctx, pick, sw.args, func(scan func(...any) error) error {
		var k K
		if err := scan(&k); err != nil {
			return err
		}
		keys = append(keys, k)
		return nil
	})
	if err != nil || len(keys) == 0 {
		return 0, false, err
	}
	var n int64
	err = s.write(ctx, func(db *gorm.DB) error {
		res := db.Exec(del, append([]any{keys}, sw.args...)...)
		n = res.RowsAffected
		return res.Error
	})
	return n, len(keys) == batch, err
}
