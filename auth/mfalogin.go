package auth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"gatehouse/models"
)

// A browser's login that waits for its second factor (contract §7).
const (
	pendingLifetime = 5 * time.Minute
	pendingTries    = 5
)

// errPendingGone is a second step with no pending login behind it: none,
// expired, out of tries, or already finished. The browser logs in again.
var errPendingGone = &models.Error{Kind: models.Unauthenticated, Code: "not_authenticated",
	Detail: "Your login has expired; log in again."}

// MFARequired is ErrMFARequired for a login whose password was right: it
// carries what a pending login for a browser needs (PendLogin). errors.Is
// matches it to ErrMFARequired.
type MFARequired struct {
	user   *models.User
	scopes []string
}

func (e *MFARequired) Error() string { return ErrMFARequired.Error() }
func (e *MFARequired) Unwrap() error { return ErrMFARequired }

// pendingCookie is the pending login's own cookie: "__Host-pending_login"
// under https. It is not the session cookie, so a half-done login is no
// session anywhere.
func (s *Service) pendingCookie() string { return cookieName(s.cfg.SecureCookies(), "pending_login") }

// PendLogin keeps a browser's login whose password was right (need, from
// Login) on the server for 5 minutes and 5 tries, and binds it to a
// cookie of its own: a random 256-bit token, stored only as its SHA-256.
// What that cookie is worth to someone who steals it: 5 guesses at a
// 6-digit code, each counted by the login throttle, and nothing else —
// it opens no session, reads nothing, and dies with a password change, a
// disabled account or a reset of the second factor. next must already be
// a safe local path.
func (s *Service) PendLogin(ctx context.Context, w http.ResponseWriter, need *MFARequired, next string) error {
	token := randomID(32)
	p := &models.PendingLogin{
		TokenHash:     hashToken(token),
		UserID:        need.user.ID,
		Scopes:        joinScopes(need.scopes),
		Next:          next,
		PasswordProof: hashToken(need.user.PasswordHash),
		ExpiresAt:     s.now().Add(pendingLifetime),
	}
	if err := s.store.CreatePendingLogin(ctx, p); err != nil {
		return err
	}
	s.setPendingCookie(w, token, int(pendingLifetime.Seconds()))
	return nil
}

// setPendingCookie sets (or, with maxAge < 0, clears) the pending login's
// cookie. SameSite=Strict: every step of a login is on this site.
func (s *Service) setPendingCookie(w http.ResponseWriter, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.pendingCookie(),
		Value:    token,
		Path:     "/", // __Host- requires it
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.cfg.SecureCookies(),
		SameSite: http.SameSiteStrictMode,
	})
}

// ClearPendingLogin removes the pending login's cookie.
func (s *Service) ClearPendingLogin(w http.ResponseWriter) { s.setPendingCookie(w, "", -1) }

// pendingHash is the hash of the request's pending-login token, or "".
func (s *Service) pendingHash(r *http.Request) string {
	c, err := r.Cookie(s.pendingCookie())
	if err != nil || c.Value == "" || len(c.Value) > 64 {
		return ""
	}
	return hashToken(c.Value)
}

// HasPendingLogin reports whether the request's browser has a pending
// login that is still good (the /auth/2fa page is shown only then).
//
// next is where the login goes once complete.
func (s *Service) HasPendingLogin(r *http.Request) (ok bool, next string, err error) {
	hash := s.pendingHash(r)
	if hash == "" {
		return false, "", nil
	}
	p, err := s.store.PendingLoginByHash(r.Context(), hash, s.now(), pendingTries)
	if errors.Is(err, models.ErrNotFound) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	return true, p.Next, nil
}

// SecondStep is the code a browser sends to /auth/2fa.
type SecondStep struct {
	Code         string `json:"code" form:"code"`
	RecoveryCode string `json:"recovery_code" form:"recovery_code"`
}

// completePendingLogin finishes the browser's pending login with its
// second factor: the code (or a recovery code) is checked — one of the 5
// tries spent first, and counted by the login throttle like a wrong
// password — and the login opens a new session as Login does (ending
// replacing, the browser's previous session). It answers the session and
// the next path the login began with. A login that is gone, expired,
// out of tries or made stale (a new password, two-factor authentication
// reset) is errPendingGone and its cookie is cleared.
func (s *Service) completePendingLogin(w http.ResponseWriter, r *http.Request, in SecondStep, client Client, replacing *Caller) (*Caller, string, error) {
	ctx := r.Context()
	hash := s.pendingHash(r)
	if hash == "" {
		return nil, "", errPendingGone
	}
	if in.Code == "" && in.RecoveryCode == "" {
		return nil, "", ErrMFARequired // no try spent on an empty form
	}
	p, err := s.store.TryPendingLogin(ctx, hash, s.now(), pendingTries)
	if errors.Is(err, models.ErrNotFound) {
		s.ClearPendingLogin(w)
		return nil, "", errPendingGone
	}
	if err != nil {
		return nil, "", err
	}
	end := func(err error) (*Caller, string, error) {
		if _, derr := s.store.DeletePendingLogin(ctx, hash); derr != nil {
			err = errors.Join(err, derr)
		}
		s.ClearPendingLogin(w)
		return nil, "", err
	}
	u, err := s.store.UserByID(ctx, p.UserID)
	if errors.Is(err, models.ErrNotFound) {
		return end(errPendingGone)
	}
	if err != nil {
		return nil, "", err
	}
	if err := mayLogIn(u); err != nil {
		return end(err)
	}
	if !u.MFAEnabled || hashToken(u.PasswordHash) != p.PasswordProof {
		return end(errPendingGone)
	}
	try, err := s.beginAttempt(ctx, u.Email, client.IP)
	if err != nil {
		return nil, "", err
	}
	how, err := s.checkSecondFactor(ctx, u, in.Code, in.RecoveryCode, client)
	if err != nil {
		if !errors.Is(err, ErrInvalidOTP) {
			err = errors.Join(err, try.forget(ctx)) // refused or failed: not a guess
		}
		if p.Tries >= pendingTries {
			_, _, err = end(err)
		}
		return nil, "", err
	}
	if err := try.succeed(ctx); err != nil {
		return nil, "", err
	}
	won, err := s.store.DeletePendingLogin(ctx, hash)
	if err != nil {
		return nil, "", err
	}
	if !won {
		// Another request with the same cookie finished it first: one
		// pending login opens one session.
		return nil, "", errPendingGone
	}
	s.ClearPendingLogin(w)
	c, err := s.startSession(ctx, u, SplitScopes(p.Scopes), client, replacing, amrOf("password and "+how))
	if err != nil {
		return nil, "", err
	}
	s.recordLogin(ctx, u, client, "password and "+how)
	return c, p.Next, nil
}
