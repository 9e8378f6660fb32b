package auth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/bcrypt"

	"gatehouse/internal/argon2"
)

// Imported users (contract §12) may bring bcrypt hashes ($2a$, $2b$,
// $2y$: Devise, Django's BCryptPasswordHasher without its prefix,
// Keycloak's bcrypt providers). Such a hash is checked at login by
// verifyBcrypt and always counts as stale, so the first good login
// replaces it with argon2id through the same rehash as an argon2id hash
// made with other parameters (Login → rehash). Until then that account's
// login costs bcrypt's time, not argon2id's (docs/import.md).

// isBcrypt reports whether hash is a bcrypt hash by its prefix.
func isBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")
}

// verifyBcrypt reports whether password matches the bcrypt hash; a hash
// that does not parse is an error, as a broken argon2id hash is.
func verifyBcrypt(password, hash string) (bool, error) {
	switch err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)); {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("bcrypt: %w", err)
	}
}

// checkAny checks password against a stored hash: argon2id (in the
// slot's work area, with the hash's parameters) or an imported bcrypt one
// (params nil). A hash of neither kind is an error.
func checkAny(work *argon2.Work, password, hash string) (match bool, params *argon2id.Params, err error) {
	if isBcrypt(hash) {
		match, err = verifyBcrypt(password, hash)
		return match, nil, err
	}
	match, params, err = checkHash(work, password, hash)
	if err != nil {
		return false, nil, fmt.Errorf("argon2id: %w", err)
	}
	return match, params, nil
}

// bcryptDummy is a bcrypt hash of password at the cost params names (a
// models.HashParamsOf of a bcrypt hash, "$2b$12"), for the timing of
// failed logins when imported bcrypt hashes are the slowest in use.
func bcryptDummy(password, params string) (string, error) {
	cost, err := strconv.Atoi(params[strings.LastIndexByte(params, '$')+1:])
	if err != nil {
		return "", fmt.Errorf("hash parameters %q: %w", params, err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	return string(hash), err
}

// checkStoredHash says what is wrong with a password hash an import
// brings, or "" when Gatehouse can verify it: empty (no password), an
// argon2id PHC string, or a bcrypt hash.
func checkStoredHash(hash string) string {
	switch {
	case hash == "":
		return ""
	case isBcrypt(hash):
		if _, err := bcrypt.Cost([]byte(hash)); err != nil || len(hash) != 60 {
			return "This bcrypt hash is malformed."
		}
		return ""
	case strings.HasPrefix(hash, "$argon2id$"):
		if _, _, _, err := argon2id.DecodeHash(hash); err != nil {
			return "This argon2id hash is malformed."
		}
		return ""
	default:
		return "Use an argon2id hash ($argon2id$…) or a bcrypt hash ($2a$, $2b$ or $2y$)."
	}
}
