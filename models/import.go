package models

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

// ImportBatch is how many users a user import writes per transaction:
// large enough that a million lines take minutes, small enough that each
// transaction is a small write set on a Galera cluster, never holds
// SQLite's write lock for long (a server may be running), and finishes
// well within DB_TIMEOUT.
const ImportBatch = 500

// ImportUsers adds users (a batch of a user import, contract §12), with
// their search terms, in one transaction, skipping those whose email an
// account already has: it returns those emails. With dryRun it only
// finds them and writes nothing. Emails must be canonical and distinct
// within the batch (the import checks both).
//
// The new users' ids are read back by email rather than taken from the
// insert: a multi-row insert's ids are not consecutive on a Galera
// cluster (auto_increment_increment is the cluster's size).
func (s *Store) ImportUsers(ctx context.Context, users []User, dryRun bool) (taken map[string]bool, err error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	emails := make([]string, len(users))
	for i := range users {
		emails[i] = users[i].Email
	}
	for attempt := 0; ; attempt++ {
		err = s.transaction(ctx, func(tx *gorm.DB) error {
			taken = map[string]bool{}
			var existing []string
			if err := tx.Model(&User{}).Where("email IN ?", emails).Pluck("email", &existing).Error; err != nil {
				return err
			}
			for _, e := range existing {
				taken[e] = true
			}
			if dryRun {
				return nil
			}
			fresh := make([]User, 0, len(users))
			for _, u := range users {
				if !taken[u.Email] {
					u.ID = 0
					fresh = append(fresh, u)
				}
			}
			if len(fresh) == 0 {
				return nil
			}
			if err := tx.Omit("id").CreateInBatches(fresh, 250).Error; err != nil {
				return err
			}
			freshEmails := make([]string, len(fresh))
			for i := range fresh {
				freshEmails[i] = fresh[i].Email
			}
			var made []User
			if err := tx.Select("id", "email", "full_name").Where("email IN ?", freshEmails).Find(&made).Error; err != nil {
				return err
			}
			return insertTerms(tx, made)
		})
		// An account made with one of these emails since the check (by
		// sign-up or another import) rolls the batch back: check again.
		if !errors.Is(err, gorm.ErrDuplicatedKey) || attempt == 2 {
			break
		}
	}
	if err != nil {
		return nil, failed("import users", err)
	}
	return taken, nil
}
