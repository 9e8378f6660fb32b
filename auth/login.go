package auth

import (
	"context"
	"errors"
	"time"

	"gatehouse/models"
)

// Credentials is a password login: the OAuth2 password form (username,
// password, optional scope and grant_type) or the same names in JSON.
type Credentials struct {
	Username  string `json:"username" form:"username"`
	Password  string `json:"password" form:"password"`
	Scope     string `json:"scope" form:"scope"`
	GrantType string `json:"grant_type" form:"grant_type"`
}

// Login checks a password and opens a new session (a new id: never the one
// the browser brought). replacing, when it is the browser's cookie
// session, is ended. Throttling comes first, so a throttled client gets
// 429 even with the right password; the password comes before the
// disabled check, so a wrong password gets the same 401 as anyone.
func (s *Service) Login(ctx context.Context, in Credentials, client Client, replacing *Caller) (*Caller, error) {
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
	if err := s.checkThrottle(ctx, email, client.IP); err != nil {
		return nil, err
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return nil, err
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	ok, stale, err := s.hasher.verify(ctx, in.Password, hash) // an unknown email still costs one verify
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := s.recordFailure(ctx, email, client.IP); err != nil {
			return nil, err
		}
		if u != nil {
			s.Record(ctx, u.ID, models.EventLoginFailed, client, "wrong password")
		}
		return nil, ErrInvalidCredentials
	}
	if u.Disabled {
		s.Record(ctx, u.ID, models.EventLoginFailed, client, "account disabled")
		return nil, ErrInactiveUser
	}
	if stale {
		s.rehash(ctx, u, in.Password)
	}
	if err := s.store.ClearFailures(ctx, accountKey(email, client.IP)); err != nil {
		return nil, err
	}
	c, err := s.openSession(ctx, u, Grant(SplitScopes(in.Scope), u.ScopeList()), client, replacing)
	if err != nil {
		return nil, err
	}
	s.Record(ctx, u.ID, models.EventLoginSucceeded, client, "password")
	return c, nil
}

// rehash upgrades a hash made with other argon2id parameters. A failure
// only delays the upgrade to the next login, so it is logged, not returned.
func (s *Service) rehash(ctx context.Context, u *models.User, password string) {
	hash, err := s.hasher.hash(ctx, password)
	if err == nil {
		err = s.store.SetPasswordHash(ctx, u.ID, hash)
	}
	if err != nil {
		s.log.Warn("password rehash failed", "user_id", u.ID, "err", err)
		return
	}
	u.PasswordHash = hash
}

func accountKey(email, ip string) string { return "acct:" + ip + "|" + email }
func ipKey(ip string) string             { return "ip:" + ip }

// checkThrottle refuses a client that failed too often within the window:
// LoginMaxFailures for one account from one IP, or LoginMaxFailuresPerIP
// from one IP. The account's owner on another IP is not locked out.
func (s *Service) checkThrottle(ctx context.Context, email, ip string) error {
	now := s.now()
	since := now.Add(-s.cfg.LoginFailureWindow)
	limits := []struct {
		key string
		max int
	}{
		{accountKey(email, ip), s.cfg.LoginMaxFailures},
		{ipKey(ip), s.cfg.LoginMaxFailuresPerIP},
	}
	for _, l := range limits {
		n, oldest, err := s.store.CountFailures(ctx, l.key, since)
		if err != nil {
			return err
		}
		if n >= int64(l.max) {
			wait := oldest.Add(s.cfg.LoginFailureWindow).Sub(now)
			if wait < time.Second {
				wait = time.Second
			}
			e := *errTooMany
			e.RetryAfter = wait
			return &e
		}
	}
	return nil
}

func (s *Service) recordFailure(ctx context.Context, email, ip string) error {
	now := s.now()
	return s.store.AddFailure(ctx, now, now.Add(-s.cfg.LoginFailureWindow), accountKey(email, ip), ipKey(ip))
}
