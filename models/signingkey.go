package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// SigningKey is one asymmetric key that signs access tokens (contract §8).
// Every instance reads the same rows, so a key made or retired by one is
// the others' too. The private part is sealed (AES-256-GCM under
// ENCRYPTION_KEY) by auth before it gets here; models never sees it in
// the clear.
type SigningKey struct {
	KID        string    `gorm:"column:kid;primaryKey;size:64"`
	Alg        string    `gorm:"size:16;not null;index"`
	PublicKey  []byte    `gorm:"not null"` // PKIX DER
	PrivateKey []byte    `gorm:"not null"` // PKCS #8 DER, sealed
	CreatedAt  time.Time `gorm:"not null;index"`
	// RetiredAt is set when the key was retired: its tokens stop working
	// at once and it leaves the JWKS.
	RetiredAt *time.Time
}

// Retired reports whether the key was retired.
func (k *SigningKey) Retired() bool { return k.RetiredAt != nil }

// CreateSigningKey stores a new key. Two instances starting at once may
// each create one: their kids differ, and both keep the newest.
func (s *Store) CreateSigningKey(ctx context.Context, k *SigningKey) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.write(ctx, func(db *gorm.DB) error { return db.Create(k).Error })
	return failed("create signing key", err)
}

// SigningKeys lists every key, retired ones too, newest first (the kid
// breaks ties between keys made in the same instant, so every instance
// agrees which is newest). On Galera the read is causal: a key retired
// through one node is retired for the next read through any other.
func (s *Store) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var keys []SigningKey
	err := s.db.WithContext(ctx).Raw(s.causalRead("SELECT * FROM signing_keys ORDER BY created_at DESC, kid DESC")).Scan(&keys).Error
	return keys, failed("signing keys", err)
}

// SigningKeyLive reports whether the key kid exists and is not retired —
// asked before every signature, so that no instance signs with a key
// another one has retired (contract §8: at once, on every instance).
func (s *Store) SigningKeyLive(ctx context.Context, kid string) (bool, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var n int64
	err := s.db.WithContext(ctx).Raw(s.causalRead("SELECT COUNT(*) FROM signing_keys WHERE kid = ? AND retired_at IS NULL"), kid).Scan(&n).Error
	return n > 0, failed("signing key", err)
}

// RetireSigningKey marks the key kid retired at now; ErrNotFound if there
// is no such key. Retiring a retired key keeps its first date.
func (s *Store) RetireSigningKey(ctx context.Context, kid string, now time.Time) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	db := s.db.WithContext(ctx)
	var n int64
	if err := db.Model(&SigningKey{}).Where("kid = ?", kid).Count(&n).Error; err != nil {
		return failed("retire signing key", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	err := s.write(ctx, func(db *gorm.DB) error {
		return db.Model(&SigningKey{}).Where("kid = ? AND retired_at IS NULL", kid).Update("retired_at", now).Error
	})
	return failed("retire signing key", err)
}
