// Package seal keeps secrets at rest under ENCRYPTION_KEY: sealed
// (AES-256-GCM) when they must be read back, such as signing keys and
// TOTP secrets, or digested (HMAC-SHA256) when they are only compared,
// such as recovery codes. It knows nothing of its users but the labels of
// their purposes, listed here once so that no two collide.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// The purposes ENCRYPTION_KEY serves. Each gets its own key, derived with
// HKDF-SHA256 under its label, so a ciphertext or a digest made for one
// purpose is worth nothing for another. The signing keys' label is the
// one they were first sealed under: changing it would lock every
// installation out of its keys.
const (
	SigningKeys   Purpose = "gatehouse signing keys"
	TOTPSecrets   Purpose = "gatehouse totp secrets"
	RecoveryCodes Purpose = "gatehouse recovery codes"
)

// Purpose is the label of what a key derived from ENCRYPTION_KEY serves.
type Purpose string

// ErrUnsealed is a sealed value that does not open: ENCRYPTION_KEY
// changed, or the value was moved to another row (its context differs).
var ErrUnsealed = errors.New("the sealed value does not open under ENCRYPTION_KEY in this context")

// Sealer is the one way Gatehouse keeps a secret at rest: AES-256-GCM
// under a key derived from ENCRYPTION_KEY for one purpose, with a random
// nonce before the ciphertext, bound to a context (the row it belongs
// to, as additional data) so that a sealed value copied to another row
// does not open.
type Sealer struct{ aead cipher.AEAD }

// deriveKey is ENCRYPTION_KEY's 32-byte key for purpose.
func deriveKey(encryptionKey []byte, purpose Purpose) ([]byte, error) {
	if len(encryptionKey) == 0 {
		return nil, errors.New("ENCRYPTION_KEY is not set")
	}
	return hkdf.Key(sha256.New, encryptionKey, nil, string(purpose), 32)
}

// New returns the sealer of purpose under encryptionKey (ENCRYPTION_KEY).
func New(encryptionKey []byte, purpose Purpose) (*Sealer, error) {
	k, err := deriveKey(encryptionKey, purpose)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plain, bound to context.
func (s *Sealer) Seal(plain []byte, context string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce) // never fails on supported platforms
	return s.aead.Seal(nonce, nonce, plain, []byte(context))
}

// Open decrypts what Seal made with the same context; ErrUnsealed if it
// does not open.
func (s *Sealer) Open(sealed []byte, context string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrUnsealed
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, ErrUnsealed
	}
	return plain, nil
}

// Digester makes keyed digests (HMAC-SHA256 under a key derived from
// ENCRYPTION_KEY) of short secrets that are only ever compared, such as
// recovery codes: a copy of the database alone cannot test guesses
// against them.
type Digester struct{ key []byte }

// NewDigester returns the digester of purpose under encryptionKey
// (ENCRYPTION_KEY).
func NewDigester(encryptionKey []byte, purpose Purpose) (*Digester, error) {
	k, err := deriveKey(encryptionKey, purpose)
	if err != nil {
		return nil, err
	}
	return &Digester{key: k}, nil
}

// Digest is value's keyed digest, in hex.
func (d *Digester) Digest(value string) string {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}
