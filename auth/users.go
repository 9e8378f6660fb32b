package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/text/unicode/norm"

	"gatehouse/models"
)

// NewUser is what it takes to create an account with a password.
type NewUser struct {
	Email    string   `json:"email" form:"email"`
	FullName string   `json:"full_name" form:"full_name"`
	Password string   `json:"password" form:"password"`
	Scopes   []string `json:"-" form:"-"` // DefaultScopes when empty; never from a client
	// EmailVerified is true when an administrator creates the account
	// (the CLI); never from a client.
	EmailVerified bool `json:"-" form:"-"`
}

// Password rules (contract §9). Every new password, the CLI's included,
// has 8–256 characters, taken exactly as typed (no trimming or
// truncation): validatePasswordLength. A password a person chooses on the
// web (sign-up, change) must also be hard to guess: validateNewPassword.
const (
	minPassword = 8
	maxPassword = 256
	// minPasswordScore is the lowest zxcvbn score (0–4) a new password may
	// have: 2 means at least about a million guesses.
	minPasswordScore = 2
)

// msgTooEasy is the contract's wording for every guessable new password.
const msgTooEasy = "This password is too easy to guess"

// validatePasswordLength checks the length rules; it returns a message or "".
func validatePasswordLength(password string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < minPassword:
		return "Use at least 8 characters."
	case n > maxPassword:
		return "Use at most 256 characters."
	}
	return ""
}

// validateNewPassword checks a password chosen on the web (sign-up, change)
// for the account with email and name: the length rules, then not the email
// itself, not containing the email's local part (in any case, when it has
// at least 3 characters), and a zxcvbn score of at least minPasswordScore
// with the email, its local part and the name as known words. The CLI is
// exempt (contract §9): an administrator sets a password deliberately, and
// "gatehouse user passwd" is the way back in. It returns a message or "".
//
// zxcvbn's cost grows with about the cube of the length
// (BenchmarkPasswordStrength: about 0.5 ms at 21 characters, 10 ms and
// 1.5 MB at 64, 350–480 ms and 70 MB at 256), and sign-up and change are
// open to anyone, so it scores the first zxcvbnMaxInput characters only:
// a longer password must already be hard to guess in those (which errs
// only on the strict side; 64 characters of a real passphrase score 4).
func validateNewPassword(password, email, name string) string {
	if msg := validatePasswordLength(password); msg != "" {
		return msg
	}
	email = models.CanonicalEmail(email)
	local := email
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		local = email[:at]
	}
	switch {
	case strings.EqualFold(strings.TrimSpace(password), email):
		return "Your password must not be your email."
	case utf8.RuneCountInString(local) >= 3 && strings.Contains(strings.ToLower(password), strings.ToLower(local)):
		return msgTooEasy
	case zxcvbn.PasswordStrength(firstRunes(password, zxcvbnMaxInput), passwordHints(email, local, name)).Score < minPasswordScore:
		return msgTooEasy
	}
	return ""
}

// zxcvbnMaxInput is how many characters of a password zxcvbn scores (see
// validateNewPassword).
const zxcvbnMaxInput = 64

// firstRunes returns the first n characters of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// passwordHints are the words zxcvbn should treat as known to an attacker:
// the email, its local part, the name, their words of 3 characters or more,
// and the site's own name.
func passwordHints(email, local, name string) []string {
	hints := []string{email, local, name, "gatehouse"}
	words := strings.FieldsFunc(local+" "+name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		if utf8.RuneCountInString(w) >= 3 {
			hints = append(hints, w)
		}
	}
	return hints
}

// ValidateEmail checks an email (sign-up, the CLI, a provider's claim):
// one line of text (models.ValidateLine: no control or format characters),
// equal to its NFKC form (contract §9: no full-width letters, ligatures or
// other compatibility characters that would stand for plainer ones), of at
// most 254 bytes and valid syntax. It returns a message or "".
func ValidateEmail(email string) string {
	email = models.CanonicalEmail(email)
	if email == "" {
		return "Enter your email."
	}
	if len(email) > 254 {
		return "Use at most 254 characters."
	}
	if msg := models.ValidateLine(email); msg != "" {
		return msg
	}
	if !norm.NFKC.IsNormalString(email) {
		return "Type the address in ordinary characters, without full-width letters or ligatures."
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email {
		return "Enter a valid email address."
	}
	return ""
}

// CreateUser validates nu, hashes the password and stores the user. It is
// the administrator's way to add an account (the CLI's user add, the first
// administrator), so the password meets the length rules only (contract
// §9); self-service sign-up goes through Register, which also refuses
// passwords that are easy to guess.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (*models.User, error) {
	return s.createUser(ctx, nu, false)
}

