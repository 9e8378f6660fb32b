package models

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Identity links an account at a provider to a user. Subject is the
// provider's immutable id for the account (OIDC "sub", GitHub's numeric
// id), never a login name or an email, which can change hands. A user has
// at most one identity per provider, and an identity belongs to one user.
type Identity struct {
	ID        uint64    `gorm:"primaryKey"`
	Provider  string    `gorm:"size:32;not null;uniqueIndex:idx_identities_provider_subject,priority:1;uniqueIndex:idx_identities_user_provider,priority:2"`
	Subject   string    `gorm:"size:255;not null;uniqueIndex:idx_identities_provider_subject,priority:2"`
	UserID    uint64    `gorm:"not null;uniqueIndex:idx_identities_user_provider,priority:1"`
	Email     string    `gorm:"size:254;not null"` // what the provider said at the last login, for display
	CreatedAt time.Time `gorm:"not null"`
}

// ErrIdentityTaken is a provider account already linked to another user,
// or a second account at a provider the user is already linked to.
var ErrIdentityTaken = &Error{Kind: Conflict, Code: "identity_taken",
	Detail: "This account at the provider is already connected to another user."}

// relinkProviders recomputes users.linked_providers from the user's
// identities and passkeys ("passkey" while one exists, contract §11).
// Every change to identities or passkeys runs it in the same
// transaction, so the column is always what a join would say; keeping it
// on the row spares every authenticated request a subquery.
func relinkProviders(tx *gorm.DB, userID uint64) error {
	var providers []string
	if err := tx.Model(&Identity{}).Where("user_id = ?", userID).Order("provider").Pluck("provider", &providers).Error; err != nil {
		return err
	}
	var passkeys int64
	if err := tx.Model(&Passkey{}).Where("user_id = ?", userID).Limit(1).Count(&passkeys).Error; err != nil {
		return err
	}
	if passkeys > 0 {
		providers = append(providers, PasskeyProvider)
	}
	return tx.Exec("UPDATE users SET linked_providers = ? WHERE id = ?", strings.Join(providers, ","), userID).Error
}

// linkedList splits LinkedProviders, sorted.
func linkedList(linked string) []string {
	var out []string
	for _, p := range strings.Split(linked, ",") {
		if p != "" {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// IdentityBySubject finds the identity of an account at a provider;
// ErrNotFound if none.
func (s *Store) IdentityBySubject(ctx context.Context, provider, subject string) (*Identity, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var id Identity
	err := s.db.WithContext(ctx).Where("provider = ? AND subject = ?", provider, subject).Take(&id).Error
	if err != nil {
		return nil, failed("identity by subject", err)
	}
	return &id, nil
}

// IdentitiesOf lists a user's identities, by provider.
func (s *Store) IdentitiesOf(ctx context.Context, userID uint64) ([]Identity, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out []Identity
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("provider").Find(&out).Error
	return out, failed("list identities", err)
}

// CreateIdentity links id to its user. A provider account linked already,
// or a second one at the same provider, is ErrIdentityTaken.
func (s *Store) CreateIdentity(ctx context.Context, id *Identity) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		id.ID = 0 // a try rolled back after its insert has left the id behind
		if err := tx.Create(id).Error; err != nil {
			return err
		}
		return relinkProviders(tx, id.UserID)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrIdentityTaken
	}
	return failed("create identity", err)
}

// CreateUserWithIdentity creates a user who logs in through a provider
// (no password) and links id to it, in one transaction: never a user
// without a way to log in.
func (s *Store) CreateUserWithIdentity(ctx context.Context, u *User, id *Identity) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	u.Email = CanonicalEmail(u.Email)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		u.ID, id.ID = 0, 0 // a try rolled back after its inserts has left the ids behind
		if err := tx.Create(u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrEmailTaken
			}
			return err
		}
		id.UserID = u.ID
		if err := tx.Create(id).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrIdentityTaken
			}
			return err
		}
		u.LinkedProviders = id.Provider
		if err := reindexUser(tx, u.ID); err != nil {
			return err
		}
		return relinkProviders(tx, u.ID)
	})
	if errors.Is(err, ErrEmailTaken) || errors.Is(err, ErrIdentityTaken) {
		return err
	}
	return failed("create user with identity", err)
}

// SetIdentityEmail records the email a provider reported at a login.
func (s *Store) SetIdentityEmail(ctx context.Context, identityID uint64, email string) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.write(ctx, func(db *gorm.DB) error {
		return db.Model(&Identity{}).Where("id = ?", identityID).Update("email", email).Error
	})
	return failed("set identity email", err)
}

// DeleteIdentity removes a user's identity at provider once check agrees,
// given the user and all their identities. The user's row is locked for
// the transaction (SQLite serialises transactions anyway), so two
// concurrent removals cannot both pass a "not the last one" check.
func (s *Store) DeleteIdentity(ctx context.Context, userID uint64, provider string, check func(*User, []Identity) error) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var refused error
	err := s.caughtUpTransaction(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&u, userID).Error; err != nil {
			return err
		}
		var ids []Identity
		if err := tx.Where("user_id = ?", userID).Order("provider").Find(&ids).Error; err != nil {
			return err
		}
		if refused = check(&u, ids); refused != nil {
			return refused
		}
		res := tx.Where("user_id = ? AND provider = ?", userID, provider).Delete(&Identity{})
		if res.Error == nil && res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		if res.Error != nil {
			return res.Error
		}
		return relinkProviders(tx, userID)
	})
	if refused != nil {
		return refused
	}
	return failed("delete identity", err)
}
