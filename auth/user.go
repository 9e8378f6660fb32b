package auth

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"

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
	if msg := ValidateEmailLength(email); msg != "" {
		return msg
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

// ValidateEmailLength is the one length rule of an email: at most
// models.MaxEmail bytes (RFC 5321's path limit, and the column's size).
// It returns a message or "".
func ValidateEmailLength(email string) string {
	if len(email) > models.MaxEmail {
		return "Use at most 254 characters."
	}
	return ""
}

// validateName checks a trimmed full name — at sign-up, an administrator's
// rename and the CLI's user add: one line of text (models.ValidateLine: no
// control or format characters) of at most 200 characters. It returns a
// message or "".
func validateName(name string) string {
	switch msg := models.ValidateLine(name); {
	case name == "":
		return "Enter a name."
	case msg != "":
		return msg
	case utf8.RuneCountInString(name) > 200:
		return "Use at most 200 characters."
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
	// An unverified account (a sign-up) gets its verification mail in the
	// same transaction (contract §6).
	err = s.store.Atomically(ctx, func(tx *models.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil || u.EmailVerified {
			return err
		}
		return tx.Enqueue(ctx, models.NewMail(models.MailVerifyEmail, u.ID, u.Email, models.MailData{Name: u.FullName, Email: u.Email}, s.now()))
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Register creates an account by self-service sign-up, with the default
// scopes whatever the client sent, and logs it. Validation is CreateUser's
// plus the strength rule for the password (validateNewPassword), 422 with
// fields; an email in use is 409 email_taken.
//
// Sign-ups are counted per client IP like failed logins: at most
// LOGIN_MAX_FAILURES_PER_IP within LOGIN_FAILURE_WINDOW, refused or not (a
// 409 email_taken answers whether an email has an account, so each try
// counts), then 429. Each sign-up holds an argon2id slot, so a flood of
// them would otherwise starve logins.
func (s *Service) Register(ctx context.Context, nu NewUser, client Client) (*models.User, error) {
	nu.Scopes = nil // never chosen by a client: DefaultScopes
	nu.EmailVerified = false
	if _, err := s.countAttempt(ctx, limit{"signup:" + client.IP, s.cfg.LoginMaxFailuresPerIP, s.cfg.LoginFailureWindow}); err != nil {
		return nil, reworded(err, errTooManySignups)
	}
	u, err := s.createUser(ctx, nu, true) // chosen on the web: easy passwords refused
	if err != nil {
		return nil, err
	}
	s.Record(ctx, u.ID, models.EventRegistered, client, "")
	return u, nil
}

// UserUpdate is an administrator's change to a user; nil fields stay as
// they are (contract §2: PATCH takes any subset).
type UserUpdate struct {
	FullName *string
	Disabled *bool
	Scopes   *[]string
}

// UpdateUser applies an administrator's changes to user id. Unknown
// scopes and bad names are 422 with fields. An administrator cannot
// disable themselves or take admin:write from themselves (422 on the
// field), so nobody locks themselves out by a slip; when they are the
// only administrator, that is the contract's 422 last_admin instead
// (§9). The self-check alone does not keep an administrator: two of them
// can demote each other at the same moment. The rule that does lives in
// the store's transaction: a change that would leave no enabled user with
// admin:write is models.ErrLastAdmin and changes nothing. Disabling
// ends the user's sessions at once; scopes taken away stop working on
// live sessions at once too (callerFor intersects), while scopes given
// apply from the user's next login. Every change is written to the
// user's security log, naming the administrator.
func (s *Service) UpdateUser(ctx context.Context, actor *Caller, id uint64, in UserUpdate, client Client) (*models.User, error) {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	self := actor.User.ID == u.ID
	fields := map[string]string{}
	var (
		ch      models.UserChanges
		changed []string
		lockout bool // the administrator would take their own admin rights
	)
	if in.FullName != nil {
		name := strings.TrimSpace(*in.FullName)
		if msg := validateName(name); msg != "" {
			fields["full_name"] = msg
		} else if name != u.FullName {
			ch.FullName = &name
			changed = append(changed, "name changed")
		}
	}
	if in.Disabled != nil {
		switch {
		case *in.Disabled && self:
			fields["disabled"] = "You cannot disable your own account."
			lockout = true
		case *in.Disabled != u.Disabled:
			ch.Disabled = in.Disabled
			if *in.Disabled {
				changed = append(changed, "disabled")
			} else {
				changed = append(changed, "enabled")
			}
		}
	}
	if in.Scopes != nil {
		scopes, err := ParseScopes(strings.Join(*in.Scopes, " "))
		switch e, _ := models.AsError(err); {
		case err != nil:
			fields["scopes"] = e.Fields["scopes"]
		case self && !contains(scopes, ScopeAdminWrite):
			fields["scopes"] = "You cannot remove admin:write from your own account."
			lockout = true
		default:
			if joined := joinScopes(scopes); joined != joinScopes(normalize(u.ScopeList())) {
				ch.Scopes = &joined
				changed = append(changed, "scopes set to "+strings.Join(scopes, " "))
			}
		}
	}
	if lockout {
		// The caller holds admin:write (the route requires it), so they
		// are the only administrator when they are the only holder.
		admins, err := s.store.AdminWriters(ctx)
		if err != nil {
			return nil, err
		}
		if len(admins) == 1 && admins[0] == u.ID {
			return nil, models.ErrLastAdmin
		}
	}
	if len(fields) > 0 {
		return nil, models.InvalidFields(fields)
	}
	if len(changed) == 0 {
		return u, nil
	}
	return s.changeUser(ctx, id, ch, changed, actor, client)
}

// SetDisabled disables or enables the user with email (the CLI's user
// disable and enable), through the same path as an administrator's change
// (changeUser): disabling ends their sessions and tokens at once, and
// disabling the last enabled user with admin:write is models.ErrLastAdmin
// (contract §9).
func (s *Service) SetDisabled(ctx context.Context, email string, disabled bool) error {
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	if disabled == u.Disabled {
		return nil
	}
	what := "enabled"
	if disabled {
		what = "disabled"
	}
	_, err = s.changeUser(ctx, u.ID, models.UserChanges{Disabled: &disabled}, []string{what}, nil, cliClient())
	return err
}

// SetScopes sets the scopes of the user with email to scopes, names
// separated by spaces or commas (the CLI's user scopes, through changeUser: the way back in
// when nobody can administer users any more, contract §9). An unknown name
// is 422 on the field, naming it; taking admin:write from its last enabled
// holder is models.ErrLastAdmin. As with an administrator's change,
// scopes taken away stop working on live sessions at once (callerFor
// intersects) and scopes given apply from the next login. A change is
// written to the user's security log.
func (s *Service) SetScopes(ctx context.Context, email, scopes string) (*models.User, error) {
	if _, err := ParseScopes(scopes); err != nil {
		return nil, err
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
	shown := joined
	if shown == "" {
		shown = "none"
	}
	return s.changeUser(ctx, u.ID, models.UserChanges{Scopes: &joined}, []string{"scopes set to " + shown}, nil, cliClient())
}

// changeUser is the one way a user's name, disabled flag or scopes
// change, an administrator's and the CLI's alike: one transaction
// (models.Store.ApplyUserChanges: disabling ends the user's sessions
// there, and no change may leave no enabled administrator), then one
// event in the user's security log saying what changed and who changed it
// (actor nil: the CLI).
func (s *Service) changeUser(ctx context.Context, id uint64, ch models.UserChanges, changed []string, actor *Caller, client Client) (*models.User, error) {
	updated, err := s.store.ApplyUserChanges(ctx, id, ch)
	if err != nil {
		return nil, err
	}
	s.Record(ctx, id, models.EventAdminChangedUser, client, joinDetail(changed, actor))
	return updated, nil
}

// User is the user with id; models.ErrNotFound if none.
func (s *Service) User(ctx context.Context, id uint64) (*models.User, error) {
	return s.store.UserByID(ctx, id)
}

// ListUsers is one page of a user search (contract §13: an email that
// starts with q, a name with a word that starts with q, or the id q;
// every user when q is empty), in id order, with the total that match.
func (s *Service) ListUsers(ctx context.Context, q models.UserQuery) (models.UserPage, error) {
	return s.store.ListUsers(ctx, q)
}

// EachUser calls each for every account, in id order, a page at a time
// (a cursor, so each page costs the same however far the walk has gone):
// the CLI's user list and export.
func (s *Service) EachUser(ctx context.Context, each func(*models.User) error) error {
	q := models.UserQuery{Limit: 500}
	for {
		page, err := s.store.ListUsers(ctx, q)
		if err != nil {
			return err
		}
		for i := range page.Users {
			if err := each(&page.Users[i]); err != nil {
				return err
			}
		}
		if page.Next == 0 {
			return nil
		}
		q.After = page.Next
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
