package auth

import (
	"context"
	"errors"
	"time"
)

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
	return s.overLimitIn(ctx, key, max, s.cfg.LoginFailureWindow, now)
}

// overLimitIn is overLimit over another window than the login's.
func (s *Service) overLimitIn(ctx context.Context, key string, max int, window time.Duration, now time.Time) error {
	n, oldest, err := s.store.CountFailures(ctx, key, now.Add(-window))
	if err != nil || n <= int64(max) {
		return err
	}
	wait := oldest.Add(window).Sub(now)
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
