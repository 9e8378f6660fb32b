package auth

import (
	"context"
	"errors"

	"gatehouse/models"
)

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
	now := s.now()
	key := "signup:" + client.IP
	ids, err := s.store.AddAttempt(ctx, now, key)
	if err != nil {
		return nil, err
	}
	if err := s.overLimit(ctx, key, s.cfg.LoginMaxFailuresPerIP, now); err != nil {
		return nil, errors.Join(err, s.store.ForgetFailures(ctx, ids))
	}
	u, err := s.createUser(ctx, nu, true) // chosen on the web: easy passwords refused
	if err != nil {
		return nil, err
	}
	s.Record(ctx, u.ID, models.EventRegistered, client, "")
	return u, nil
}

// OpenSession logs in a user who has just proven who they are some other
// way than a password (they signed up a moment ago, or came back from a
// provider): a new session with all of the user's scopes, ending the
// browser's previous one (replacing) as a login does. how says which way,
// for the security log. A disabled user is refused.
func (s *Service) OpenSession(ctx context.Context, u *models.User, client Client, replacing *Caller, how string) (*Caller, error) {
	if u.Disabled {
		return nil, ErrInactiveUser
	}
	c, err := s.openSession(ctx, u, normalize(u.ScopeList()), client, replacing)
	if err != nil {
		return nil, err
	}
	s.Record(ctx, u.ID, models.EventLoginSucceeded, client, how)
	return c, nil
}

// PasswordChange is a signed-in user's request to change their password.
type PasswordChange struct {
	CurrentPassword string `json:"current_password" form:"current_password"`
	NewPassword     string `json:"new_password" form:"new_password"`
}

// errWrongCurrentPassword keeps the caller logged in (contract §4): it is a
// 422 on the field, not a 401.
func errWrongCurrentPassword() error {
	return models.InvalidFields(map[string]string{"current_password": "Your current password is not correct."})
}

// ChangePassword checks the caller's current password, sets the new one
// (same rules as sign-up), ends every other session of the user — with
// the tokens bound to them — and moves the caller's own session to a new
// id and cookie token (fresh credentials after a change of secret, so a
// copy of the old cookie or token is worthless). The returned caller is
// that new session, with the caller's scopes; its cookie must be saved,
// or, for a bearer-token caller, a new token issued from it, because the
// old token's session is gone. It also says how many other sessions ended.
//
// Wrong current passwords count as failed logins for the throttle, so a
// stolen session cannot be used to guess the password at leisure.
func (s *Service) ChangePassword(ctx context.Context, c *Caller, in PasswordChange, client Client) (*Caller, int64, error) {
	fields := map[string]string{}
	if in.CurrentPassword == "" {
		fields["current_password"] = "Enter your current password."
	}
	if msg := validateNewPassword(in.NewPassword, c.User.Email, c.User.FullName); msg != "" {
		fields["new_password"] = msg
	} else if in.NewPassword == in.CurrentPassword {
		fields["new_password"] = "Choose a password different from your current one."
	}
	if len(fields) > 0 {
		return nil, 0, models.InvalidFields(fields)
	}
	if c.User.PasswordHash == "" {
		return nil, 0, models.InvalidFields(map[string]string{
			"current_password": "This account has no password: it logs in through a provider."})
	}
	try, err := s.beginAttempt(ctx, c.User.Email, client.IP)
	if err != nil {
		return nil, 0, err
	}
	ok, _, err := s.hasher.verify(ctx, in.CurrentPassword, c.User.PasswordHash)
	if err != nil {
		return nil, 0, errors.Join(err, try.forget(ctx))
	}
	if !ok {
		s.Record(ctx, c.User.ID, models.EventPasswordChangeFailed, client, "wrong current password")
		return nil, 0, errWrongCurrentPassword()
	}
	if err := try.succeed(ctx); err != nil {
		return nil, 0, err
	}
	hash, err := s.hasher.hash(ctx, in.NewPassword)
	if err != nil {
		return nil, 0, err
	}
	token := randomID(32)
	old := c.Session
	row := &models.Session{
		TokenHash:  hashToken(token),
		PublicID:   randomID(16),
		UserID:     old.UserID,
		Scopes:     old.Scopes,
		IP:         truncate(client.IP, 64),
		UserAgent:  truncate(client.UserAgent, 512),
		CreatedAt:  old.CreatedAt, // the same login goes on: its absolute limit does not move
		LastSeenAt: s.now(),
		ExpiresAt:  old.ExpiresAt,
	}
	ended, err := s.store.ChangePassword(ctx, c.User.ID, hash, old.TokenHash, row)
	if errors.Is(err, models.ErrNotFound) {
		return nil, 0, ErrSessionEnded // revoked while we were hashing
	}
	if err != nil {
		return nil, 0, err
	}
	u := *c.User
	u.PasswordHash = hash
	s.Record(ctx, u.ID, models.EventPasswordChanged, client, sessionsEnded(ended, true))
	return &Caller{User: &u, Session: row, Scopes: c.Scopes, token: token}, ended, nil
}

// RevokeSession ends one of the caller's sessions by its public id, with
// every token bound to it. A session that is not the caller's is
// ErrNotFound, the same as one that does not exist.
func (s *Service) RevokeSession(ctx context.Context, c *Caller, publicID string, client Client) error {
	if err := s.store.DeleteSession(ctx, publicID, c.User.ID); err != nil {
		return err
	}
	detail := "another session"
	if publicID == c.Session.PublicID {
		detail = "this session"
	}
	s.Record(ctx, c.User.ID, models.EventSessionRevoked, client, detail)
	return nil
}

// RevokeOtherSessions ends every session of the caller's except the one
// the request rides on ("log out everywhere else"), and says how many.
func (s *Service) RevokeOtherSessions(ctx context.Context, c *Caller, client Client) (int64, error) {
	n, err := s.store.DeleteUserSessions(ctx, c.User.ID, c.Session.PublicID)
	if err != nil {
		return 0, err
	}
	s.Record(ctx, c.User.ID, models.EventSessionsRevoked, client, sessionsEnded(n, true))
	return n, nil
}
