package auth

import "gatehouse/models"

// ErrReauthRequired is a sensitive action without a recent enough
// authentication (contract §7).
var ErrReauthRequired = &models.Error{Kind: models.Unauthenticated, Code: "reauth_required",
	Detail: "Please log in again to do this."}

// RequireRecentAuth is the one check of "a recent authentication": the
// caller's session must have been opened (logged in) within
// REAUTH_WINDOW, else ErrReauthRequired.
//
// TODO(issue 12): judge by the session's auth_time, which a
// re-authentication moves, instead of its creation.
func (s *Service) RequireRecentAuth(c *Caller) error {
	if c == nil || c.Session == nil || s.now().Sub(c.Session.CreatedAt) > s.cfg.ReauthWindow {
		return ErrReauthRequired
	}
	return nil
}
