package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"regexp"
	"time"

	"golang.org/x/oauth2"

	"gatehouse/auth/provider"
	"gatehouse/models"
)

// stateLifetime is how long a login may spend at the provider (contract §4).
const stateLifetime = 10 * time.Minute

// OAuth failures, worded for people (contract §4 and §5).
var (
	ErrInvalidState = &models.Error{Kind: models.BadRequest, Code: "invalid_state",
		Detail: "This login has expired or was already used. Please start again."}
	ErrOAuthCancelled = &models.Error{Kind: models.Unauthenticated, Code: "oauth_denied", Detail: "Login was cancelled"}
	// ErrOAuthDenied is any other error the provider sends back; its own
	// wording is not shown (it is not ours, and a link could choose it).
	ErrOAuthDenied = &models.Error{Kind: models.Unauthenticated, Code: "oauth_denied",
		Detail: "The provider did not allow the login."}
	ErrOAuthFailed = provider.ErrFailed
	// ErrProviderUnavailable is a provider that is down or too slow (502).
	ErrProviderUnavailable = provider.ErrUnavailable
	ErrNotAllowed          = &models.Error{Kind: models.Forbidden, Code: "not_allowed",
		Detail: "This account is not allowed to log in here."}
	// ErrNotRegistered is an unknown identity while OAUTH_AUTO_REGISTER is off.
	ErrNotRegistered = &models.Error{Kind: models.Forbidden, Code: "not_allowed",
		Detail: "There is no account for this login, and new accounts cannot be created this way."}
	ErrUnverifiedEmail = &models.Error{Kind: models.Forbidden, Code: "unverified_email",
		Detail: "Your email address at the provider is not verified. Verify it there and try again."}
	ErrLastLoginMethod = &models.Error{Kind: models.Conflict, Code: "last_login_method",
		Detail: "This is your only way to log in. Add another before you disconnect it."}
	// ErrLinkByPassword refuses to link a provider by email to a
	// self-service account: whoever signed up with that email never proved
	// it was theirs, and linking would hand the provider's owner an account
	// whose password someone else may know. The owner logs in with the
	// password and connects the provider from My info instead.
	ErrLinkByPassword = &models.Error{Kind: models.Conflict, Code: "account_exists",
		Detail: "An account with this email already exists. Log in with its password, then connect this provider from My info."}
	// ErrAlreadyLinked is a user who is already connected to another
	// account at the same provider; models.ErrIdentityTaken is a provider
	// account connected to another user. Both are 409 identity_taken.
	ErrAlreadyLinked = &models.Error{Kind: models.Conflict, Code: "identity_taken",
		Detail: "Your account is already connected to another account at this provider. Disconnect it first."}
)

// OAuthReply is the provider's redirect back, from the callback's query:
// code and state, or error (with state); iss when the provider says who
// it is (RFC 9207).
type OAuthReply struct {
	Code, State, Error, Issuer string
}

// OAuthResult is a finished flow: a login (Login is the new session) or,
// when Linked, a provider connected to the logged-in user.
type OAuthResult struct {
	Login  *Caller
	User   *models.User
	Linked bool
	Next   string
}

// StartOAuth begins a login through the provider called name and returns
// the provider's authorization URL: a random state (256 bits) that is
// stored, hashed, with the PKCE verifier, the nonce, next and the hash of
// the browser's binding cookie (set here). When link is not nil the flow
// connects the provider to link's user instead of logging in. next must
// already be a safe local path.
func (s *Service) StartOAuth(w http.ResponseWriter, r *http.Request, name, next string, link *Caller) (string, error) {
	if link != nil {
		if err := s.RequireRecentAuth(link); err != nil { // contract §7: linking is sensitive
			return "", err
		}
	}
	p, err := s.providers.Get(name)
	if err != nil {
		return "", err
	}
	ctx := r.Context()
	binding := s.bindingOf(r)
	state := randomID(32)
	now := s.now()
	st := &models.OAuthState{
		Hash:        hashToken(state),
		Provider:    name,
		Verifier:    oauth2.GenerateVerifier(),
		Nonce:       randomID(32),
		Next:        next,
		BindingHash: hashToken(binding),
		CreatedAt:   now,
		ExpiresAt:   now.Add(stateLifetime),
	}
	if link != nil {
		st.LinkUserID = link.User.ID
	}
	authURL, err := p.AuthCodeURL(ctx, st, state) // may discover: 502 before anything is stored
	if err != nil {
		return "", err
	}
	if err := s.store.CreateOAuthState(ctx, st); err != nil {
		return "", err
	}
	s.setBinding(w, binding)
	return authURL, nil
}

