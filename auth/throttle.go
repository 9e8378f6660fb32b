package auth

import (
	"context"
	"errors"
	"strconv"
	"time"

	"gatehouse/models"
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

// limit is one count a request must stay within: at most max attempts
// under key within window.
type limit struct {
	key    string
	max    int
	window time.Duration
}

// countAttempt is the one throttle: it records one attempt under every
// limit's key, and only then counts each — counting first and recording
// after a slow check would let concurrent requests all pass a count made
// before any of them was written. Past any limit it is 429
// too_many_attempts, with Retry-After at the moment the oldest counted row
// leaves that window, and the attempt is forgotten again: a refused
// request was no guess, so a throttled client stays throttled only until
// its real attempts leave the window. The ids forget (or clear) the
// attempt later, when it turns out not to have been a failure.
func (s *Service) countAttempt(ctx context.Context, limits ...limit) ([]uint64, error) {
	now := s.now()
	keys := make([]string, len(limits))
	for i, l := range limits {
		keys[i] = l.key
	}
	ids, err := s.store.AddAttempt(ctx, now, keys...)
	if err != nil {
		return nil, err
	}
	for _, l := range limits {
		if err := s.overLimit(ctx, l, now); err != nil {
			return nil, errors.Join(err, s.store.ForgetFailures(context.WithoutCancel(ctx), ids))
		}
	}
	return ids, nil
}

// beginAttempt counts a password (or second-factor) attempt for one
// account from one IP as a failure before its outcome is known
// (countAttempt): LoginMaxFailures for the account from that IP, or
// LoginMaxFailuresPerIP from the IP, within the window. The account's
// owner on another IP is not locked out.
func (s *Service) beginAttempt(ctx context.Context, email, ip string) (*attempt, error) {
	ids, err := s.countAttempt(ctx,
		limit{accountKey(email, ip), s.cfg.LoginMaxFailures, s.cfg.LoginFailureWindow},
		limit{ipKey(ip), s.cfg.LoginMaxFailuresPerIP, s.cfg.LoginFailureWindow})
	if err != nil {
		return nil, err
	}
	return &attempt{s: s, email: email, ip: ip, ids: ids}, nil
}

// overLimit is 429 too_many_attempts, with Retry-After at the moment the
// oldest counted row leaves the window, when more than l.max rows stand
// under l.key within it (the caller's own attempt is one of them).
func (s *Service) overLimit(ctx context.Context, l limit, now time.Time) error {
	n, oldest, err := s.store.CountFailures(ctx, l.key, now.Add(-l.window))
	if err != nil || n <= int64(l.max) {
		return err
	}
	wait := oldest.Add(l.window).Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	e := *errTooMany
	e.RetryAfter = wait
	return &e
}

// reworded is err with the detail of as when err is a 429 of the login
// throttle (its Retry-After kept), so that each route says what was
// throttled; any other err is returned as it is.
func reworded(err error, as *models.Error) error {
	e, ok := models.AsError(err)
	if !ok || !errors.Is(e, errTooMany) {
		return err
	}
	out := *as
	out.RetryAfter = e.RetryAfter
	return &out
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

// maxWrongCodes is how many wrong second-factor codes (TOTP or recovery)
// one account may see within LOGIN_FAILURE_WINDOW, from any number of
// addresses, before every code for it is refused (contract §9): the
// per-IP counts alone let someone who has the password and many
// addresses guess on for ever.
const maxWrongCodes = 10

// codesKey counts the wrong codes of one account, whatever the IP.
func codesKey(userID uint64) string { return "codes:" + strconv.FormatUint(userID, 10) }

// codesNoticeKey marks that the account's owner was told of a lock.
func codesNoticeKey(userID uint64) string { return "codes-notice:" + strconv.FormatUint(userID, 10) }

// beginCodeAttempt counts a second-factor code for u as wrong before it
// is checked (as beginAttempt does for passwords, so concurrent guesses
// cannot all pass one count). Over maxWrongCodes it is 429 — the right
// code too — and the owner is mailed once per window. The ids forget the
// attempt when the code turns out right.
func (s *Service) beginCodeAttempt(ctx context.Context, u *models.User, client Client) ([]uint64, error) {
	ids, err := s.countAttempt(ctx, limit{codesKey(u.ID), maxWrongCodes, s.cfg.LoginFailureWindow})
	if errors.Is(err, errTooMany) {
		s.noticeCodesLocked(ctx, u, client, s.now())
		return nil, reworded(err, errTooManyCodes)
	}
	return ids, err
}

// noticeCodesLocked mails u that its codes are refused, unless it was
// told so within the window already. Two refusals at once may both mail:
// better twice than never. A failure is logged, never the request's.
func (s *Service) noticeCodesLocked(ctx context.Context, u *models.User, client Client, now time.Time) {
	ctx = context.WithoutCancel(ctx)
	key := codesNoticeKey(u.ID)
	n, _, err := s.store.CountFailures(ctx, key, now.Add(-s.cfg.LoginFailureWindow))
	if err == nil && n == 0 {
		if _, err = s.store.AddAttempt(ctx, now, key); err == nil {
			err = s.store.Enqueue(ctx, s.Notice(u, models.MailCodesLocked, client))
		}
	}
	if err != nil {
		s.log.Error("codes-locked notice failed", "user_id", u.ID, "err", err)
	}
}
