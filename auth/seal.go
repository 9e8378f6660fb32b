package auth

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
	purposeSigningKeys   = "gatehouse signing keys"
	purposeTOTPSecrets   = "gatehouse totp secrets"
	purposeRecoveryCodes = "gatehouse recovery codes"
)

// errUnsealed is a sealed value that does not open: ENCRYPTION_KEY
// changed, or the value was moved to another row (its context differs).
var errUnsealed = errors.New("the sealed value does not open under ENCRYPTION_KEY in this context")

// sealer is the one way Gatehouse keeps a secret at rest: AES-256-GCM
// under a key derived from ENCRYPTION_KEY for one purpose, with a random
// nonce before the ciphertext, bound to a context (the row it belongs
// to, as additional data) so that a sealed value copied to another row
// does not open.
type sealer struct{ aead cipher.AEAD }

// deriveKey is ENCRYPTION_KEY's 32-byte key for purpose.
func deriveKey(encryptionKey []byte, purpose string) ([]byte, error) {
	if len(encryptionKey) == 0 {
		return nil, errors.New("ENCRYPTION_KEY is not set")
	}
	return hkdf.Key(sha256.New, encryptionKey, nil, purpose, 32)
}

func newSealer(encryptionKey []byte, purpose string) (*sealer, error) {
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
	return &sealer{aead: aead}, nil
}

// seal encrypts plain, bound to context.
func (s *sealer) seal(plain []byte, context string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce) // never fails on supported platforms
	return s.aead.Seal(nonce, nonce, plain, []byte(context))
}

// open decrypts what seal made with the same context; errUnsealed if it
// does not open.
func (s *sealer) open(sealed []byte, context string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errUnsealed
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, errUnsealed
	}
	return plain, nil
}

// digester makes keyed digests (HMAC-SHA256 under a key derived from
// ENCRYPTION_KEY) of short secrets that are only ever compared, such as
// recovery codes: a copy of the database alone cannot test guesses
// against them.
type digester struct{ key []byte }

func newDigester(encryptionKey []byte, purpose string) (*digester, error) {
	k, err := deriveKey(encryptionKey, purpose)
	if err != nil {
		return nil, err
	}
	return &digester{key: k}, nil
}

// digest is value's keyed digest, in hex.
func (d *digester) digest(value string) string {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}
