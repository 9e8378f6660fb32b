package models

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// User is an account. Email is stored canonical (CanonicalEmail: trimmed,
// ASCII letters lower-cased) and compared exactly. PasswordHash is empty
// for accounts that only log in through a provider; it never leaves the
// server (see UserView).
// MaxEmail is the longest email an account may have, in bytes (RFC
// 5321's limit on a path; the columns that hold an email have this size).
const MaxEmail = 254

type User struct {
	ID           uint64 `gorm:"primaryKey"`
	Email        string `gorm:"size:254;not null;uniqueIndex"`
	FullName     string `gorm:"size:200;not null"`
	PasswordHash string `gorm:"size:255;not null"`
	Scopes       string `gorm:"size:255;not null"` // space-separated
	Disabled     bool   `gorm:"not null;default:false"`
	// EmailVerified says the email is known to be its owner's: the account
	// was made by an administrator or through a provider that verified it.
	// Self-service sign-ups are unverified, so a provider login with the
	// same email does not link to them by itself (see auth.userFor).
	EmailVerified bool `gorm:"not null;default:false"`
	CreatedAt     time.Time
	UpdatedAt     time.Time

	// LinkedProviders lists the providers linked to the account
	// (comma-separated, in no particular order). The identity writes keep
	// it in step with the identities table (relinkProviders), and View
	// shows it.
	LinkedProviders string `gorm:"size:255;not null;default:''"`

	// MFAEnabled says a login needs a second factor (contract §7). The
	// two-factor writes (models/mfa.go) keep it in step with the TOTP
	// row, and the per-request read carries it, so the user object costs
	// no query of its own.
	MFAEnabled bool `gorm:"column:mfa_enabled;not null;default:false"`
}

// ScopeList returns the user's scopes as a list.
func (u *User) ScopeList() []string { return strings.Fields(u.Scopes) }

// UserView is the contract's user object (§2): exactly these fields, never
// a password hash.
type UserView struct {
	ID        uint64    `json:"id"`
	Email     string    `json:"email"`
	FullName  string    `json:"full_name"`
	Scopes    []string  `json:"scopes"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	Providers []string  `json:"providers"`
	// EmailVerified: the address is known to be the owner's (contract §6).
	EmailVerified bool `json:"email_verified"`
	MFA           bool `json:"mfa"`
}

// View returns the user as the contract shows it.
func (u *User) View() UserView {
	providers := []string{}
	if u.PasswordHash != "" {
		providers = append(providers, "password")
	}
	providers = append(providers, linkedList(u.LinkedProviders)...)
	scopes := u.ScopeList()
	if scopes == nil {
		scopes = []string{}
	}
	return UserView{ID: u.ID, Email: u.Email, FullName: u.FullName, Scopes: scopes,
		Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC(), Providers: providers, EmailVerified: u.EmailVerified, MFA: u.MFAEnabled}
}

// CanonicalEmail is the form in which emails are stored and compared:
// trimmed, with only the ASCII letters A–Z lower-cased (contract §9).
// Unicode case mapping would merge addresses that are not the same:
// strings.ToLower turns "ALİCE" (U+0130) into "ali̇ce" (i, U+0307), others
// fold onto ASCII letters (the Kelvin sign U+212A onto k), so one
// person's address could open another's account.
func CanonicalEmail(email string) string {
	email = strings.TrimSpace(email)
	for i := 0; i < len(email); i++ {
		if 'A' <= email[i] && email[i] <= 'Z' {
			b := []byte(email)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return email // already lower case: no copy
}

// CreateUser inserts u, with its search terms. An email already in use
// is ErrEmailTaken.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	u.Email = CanonicalEmail(u.Email)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		u.ID = 0 // a try rolled back after its insert has left the id behind
		if err := tx.Create(u).Error; err != nil {
			return err
		}
		return reindexUser(tx, u.ID)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrEmailTaken
	}
	return failed("create user", err)
}

// UserByEmail finds a user by email, canonicalised first; ErrNotFound if none.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var u User
	res := s.db.WithContext(ctx).Raw(s.caller.userByEmail, CanonicalEmail(email)).Scan(&u)
	if res.Error == nil && res.RowsAffected == 0 {
		return nil, ErrNotFound
	}
	if res.Error != nil {
		return nil, failed("user by email", res.Error)
	}
	return &u, nil
}

// UserByID finds a user; ErrNotFound if none.
func (s *Store) UserByID(ctx context.Context, id uint64) (*User, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var u User
	if err := s.db.WithContext(ctx).Take(&u, id).Error; err != nil {
		return nil, failed("user by id", err)
	}
	return &u, nil
}

// CountUsers counts every account.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var n int64
	err := s.db.WithContext(ctx).Model(&User{}).Count(&n).Error
	return n, failed("count users", err)
}

// UserChanges are changes to a user; nil fields stay as they are.
type UserChanges struct {
	FullName *string
	Disabled *bool
	Scopes   *string // space-separated
}

// ApplyUserChanges is the one way a user's name, disabled flag and scopes
// change (an administrator's change, the CLI's user disable, enable and
// scopes). It applies changes in one transaction; disabling also ends
// every session of the user there, so their cookies and tokens stop
// working at once. A change that would leave no enabled user with
// admin:write is ErrLastAdmin and changes nothing (changeUser); an
// unknown user is ErrNotFound. It returns the user as stored afterwards.
func (s *Store) ApplyUserChanges(ctx context.Context, userID uint64, ch UserChanges) (*User, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var u User
	mayDemote := ch.Scopes != nil || (ch.Disabled != nil && *ch.Disabled)
	err := s.changeUser(ctx, "update user", mayDemote, func(tx *gorm.DB) error {
		updates := map[string]any{}
		if ch.FullName != nil {
			updates["full_name"] = *ch.FullName
		}
		if ch.Disabled != nil {
			updates["disabled"] = *ch.Disabled
		}
		if ch.Scopes != nil {
			updates["scopes"] = *ch.Scopes
		}
		if len(updates) > 0 {
			if err := tx.Model(&User{}).Where("id = ?", userID).Updates(updates).Error; err != nil {
				return err
			}
		}
		if ch.FullName != nil {
			if err := reindexUser(tx, userID); err != nil {
				return err
			}
		}
		if ch.Disabled != nil && *ch.Disabled {
			if err := tx.Where("user_id = ?", userID).Delete(&Session{}).Error; err != nil {
				return err
			}
		}
		return tx.Take(&u, userID).Error
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}
