package models

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// PasskeyProvider is how a user's passkeys show in the user object's
// providers (contract §11).
const PasskeyProvider = "passkey"

// MaxPasskeyName is the longest name a passkey may have, in characters.
const MaxPasskeyName = 64

// Passkey is a WebAuthn credential registered by a user (contract §11).
// CredentialID is the authenticator's id for it (up to 1,023 bytes, so
// it is found by CredentialHash, its SHA-256, which an index can hold on
// both databases); PublicID is the handle clients see. UserHandle is the
// opaque user id the authenticator keeps with the credential, the same
// for all of a user's passkeys. SignCount is the signature counter of
// the last login (clone detection); the backup flags are the
// authenticator's BE and BS.
type Passkey struct {
	ID                uint64       `gorm:"primaryKey"`
	PublicID          string       `gorm:"size:32;not null;uniqueIndex"`
	UserID            uint64       `gorm:"not null;index"`
	CredentialHash    string       `gorm:"size:64;not null;uniqueIndex"`
	CredentialID      []byte       `gorm:"not null"`
	UserHandle        []byte       `gorm:"size:64;not null"`
	PublicKey         []byte       `gorm:"not null"`
	SignCount         uint32       `gorm:"not null;default:0"`
	UserVerified      bool         `gorm:"not null;default:false"`
	BackupEligible    bool         `gorm:"not null;default:false"`
	BackupState       bool         `gorm:"not null;default:false"`
	Transports        string       `gorm:"size:255;not null;default:''"` // comma-separated
	AAGUID            string       `gorm:"column:aaguid;size:36;not null;default:''"`
	AttestationFormat string       `gorm:"size:32;not null;default:''"`
	Name              string       `gorm:"size:64;not null"`
	CreatedAt         time.Time    `gorm:"not null"`
	LastUsedAt        sql.NullTime // NULL until its first login
}

// PasskeyView is the contract's passkey object.
type PasskeyView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// View returns the passkey as the contract shows it.
func (p *Passkey) View() PasskeyView {
	v := PasskeyView{ID: p.PublicID, Name: p.Name, CreatedAt: p.CreatedAt.UTC()}
	if p.LastUsedAt.Valid {
		t := p.LastUsedAt.Time.UTC()
		v.LastUsedAt = &t
	}
	return v
}

// ErrPasskeyExists is a credential that is registered already, to this
// user or another.
var ErrPasskeyExists = &Error{Kind: Conflict, Code: "passkey_exists", Detail: "This passkey is registered already."}

// PasskeysOf lists a user's passkeys, oldest first.
func (s *Store) PasskeysOf(ctx context.Context, userID uint64) ([]Passkey, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out []Passkey
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("id").Find(&out).Error
	return out, failed("list passkeys", err)
}

// PasskeyByCredential finds the passkey whose credential id hashes to
// hash; ErrNotFound if none.
func (s *Store) PasskeyByCredential(ctx context.Context, hash string) (*Passkey, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var p Passkey
	if err := s.db.WithContext(ctx).Where("credential_hash = ?", hash).Take(&p).Error; err != nil {
		return nil, failed("passkey by credential", err)
	}
	return &p, nil
}

// CreatePasskey stores a new passkey and adds "passkey" to its user's
// providers, in one transaction. A credential registered already is
// ErrPasskeyExists.
func (s *Store) CreatePasskey(ctx context.Context, p *Passkey) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		p.ID = 0 // a try rolled back after its insert has left the id behind
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		return relinkProviders(tx, p.UserID)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrPasskeyExists
	}
	return failed("create passkey", err)
}

// DeletePasskey removes the user's passkey publicID once check agrees,
// given the user (its row locked for the transaction, so two removals
// cannot both pass a "not the last one" check) and all their passkeys,
// and returns it. Not the user's, or none: ErrNotFound.
func (s *Store) DeletePasskey(ctx context.Context, userID uint64, publicID string, check func(*User, []Passkey) error) (*Passkey, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var refused error
	var gone Passkey
	err := s.caughtUpTransaction(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&u, userID).Error; err != nil {
			return err
		}
		var keys []Passkey
		if err := tx.Where("user_id = ?", userID).Order("id").Find(&keys).Error; err != nil {
			return err
		}
		found := false
		for _, k := range keys {
			if k.PublicID == publicID {
				gone, found = k, true
			}
		}
		if !found {
			return gorm.ErrRecordNotFound
		}
		if refused = check(&u, keys); refused != nil {
			return refused
		}
		res := tx.Where("id = ? AND user_id = ?", gone.ID, userID).Delete(&Passkey{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return relinkProviders(tx, userID)
	})
	if refused != nil {
		return nil, refused
	}
	if err != nil {
		return nil, failed("delete passkey", err)
	}
	return &gone, nil
}

