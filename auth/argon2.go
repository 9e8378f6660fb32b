package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"

	"github.com/alexedwards/argon2id"

	"gatehouse/internal/argon2"
)

// createHash is argon2id.CreateHash computed in work (see internal/argon2):
// the same encoding ($argon2id$v=19$m=…,t=…,p=…$salt$key), a fresh random
// salt. A nil work allocates the memory cost, as argon2id does.
func createHash(work *argon2.Work, password string, p *argon2id.Params) (string, error) {
	salt := make([]byte, p.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKeyWith(work, []byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// checkHash is argon2id.CheckHash computed in work: whether password
// matches hash (in constant time) and the parameters hash was made with.
func checkHash(work *argon2.Work, password, hash string) (match bool, params *argon2id.Params, err error) {
	params, salt, key, err := argon2id.DecodeHash(hash)
	if err != nil {
		return false, nil, err
	}
	other := argon2.IDKeyWith(work, []byte(password), salt, params.Iterations, params.Memory, params.Parallelism, params.KeyLength)
	return subtle.ConstantTimeCompare(key, other) == 1, params, nil
}