// createUser is CreateUser; chosenOnWeb applies validateNewPassword
// instead of the length rules alone.
func (s *Service) createUser(ctx context.Context, nu NewUser, chosenOnWeb bool) (*models.User, error) {
	fields := map[string]string{}
	if msg := ValidateEmail(nu.Email); msg != "" {
		fields["email"] = msg
	}
	name := strings.TrimSpace(nu.FullName)
	if name == "" {
		fields["full_name"] = "Enter your name."
	} else if msg := validateName(name); msg != "" {
		fields["full_name"] = msg
	}
	msg := validatePasswordLength(nu.Password)
	if chosenOnWeb {
		msg = validateNewPassword(nu.Password, nu.Email, name)
	}
	if msg != "" {
		fields["password"] = msg
	}
	if len(fields) > 0 {
		return nil, models.InvalidFields(fields)
	}
	hash, err := s.hasher.hash(ctx, nu.Password)
	if err != nil {
		return nil, err
	}
	scopes := nu.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes
	}
	u := &models.User{Email: nu.Email, FullName: name, PasswordHash: hash, Scopes: joinScopes(normalize(scopes)), EmailVerified: nu.EmailVerified}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// ResetPassword sets a user's password (the CLI's user passwd) and ends
// every session they have, with the tokens bound to them.
func (s *Service) ResetPassword(ctx context.Context, email, password string) error {
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	if msg := validatePasswordLength(password); msg != "" { // the CLI: length rules only (contract §9)
		return models.InvalidFields(map[string]string{"password": msg})
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return err
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
		return err
	}
	n, err := s.store.DeleteUserSessions(ctx, u.ID, "")
	if err != nil {
		return err
	}
	s.Record(ctx, u.ID, models.EventPasswordChanged, cliClient(), sessionsEnded(n, false)+" (by the CLI)")
	return nil
}

// SetDisabled disables or enables the user with email; disabling ends their
// sessions and tokens at once. Disabling the last enabled user with
// admin:write is models.ErrLastAdmin (contract §9).
func (s *Service) SetDisabled(ctx context.Context, email string, disabled bool) error {
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	if err := s.store.SetUserDisabled(ctx, u.ID, disabled); err != nil {
		return err
	}
	if disabled != u.Disabled {
		what := "enabled"
		if disabled {
			what = "disabled"
		}
		s.Record(ctx, u.ID, models.EventAdminChangedUser, cliClient(), what+" (by the CLI)")
	}
	return nil
}

// SetScopes sets the scopes of the user with email to scopes, names
// separated by spaces or commas (the CLI's user scopes: the way back in
// when nobody can administer users any more, contract §9). An unknown name
// is 422 on the field, naming it; taking admin:write from its last enabled
// holder is models.ErrLastAdmin. As with an administrator's change,
// scopes taken away stop working on live sessions at once (callerFor
// intersects) and scopes given apply from the next login. A change is
// written to the user's security log.
func (s *Service) SetScopes(ctx context.Context, email, scopes string) (*models.User, error) {
	for _, sc := range SplitScopes(scopes) {
		if !known(sc) {
			return nil, models.InvalidFields(map[string]string{"scopes": fmt.Sprintf("Unknown scope %q; choose from %s.", sc, strings.Join(AllScopes, ", "))})
		}
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	list := normalize(SplitScopes(scopes))
	joined := joinScopes(list)
	if joined == joinScopes(normalize(u.ScopeList())) {
		return u, nil
	}
	updated, err := s.store.UpdateUser(ctx, u.ID, models.UserChanges{Scopes: &joined})
	if err != nil {
		return nil, err
	}
	if joined == "" {
		joined = "none"
	}
	s.Record(ctx, u.ID, models.EventAdminChangedUser, cliClient(), "scopes set to "+joined+" (by the CLI)")
	return updated, nil
}

// Users is the CLI's user list: every account, in id order.
func (s *Service) Users(ctx context.Context) ([]models.User, error) {
	var all []models.User
	for page := 1; ; page++ {
		users, total, err := s.store.ListUsers(ctx, "", page, 500)
		if err != nil {
			return nil, err
		}
		all = append(all, users...)
		if int64(len(all)) >= total || len(users) == 0 {
			return all, nil
		}
	}
}

// EnsureAdmin creates admin@example.com with a random password when there
// are no users at all, and returns that password ("" when nothing was done).
func (s *Service) EnsureAdmin(ctx context.Context) (string, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	password := randomID(18)
	_, err = s.CreateUser(ctx, NewUser{Email: "admin@example.com", FullName: "Administrator", Password: password, Scopes: AllScopes, EmailVerified: true})
	if errors.Is(err, models.ErrEmailTaken) {
		return "", nil // another instance won the race
	}
	return password, err
}