// UsePasskey records a login with passkey id: its new signature counter
// and backup state, and when. The counter only moves forward: when
// another login raised it meanwhile (or it was not below count to start
// with, both non-zero) nothing is written and ok is false — the same
// signature counter twice is a cloned authenticator's mark.
func (s *Store) UsePasskey(ctx context.Context, id uint64, count uint32, backupState bool, at time.Time) (ok bool, err error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	res := s.writeResult(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Model(&Passkey{}).
			Where("id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))", id, count, count).
			Updates(map[string]any{"sign_count": count, "backup_state": backupState, "last_used_at": at})
	})
	if res.Error != nil {
		return false, failed("use passkey", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// The kinds of passkey ceremony a PasskeyFlow is.
const (
	PasskeyRegister = "register"
	PasskeyLogin    = "login"
	PasskeyReauth   = "reauth"
)

// PasskeyFlow is a passkey ceremony begun and not yet finished: the
// state go-webauthn needs to verify the answer (its challenge among it).
// It lives in the database, so any instance may finish what another
// began, and is used once: a finish takes it out of the table whether
// the answer verifies or not. Hash is the SHA-256 of the flow's id (the
// id itself is never stored). SessionID binds a registration or a
// re-authentication to the session that began it; a newer begin on that
// session replaces the older one. UserID is the user a registration or
// re-authentication is for (0 for a login, where the passkey says).
type PasskeyFlow struct {
	Hash      string    `gorm:"primaryKey;size:64"`
	Kind      string    `gorm:"size:16;not null"`
	SessionID string    `gorm:"size:32;not null;default:'';index"`
	UserID    uint64    `gorm:"not null;default:0"`
	State     []byte    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null;index"`
}

// CreatePasskeyFlow stores a begun ceremony. One bound to a session
// replaces the session's earlier ceremony of the same kind, in the same
// transaction: a newer begin voids an older one.
func (s *Store) CreatePasskeyFlow(ctx context.Context, f *PasskeyFlow) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if f.SessionID != "" {
			if err := tx.Where("kind = ? AND session_id = ?", f.Kind, f.SessionID).Delete(&PasskeyFlow{}).Error; err != nil {
				return err
			}
		}
		return tx.Create(f).Error
	})
	return failed("create passkey flow", err)
}

// ConsumePasskeyFlow takes the ceremony with hash out of the table and
// returns it; ErrNotFound if there is none. Of two requests racing with
// the same flow only the one whose DELETE removed the row gets it.
func (s *Store) ConsumePasskeyFlow(ctx context.Context, hash string) (*PasskeyFlow, error) {
	return s.consumePasskeyFlow(ctx, "hash = ?", hash)
}

// ConsumeSessionPasskeyFlow takes the ceremony of kind bound to session
// sessionID out of the table, as ConsumePasskeyFlow does.
func (s *Store) ConsumeSessionPasskeyFlow(ctx context.Context, kind, sessionID string) (*PasskeyFlow, error) {
	return s.consumePasskeyFlow(ctx, "kind = ? AND session_id = ?", kind, sessionID)
}

func (s *Store) consumePasskeyFlow(ctx context.Context, where string, args ...any) (*PasskeyFlow, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var f PasskeyFlow
	if err := s.db.WithContext(ctx).Where(where, args...).Take(&f).Error; err != nil {
		return nil, failed("passkey flow", err)
	}
	n, err := s.deleteWhere(ctx, &PasskeyFlow{}, "hash = ?", f.Hash)
	if err != nil {
		return nil, failed("consume passkey flow", err)
	}
	if n != 1 {
		return nil, ErrNotFound
	}
	return &f, nil
}

// DeleteExpiredPasskeyFlows removes ceremonies begun and never finished,
// and says how many.
func (s *Store) DeleteExpiredPasskeyFlows(ctx context.Context, now time.Time) (int64, error) {
	return sweepRows[string](ctx, s, sweep{op: "sweep passkey flows", table: "passkey_flows", key: "hash",
		where: "expires_at <= ?", args: []any{now}})
}
