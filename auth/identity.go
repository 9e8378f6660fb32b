package auth

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"gatehouse/auth/provider"
	"gatehouse/models"
)

// userFor finds or makes the user a provider identity logs in as
// (contract §4): a known identity is its user; otherwise a verified email
// links to the user who has it; otherwise a new user, when
// OAUTH_AUTO_REGISTER is on. An unverified email never links or creates.
// linked says the identity was just linked to an existing user by email.
// The allowlist applies to every login through a provider, and disabled
// users stay out.
func (s *Service) userFor(ctx context.Context, p provider.Profile) (u *models.User, linked bool, err error) {
	id, err := s.store.IdentityBySubject(ctx, p.Provider, p.Subject)
	switch {
	case err == nil:
		if err := s.allowed(p); err != nil {
			return nil, false, err
		}
		u, err = s.store.UserByID(ctx, id.UserID)
		if err != nil {
			return nil, false, err
		}
		if err := mayLogIn(u); err != nil {
			return nil, false, err
		}
		if p.Email != "" && p.Email != id.Email {
			if err := s.store.SetIdentityEmail(ctx, id.ID, p.Email); err != nil {
				return nil, false, err
			}
		}
		return u, false, nil
	case !errors.Is(err, models.ErrNotFound):
		return nil, false, err
	}

	if !p.EmailVerified {
		return nil, false, ErrUnverifiedEmail
	}
	if err := s.allowed(p); err != nil {
		return nil, false, err
	}
	identity := &models.Identity{Provider: p.Provider, Subject: p.Subject, Email: p.Email, CreatedAt: s.now()}
	u, err = s.store.UserByEmail(ctx, p.Email)
	switch {
	case err == nil:
		if err := mayLogIn(u); err != nil {
			return nil, false, err
		}
		if !u.EmailVerified {
			return nil, false, ErrLinkByPassword // no pre-account takeover through an unverified sign-up
		}
		identity.UserID = u.ID
		if err := s.store.CreateIdentity(ctx, identity); err != nil {
			return nil, false, linkConflict(err)
		}
		u, err = s.store.UserByID(ctx, u.ID) // with the new provider in its view
		return u, err == nil, err
	case !errors.Is(err, models.ErrNotFound):
		return nil, false, err
	case !s.cfg.OAuthAutoRegister:
		return nil, false, ErrNotRegistered
	}
	u = &models.User{Email: p.Email, FullName: displayName(p), Scopes: joinScopes(normalize(DefaultScopes)), EmailVerified: true}
	if err := s.store.CreateUserWithIdentity(ctx, u, identity); err != nil {
		return nil, false, err
	}
	u, err = s.store.UserByID(ctx, u.ID)
	return u, false, err
}

// linkConflict words a refused link: the user has another account at
// this provider (ErrAlreadyLinked), or the provider account is someone
// else's — both are ErrIdentityTaken from the store, told apart here.
func linkConflict(err error) error {
	if errors.Is(err, models.ErrIdentityTaken) {
		return ErrAlreadyLinked
	}
	return err
}

// link connects the provider identity p to the user userID, who began the
// flow while logged in. Logging in at the provider proves the account is
// theirs, so the email need not be verified — unless an allowlist is set,
// which must let the identity in, or the link could never be used.
func (s *Service) link(ctx context.Context, userID uint64, p provider.Profile) (*models.User, error) {
	if err := s.allowed(p); err != nil {
		return nil, err
	}
	id, err := s.store.IdentityBySubject(ctx, p.Provider, p.Subject)
	switch {
	case err == nil && id.UserID == userID:
		return s.store.UserByID(ctx, userID) // linked already: nothing to do
	case err == nil:
		return nil, models.ErrIdentityTaken
	case !errors.Is(err, models.ErrNotFound):
		return nil, err
	}
	identity := &models.Identity{Provider: p.Provider, Subject: p.Subject, UserID: userID, Email: p.Email, CreatedAt: s.now()}
	if err := s.store.CreateIdentity(ctx, identity); err != nil {
		return nil, linkConflict(err)
	}
	return s.store.UserByID(ctx, userID)
}

// allowed applies OAUTH_ALLOWED_EMAILS and OAUTH_ALLOWED_DOMAINS, combined
// with OR; both empty lets everyone in. Only a verified email can show it
// is on a list: anyone can type an unverified one.
func (s *Service) allowed(p provider.Profile) error {
	emails, domains := s.cfg.OAuthAllowedEmails, s.cfg.OAuthAllowedDomains
	if len(emails) == 0 && len(domains) == 0 {
		return nil
	}
	if !p.EmailVerified || p.Email == "" {
		return ErrUnverifiedEmail
	}
	for _, e := range emails {
		if p.Email == e {
			return nil
		}
	}
	domain := p.Email[strings.LastIndexByte(p.Email, '@')+1:]
	for _, d := range domains {
		if domain == strings.TrimPrefix(d, "@") {
			return nil
		}
	}
	return ErrNotAllowed
}

// displayName is a new user's name: the provider's, else the email's
// local part, at most 200 characters. A provider's name is not refused
// for control or format characters, as a typed one is (the user did not
// type it here): they are dropped instead (contract §9).
func displayName(p provider.Profile) string {
	name := strings.TrimSpace(strings.Map(func(r rune) rune {
		if models.IsInvisible(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(p.Name, "")))
	if name == "" {
		name, _, _ = strings.Cut(p.Email, "@")
	}
	if utf8.RuneCountInString(name) > 200 {
		name = string([]rune(name)[:200])
	}
	return name
}

// UnlinkProvider disconnects the user's account at the provider called
// name. It refuses (409 last_login_method) when that is the last way left
// to log in — the password, a passkey (while passkeys are on), or an
// account at a provider that is switched on. An account at a switched-off provider may always go. Not linked:
// 404.
func (s *Service) UnlinkProvider(ctx context.Context, userID uint64, name string, client Client) error {
	err := s.store.DeleteIdentity(ctx, userID, name, func(u *models.User, ids []models.Identity) error {
		found, othersLeft := false, u.PasswordHash != "" || s.hasPasskeyLogin(u)
		for _, id := range ids {
			switch {
			case id.Provider == name:
				found = true
			case s.providers.Enabled(id.Provider):
				othersLeft = true
			}
		}
		if !found {
			return models.ErrNotFound
		}
		if !othersLeft && s.providers.Enabled(name) {
			return ErrLastLoginMethod
		}
		return nil
	})
	if err == nil {
		s.Record(ctx, userID, models.EventProviderUnlinked, client, name)
	}
	return err
}
