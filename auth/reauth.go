package auth

import (
	"context"
	"errors"

	"gatehouse/models"
)

// ErrReauthRequired is a sensitive action on a session whose user has not
// proved who they are within REAUTH_WINDOW (contract §7): a page goes to
// /auth/reauth, an API client calls POST /api/me/reauth.
var ErrReauthRequired = &models.Error{Kind: models.Unauthenticated, Code: "reauth_required",
	Detail: "Confirm it is you: enter your password again."}

// errNoPassword is a re-authentication by password on an account that has
// none: it re-authenticates by logging in through its provider.
var errNoPassword = models.InvalidFields(map[string]string{"password": "This account has no password: log in again through your provider to confirm it is you."})

// RequireRecentAuth is the one check of recent authentication (contract
// §7): nil when c's session proved who its user is — a login or a
// re-authentication — within REAUTH_WINDOW, else ErrReauthRequired. The
// sensitive actions (two-factor authentication on or off, new recovery
// codes, linking a provider, a password-less account's address change)
// call it first. It reads only the session the request already loaded.
func (s *Service) RequireRecentAuth(c *Caller) error {
	if c == nil || c.Session == nil || !c.Session.AuthTime.Valid {
		return ErrReauthRequired
	}
	if s.now().Sub(c.Session.AuthTime.Time) > s.cfg.ReauthWindow {
		return ErrReauthRequired
	}
	return nil
}

// Reauth is a re-authentication: the password, and a code when the
// account has two-factor authentication (form fields or JSON).
type Reauth struct {
	Password     string `json:"password" form:"password"`
	OTP          string `json:"otp" form:"otp"`
	RecoveryCode string `json:"recovery_code" form:"recovery_code"`
}

// Reauthenticate proves again that c's user is at the keyboard (POST
// /auth/reauth, POST /api/me/reauth): the password — counted by the login
// throttle like a login's — then, when two-factor authentication is on,
// the code. Then the session's auth_time is now. An account without a
// password re-authenticates by logging in through its provider instead.
func (s *Service) Reauthenticate(ctx context.Context, c *Caller, in Reauth, client Client) error {
	if c.User.PasswordHash == "" {
		return errNoPassword
	}
	if in.Password == "" {
		return models.InvalidFields(map[string]string{"password": "Enter your password."})
	}
	try, ok, _, err := s.verifyCounted(ctx, c.User.Email, c.User.PasswordHash, in.Password, client)
	if err != nil {
		return err
	}
	if !ok {
		s.Record(ctx, c.User.ID, models.EventLoginFailed, client, "wrong password (re-authentication)")
		return ErrInvalidCredentials
	}
	if c.User.MFAEnabled {
		if _, err := s.checkSecondFactor(ctx, c.User, in.OTP, in.RecoveryCode, client); err != nil {
			if !errors.Is(err, ErrInvalidOTP) {
				err = errors.Join(err, try.forget(ctx)) // no code yet: not a guess
			}
			return err
		}
	}
	if err := try.succeed(ctx); err != nil {
		return err
	}
	now := s.now()
	if err := s.store.SetAuthTime(ctx, c.Session.PublicID, now); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return ErrSessionEnded
		}
		return err
	}
	c.Session.AuthTime.Time, c.Session.AuthTime.Valid = now, true
	return nil
}
