package auth

import (
	"context"
	"errors"

	"gatehouse/models"
)

// Credentials is a password login: the OAuth2 password form (username,
// password, optional scope and grant_type) or the same names in JSON.
type Credentials struct {
	Username  string `json:"username" form:"username"`
	Password  string `json:"password" form:"password"`
	Scope     string `json:"scope" form:"scope"`
	GrantType string `json:"grant_type" form:"grant_type"`
	// The second factor, for an account with two-factor authentication
	// (contract §7): a code from the authenticator app or a recovery code.
	OTP          string `json:"otp" form:"otp"`
	RecoveryCode string `json:"recovery_code" form:"recovery_code"`
}

// login checks a password and opens a new session (a new id: never the one
// the browser brought). replacing, when it is the browser's cookie
// session, is ended. Throttling comes first, so a throttled client gets
// 429 even with the right password; the password comes before the
// disabled check, so a wrong password gets the same 401 as anyone. An
// account with two-factor authentication then needs its code: none is
// *MFARequired (ErrMFARequired, which a browser turns into a pending
// login), a wrong one ErrInvalidOTP, which stays counted as a failed
// login by the throttle.
func (s *Service) login(ctx context.Context, in Credentials, client Client, replacing *Caller) (*Caller, error) {
	fields := map[string]string{}
	if in.Username == "" {
		fields["username"] = "Enter your email."
	}
	if in.Password == "" {
		fields["password"] = "Enter your password."
	}
	if in.GrantType != "" && in.GrantType != "password" {
		fields["grant_type"] = `Only the "password" grant is supported here.`
	}
	if len(fields) > 0 {
		return nil, models.InvalidFields(fields)
	}
	email := models.CanonicalEmail(in.Username)
	if msg := ValidateEmailLength(email); msg != "" { // no account has such an email; keeps throttle keys bounded
		return nil, models.InvalidFields(map[string]string{"username": msg})
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return nil, err
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	try, ok, stale, err := s.verifyCounted(ctx, email, hash, in.Password, client)
	if err != nil {
		return nil, err
	}
	if !ok {
		// The same write for an unknown email as for a wrong password, so
		// the two answers take the same time (contract §9: no timing
		// oracle). An unknown email's event belongs to no one (user id 0):
		// nobody is shown it, and the sweep removes it with the rest.
		var id uint64
		detail := "unknown account"
		if u != nil {
			id, detail = u.ID, "wrong password"
		}
		s.Record(ctx, id, models.EventLoginFailed, client, detail)
		return nil, ErrInvalidCredentials
	}
	if err := mayLogIn(u); err != nil { // before the second factor: a disabled user is asked for nothing
		s.Record(ctx, u.ID, models.EventLoginFailed, client, "account disabled")
		return nil, errors.Join(err, try.forget(ctx))
	}
	if s.cfg.Mail.RequireVerifiedEmail && !u.EmailVerified {
		s.Record(ctx, u.ID, models.EventLoginFailed, client, "email not verified")
		if err := try.forget(ctx); err != nil {
			return nil, err
		}
		return nil, ErrEmailNotVerified
	}
	if stale {
		s.rehash(ctx, u, in.Password)
	}
	scopes := Grant(SplitScopes(in.Scope), u.ScopeList())
	how := "password"
	if u.MFAEnabled {
		factor, err := s.checkSecondFactor(ctx, u, in.OTP, in.RecoveryCode, client)
		switch {
		case errors.Is(err, ErrMFARequired):
			// The right password without a code is no guess, but it does not
			// clear the failures either: wrong codes stay counted.
			if ferr := try.forget(ctx); ferr != nil {
				return nil, ferr
			}
			return nil, &MFARequired{user: u, scopes: scopes}
		case errors.Is(err, ErrInvalidOTP):
			return nil, err // counted as a failed login
		case err != nil:
			return nil, errors.Join(err, try.forget(ctx))
		}
		how = "password and " + factor
	}
	if err := try.succeed(ctx); err != nil {
		return nil, err
	}
	c, err := s.startSession(ctx, u, scopes, client, replacing, amrOf(how))
	if err != nil {
		return nil, err
	}
	s.recordLogin(ctx, u, client, how)
	return c, nil
}

// recordLogin is the last step of every login that opened a session —
// a password (with its second factor), a provider, a sign-up's first
// session: the new-browser notice (contract §6) and login_succeeded in
// the security log, how saying which way.
func (s *Service) recordLogin(ctx context.Context, u *models.User, client Client, how string) {
	s.noticeNewLogin(ctx, u, client)
	s.Record(ctx, u.ID, models.EventLoginSucceeded, client, how)
}

// noticeNewLogin mails u when this login comes from a browser and IP
// that have not logged in to the account in the last 90 days (contract
// §6) — but not on the account's first login in that time (the first
// after sign-up, or after a long absence: there is nothing to compare
// with). It costs every login one indexed query (Store.SeenLogin); a
// failure is logged, never the login's.
func (s *Service) noticeNewLogin(ctx context.Context, u *models.User, client Client) {
	ctx = context.WithoutCancel(ctx)
	seen, loggedIn, err := s.store.SeenLogin(ctx, u.ID, client.ip(), client.userAgent(), s.now().Add(-EventRetention))
	if err == nil && loggedIn && !seen {
		err = s.store.Enqueue(ctx, s.Notice(u, models.MailNewLogin, client))
	}
	if err != nil {
		s.log.Error("new-login notice failed", "user_id", u.ID, "err", err)
	}
}