// finishOAuth completes a flow at the callback. The state must exist, be
// unused, unexpired, for this provider and from this browser (its binding
// cookie), and it is spent whatever happens next. Then the provider's
// error, if any; then the code is redeemed and the identity resolved. A
// login opens a new session exactly like a password login (replacing the
// browser's own, caller); a link flow needs caller to be the user who
// began it.
func (s *Service) finishOAuth(r *http.Request, name string, reply OAuthReply, client Client, caller *Caller) (*OAuthResult, error) {
	p, err := s.providers.Get(name)
	if err != nil {
		return nil, err
	}
	ctx := provider.WatchOutage(r.Context())
	st, err := s.consumeState(ctx, r, name, reply.State, caller)
	if err != nil {
		return nil, err
	}
	switch {
	case reply.Error == "access_denied":
		return nil, ErrOAuthCancelled
	case reply.Error != "":
		return nil, ErrOAuthDenied
	case reply.Code == "":
		return nil, ErrOAuthFailed
	}
	prof, err := p.Exchange(ctx, st, reply.Code, reply.Issuer)
	if errors.Is(err, ErrOAuthFailed) {
		// 401s are not logged by the error handler; an operator needs
		// these (a wrong secret, a clock off). No code or token is in err.
		s.log.Warn("oauth login failed", "provider", name, "err", err)
	}
	if err != nil {
		return nil, err
	}
	prof = usableProfile(prof)
	if st.LinkUserID != 0 {
		u, err := s.link(ctx, st.LinkUserID, prof)
		if err != nil {
			return nil, err
		}
		s.Record(ctx, u.ID, models.EventProviderLinked, client, prof.Provider)
		return &OAuthResult{User: u, Linked: true, Next: st.Next}, nil
	}
	u, linked, err := s.userFor(ctx, prof)
	if err != nil {
		return nil, err
	}
	if linked {
		s.Record(ctx, u.ID, models.EventProviderLinked, client, prof.Provider+", by its verified email")
	}
	login, err := s.startSession(ctx, u, Grant(nil, u.ScopeList()), client, caller, amrFederated)
	if err != nil {
		return nil, err
	}
	s.recordLogin(ctx, u, client, prof.Provider)
	return &OAuthResult{Login: login, User: u, Next: st.Next}, nil
}

// consumeState takes the state out of the database and checks it. Every
// failure is the same invalid_state: missing, unknown, used, expired, for
// another provider, from another browser, or a link flow finished by
// someone other than the user who began it.
func (s *Service) consumeState(ctx context.Context, r *http.Request, name, state string, caller *Caller) (*models.OAuthState, error) {
	if state == "" || len(state) > 512 {
		return nil, ErrInvalidState
	}
	st, err := s.store.ConsumeOAuthState(ctx, hashToken(state))
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidState
	}
	if err != nil {
		return nil, err
	}
	binding := ""
	if c, err := r.Cookie(s.bindingCookie()); err == nil {
		binding = c.Value
	}
	switch {
	case st.Provider != name, !s.now().Before(st.ExpiresAt):
		return nil, ErrInvalidState
	case binding == "" || subtle.ConstantTimeCompare([]byte(hashToken(binding)), []byte(st.BindingHash)) != 1:
		return nil, ErrInvalidState
	case st.LinkUserID != 0 && (caller == nil || caller.User.ID != st.LinkUserID):
		return nil, ErrInvalidState
	}
	return st, nil
}

// The binding cookie ties a begun login to the browser that began it: a
// random value whose hash the state row keeps. The browser has no session
// yet (that is what it is logging in for), so this cookie stands in for
// its pre-login session. One value serves every login begun within its
// lifetime, so two tabs do not undo each other. SameSite=Lax, because the
// provider's redirect back is a cross-site top-level GET.
var bindingValue = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func (s *Service) bindingCookie() string { return cookieName(s.cfg.SecureCookies(), "oauth_binding") }

// bindingOf returns the request's binding value, or a new one.
func (s *Service) bindingOf(r *http.Request) string {
	if c, err := r.Cookie(s.bindingCookie()); err == nil && bindingValue.MatchString(c.Value) {
		return c.Value
	}
	return randomID(32)
}

func (s *Service) setBinding(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.bindingCookie(),
		Value:    value,
		Path:     "/", // __Host- requires it; the callback and the /api twin both need the cookie
		MaxAge:   int(stateLifetime.Seconds()),
		HttpOnly: true,
		Secure:   s.cfg.SecureCookies(),
		SameSite: http.SameSiteLaxMode,
	})
}
