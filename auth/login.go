package auth

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

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
	if utf8.RuneCountInString(in.Password) > maxPassword {
		// No account has such a password: answered at once, without a
		// hash or a database call, whether the email exists or not.
		return nil, ErrInvalidCredentials
	}
	email := models.CanonicalEmail(in.Username)
	if len(email) > 254 { // no account has such an email; keeps throttle keys bounded
		return nil, models.InvalidFields(map[string]string{"username": "Use at most 254 characters."})
	}
	try, err := s.beginAttempt(ctx, email, client.IP)
	if err != nil {
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
		return nil, errors.Join(err, try.forget(ctx)) // busy: not a guess
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
	if u.Disabled {
		s.Record(ctx, u.ID, models.EventLoginFailed, client, "account disabled")
		if err := try.forget(ctx); err != nil {
			return nil, err
		}
		return nil, ErrInactiveUser
	}
	if stale {
		s.rehash(ctx, u, in.Password)
	}
	if err := try.succeed(ctx); err != nil {
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

// accountKey counts failures for one account from one IP. It is hashed:
// the table keeps no emails, and every key has the same short length.
func accountKey(email, ip string) string { return "acct:" + hashToken(ip+"|"+email) }
func ipKey(ip string) string             { return "ip:" + ip }

// attempt is a password check counted as a failure before its outcome is
// known (see beginAttempt).
type attempt struct {
	s     *Service
	email string
	ip    string
	ids   []uint64
}

// beginAttempt records this attempt as a failure under (account, IP) and
// IP, and only then counts: LoginMaxFailures for one account from one IP,
// or LoginMaxFailuresPerIP from one IP, within the window. Counting first
// and recording after the (slow) password check would let concurrent
// guesses all pass a check made before any of them was written. A refused
// attempt is forgotten — it was no guess — so a throttled client stays
// throttled only until its real failures leave the window. The account's
// owner on another IP is not locked out.
func (s *Service) beginAttempt(ctx context.Context, email, ip string) (*attempt, error) {
	now := s.now()
	ids, err := s.store.AddAttempt(ctx, now, accountKey(email, ip), ipKey(ip))
	if err != nil {
		return nil, err
	}
	a := &attempt{s: s, email: email, ip: ip, ids: ids}
	for _, l := range []struct {
		key string
		max int
	}{
		{accountKey(email, ip), s.cfg.LoginMaxFailures},
		{ipKey(ip), s.cfg.LoginMaxFailuresPerIP},
	} {
		if err := s.overLimit(ctx, l.key, l.max, now); err != nil {
			return nil, errors.Join(err, a.forget(ctx))
		}
	}
	return a, nil
}

// overLimit is 429 too_many_attempts, with Retry-After at the moment the
// oldest counted row leaves the window, when more than max rows stand under
// key within it (the caller's own attempt is one of them).
func (s *Service) overLimit(ctx context.Context, key string, max int, now time.Time) error {
	n, oldest, err := s.store.CountFailures(ctx, key, now.Add(-s.cfg.LoginFailureWindow))
	if err != nil || n <= int64(max) {
		return err
	}
	wait := oldest.Add(s.cfg.LoginFailureWindow).Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	e := *errTooMany
	e.RetryAfter = wait
	return &e
}

// forget drops the attempt: it turned out not to be a wrong password. It
// runs even when the client has gone (a login cut off while waiting for a
// hashing slot was no guess).
func (a *attempt) forget(ctx context.Context) error {
	return a.s.store.ForgetFailures(context.WithoutCancel(ctx), a.ids)
}

// succeed drops the attempt and clears the account's failures from this
// IP: the right password was given (even if the client has gone since).
func (a *attempt) succeed(ctx context.Context) error {
	return a.s.store.ClearFailures(context.WithoutCancel(ctx), accountKey(a.email, a.ip), a.ids...)
}
