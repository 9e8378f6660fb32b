package auth

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"

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

// Password rules: at least 8 and at most 256 characters, taken exactly as
// typed (no trimming or truncation), and not the email.
const (
	minPassword = 8
	maxPassword = 256
)

func validatePassword(password, email string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < minPassword:
		return "Use at least 8 characters."
	case n > maxPassword:
		return "Use at most 256 characters."
	case strings.EqualFold(strings.TrimSpace(password), models.CanonicalEmail(email)):
		return "Your password must not be your email."
	}
	return ""
}

// ValidateEmail checks syntax and length; it returns a message or "".
func ValidateEmail(email string) string {
	email = models.CanonicalEmail(email)
	if email == "" {
		return "Enter your email."
	}
	if len(email) > 254 {
		return "Use at most 254 characters."
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email {
		return "Enter a valid email address."
	}
	return ""
}

// CreateUser validates nu, hashes the password and stores the user.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (*models.User, error) {
	fields := map[string]string{}
	if msg := ValidateEmail(nu.Email); msg != "" {
		fields["email"] = msg
	}
	name := strings.TrimSpace(nu.FullName)
	switch {
	case name == "":
		fields["full_name"] = "Enter your name."
	case !utf8.ValidString(name):
		fields["full_name"] = "Use valid UTF-8 text."
	case utf8.RuneCountInString(name) > 200:
		fields["full_name"] = "Use at most 200 characters."
	}
	if msg := validatePassword(nu.Password, nu.Email); msg != "" {
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
	if msg := validatePassword(password, u.Email); msg != "" {
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
// sessions and tokens at once.
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
