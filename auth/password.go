package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"github.com/trustelem/zxcvbn"

	"gatehouse/config"
	"gatehouse/internal/argon2"
	"gatehouse/models"
)

// hasher runs argon2id with the configured cost, at most GOMAXPROCS at
// once: each run holds ARGON2_MEMORY_KIB of memory, so a login flood must
// queue rather than exhaust memory. A caller that cannot get a slot within
// wait gets ErrBusy. Failed checks take as long as the slowest parameters
// in use (timing).
//
// Each slot is a work area (internal/argon2), made at its first use and
// reused by every hash after: x/crypto allocates the memory cost on every
// call, and the runtime then collects it and, near its memory limit,
// gives it back to the kernel, which faults it in again on the next login
// — a third of the login throughput (issue 18, docs/performance-login.md).
// An area is as large as the largest cost it has served: ARGON2_MEMORY_KIB,
// or a larger one of hashes made before the setting was lowered (until
// their owners log in and are rehashed). Hashes of any cost run in it, so
// a stored hash of another cost costs its own time and no allocation — as
// does every other check (the timing of failed logins, contract §9). The
// slots' areas are the hashing working set main's memory limit leaves room
// for.
type hasher struct {
	params  *argon2id.Params
	current string // models.HashParamsOf a hash made with params
	slots   chan *argon2.Work
	wait    time.Duration
	timing  *timing
	metrics Metrics // gatehouse_password_hash_waiting and _seconds
}

// newHasher makes a hasher for cfg; store (nil in unit tests) shares the
// parameter sets in use with the other instances.
func newHasher(cfg config.Argon2, store *models.Store, log *slog.Logger) (*hasher, error) {
	h := &hasher{
		params:  &argon2id.Params{Memory: cfg.MemoryKiB, Iterations: cfg.Time, Parallelism: cfg.Threads, SaltLength: 16, KeyLength: 32},
		slots:   make(chan *argon2.Work, runtime.GOMAXPROCS(0)),
		wait:    3 * time.Second,
		timing:  newTiming(store, log),
		metrics: noMetrics{},
	}
	for range cap(h.slots) {
		h.slots <- new(argon2.Work)
	}
	dummy, err := argon2id.CreateHash(dummyPassword, h.params)
	if err != nil {
		return nil, fmt.Errorf("argon2id: %w", err)
	}
	h.current = models.HashParamsOf(dummy)
	if err := h.timing.add(h.current); err != nil {
		return nil, err
	}
	return h, nil
}

// HashingMemory is the memory, in bytes, the hashing slots' work areas
// hold once every slot has hashed: GOMAXPROCS × ARGON2_MEMORY_KIB. It
// stays in use for as long as the process runs; main's memory limit
// leaves room for it.
func (s *Service) HashingMemory() int64 {
	return int64(cap(s.hasher.slots)) * int64(s.hasher.params.Memory) << 10
}

// acquire takes a hashing slot: its work area, and the release that gives
// it back.
func (h *hasher) acquire(ctx context.Context) (work *argon2.Work, release func(), err error) {
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	h.metrics.HashWaiting(1)
	defer h.metrics.HashWaiting(-1)
	select {
	case work = <-h.slots:
		return work, func() { h.slots <- work }, nil
	case <-timer.C:
		return nil, nil, ErrBusy
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// hash returns an argon2id hash of password, and records the parameters
// as in use (once per process).
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	work, release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	start := time.Now()
	hash, err := createHash(work, password, h.params)
	if err != nil {
		return "", fmt.Errorf("argon2id: %w", err)
	}
	h.metrics.HashSeconds(time.Since(start))
	h.timing.record(ctx, h.current)
	return hash, nil
}

// verify reports whether password matches hash, and whether hash was made
// with other parameters than the configured ones, or is an imported
// bcrypt hash (so it should be re-hashed). An empty hash (no password set)
// is checked against the dummy of the slowest parameters in use and never
// matches. A check that fails answers no sooner than the slowest
// parameters' usual time (timing), so neither an unknown email nor the
// cost of an account's own hash shows in how long a wrong password takes.
// The wait holds the slot, as a check against the slowest hash would.
func (h *hasher) verify(ctx context.Context, password, hash string) (match, stale bool, err error) {
	h.timing.learn(ctx)
	work, release, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	start := time.Now()
	if hash == "" {
		dummy := h.timing.dummy()
		_, _, _ = checkAny(work, password, dummy)
		h.metrics.HashSeconds(time.Since(start))
		h.timing.observe(models.HashParamsOf(dummy), time.Since(start))
		h.timing.pad(start)
		return false, false, nil
	}
	set := models.HashParamsOf(hash)
	h.timing.ensure(ctx, set)
	start = time.Now()
	match, params, err := checkAny(work, password, hash)
	if err != nil {
		return false, false, err
	}
	h.metrics.HashSeconds(time.Since(start))
	h.timing.observe(set, time.Since(start))
	if !match {
		h.timing.pad(start)
	}
	if params == nil {
		return match, true, nil // an imported bcrypt hash: always stale, so a good login upgrades it
	}
	stale = params.Memory != h.params.Memory || params.Iterations != h.params.Iterations ||
		params.Parallelism != h.params.Parallelism || params.KeyLength != h.params.KeyLength
	return match, stale, nil
}

// verifyCounted is every password check that the login throttle counts —
// a login, a re-authentication, the current password of a change: the
// attempt is counted for (email, client IP) first (beginAttempt: 429 past
// the limits, even for the right password), then password is checked
// against hash ("" — an unknown email, or an account without a password —
// checks a dummy: it costs what a wrong password costs). A password over
// 256 characters matches no account: it is ErrInvalidCredentials at once,
// neither hashed nor counted nor logged (contract §9). A check that could
// not run (no hashing slot in time, the client gone) is forgotten: it was
// no guess.
// When ok, the caller settles try (succeed, or forget) once the rest of
// its checks are done; when not, the attempt stays counted.
func (s *Service) verifyCounted(ctx context.Context, email, hash, password string, client Client) (try *attempt, ok, stale bool, err error) {
	if utf8.RuneCountInString(password) > maxPassword {
		return nil, false, false, ErrInvalidCredentials
	}
	try, err = s.beginAttempt(ctx, email, client.IP)
	if err != nil {
		return nil, false, false, err
	}
	ok, stale, err = s.hasher.verify(ctx, password, hash)
	if err != nil {
		return nil, false, false, errors.Join(err, try.forget(ctx))
	}
	return try, ok, stale, nil
}

// Password rules (contract §9). Every new password, the CLI's included,
// has 8–256 characters, taken exactly as typed (no trimming or
// truncation): validatePasswordLength. A password a person chooses on the
// web (sign-up, change) must also be hard to guess: validateNewPassword.
const (
	minPassword = 8
	maxPassword = 256
	// minPasswordScore is the lowest zxcvbn score (0–4) a new password may
	// have: 2 means at least about a million guesses.
	minPasswordScore = 2
)

// msgTooEasy is the contract's wording for every guessable new password.
const msgTooEasy = "This password is too easy to guess"

// validatePasswordLength checks the length rules; it returns a message or "".
func validatePasswordLength(password string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < minPassword:
		return "Use at least 8 characters."
	case n > maxPassword:
		return "Use at most 256 characters."
	}
	return ""
}

// validateNewPassword checks a password chosen on the web (sign-up, change)
// for the account with email and name: the length rules, then not the email
// itself, not containing the email's local part (in any case, when it has
// at least 3 characters), and a zxcvbn score of at least minPasswordScore
// with the email, its local part and the name as known words. The CLI is
// exempt (contract §9): an administrator sets a password deliberately, and
// "gatehouse user passwd" is the way back in. It returns a message or "".
//
// zxcvbn's cost grows with about the cube of the length
// (BenchmarkPasswordStrength: about 0.5 ms at 21 characters, 10 ms and
// 1.5 MB at 64, 350–480 ms and 70 MB at 256), and sign-up and change are
// open to anyone, so it scores the first zxcvbnMaxInput characters only:
// a longer password must already be hard to guess in those (which errs
// only on the strict side; 64 characters of a real passphrase score 4).
func validateNewPassword(password, email, name string) string {
	if msg := validatePasswordLength(password); msg != "" {
		return msg
	}
	email = models.CanonicalEmail(email)
	local := email
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		local = email[:at]
	}
	switch {
	case strings.EqualFold(strings.TrimSpace(password), email):
		return "Your password must not be your email."
	case utf8.RuneCountInString(local) >= 3 && strings.Contains(strings.ToLower(password), strings.ToLower(local)):
		return msgTooEasy
	case zxcvbn.PasswordStrength(firstRunes(password, zxcvbnMaxInput), passwordHints(email, local, name)).Score < minPasswordScore:
		return msgTooEasy
	}
	return ""
}

// zxcvbnMaxInput is how many characters of a password zxcvbn scores (see
// validateNewPassword).
const zxcvbnMaxInput = 64

// firstRunes returns the first n characters of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// passwordHints are the words zxcvbn should treat as known to an attacker:
// the email, its local part, the name, their words of 3 characters or more,
// and the site's own name.
func passwordHints(email, local, name string) []string {
	hints := []string{email, local, name, "gatehouse"}
	words := strings.FieldsFunc(local+" "+name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		if utf8.RuneCountInString(w) >= 3 {
			hints = append(hints, w)
		}
	}
	return hints
}

// PasswordChange is a signed-in user's request to change their password.
type PasswordChange struct {
	CurrentPassword string `json:"current_password" form:"current_password"`
	NewPassword     string `json:"new_password" form:"new_password"`
}

// errWrongCurrentPassword keeps the caller logged in (contract §4): it is a
// 422 on the field, not a 401.
func errWrongCurrentPassword() error {
	return models.InvalidFields(map[string]string{"current_password": "Your current password is not correct."})
}

// ChangePassword checks the caller's current password, sets the new one
// (same rules as sign-up), ends every other session of the user — with
// the tokens bound to them — and moves the caller's own session to a new
// id and cookie token (fresh credentials after a change of secret, so a
// copy of the old cookie or token is worthless). The returned caller is
// that new session, with the caller's scopes; its cookie must be saved,
// or, for a bearer-token caller, a new token issued from it, because the
// old token's session is gone. It also says how many other sessions ended.
//
// Wrong current passwords count as failed logins for the throttle, so a
// stolen session cannot be used to guess the password at leisure.
func (s *Service) ChangePassword(ctx context.Context, c *Caller, in PasswordChange, client Client) (*Caller, int64, error) {
	fields := map[string]string{}
	if in.CurrentPassword == "" {
		fields["current_password"] = "Enter your current password."
	}
	if msg := validateNewPassword(in.NewPassword, c.User.Email, c.User.FullName); msg != "" {
		fields["new_password"] = msg
	} else if in.NewPassword == in.CurrentPassword {
		fields["new_password"] = "Choose a password different from your current one."
	}
	if len(fields) > 0 {
		return nil, 0, models.InvalidFields(fields)
	}
	if c.User.PasswordHash == "" {
		return nil, 0, models.InvalidFields(map[string]string{
			"current_password": "This account has no password: it logs in through a provider."})
	}
	if err := s.checkCurrentPassword(ctx, c.User, in.CurrentPassword, client); err != nil {
		return nil, 0, err
	}
	old := c.Session
	// The same login goes on under a new id: its start and absolute limit
	// do not move.
	row, token := s.newSession(old.UserID, old.Scopes, client, s.now(), old.CreatedAt, old.ExpiresAt)
	row.AuthTime = old.AuthTime // the same login: the password change is no re-authentication
	row.AMR, row.ClientID = old.AMR, old.ClientID
	hash, ended, err := s.setPassword(ctx, c.User, in.NewPassword, &models.Renewal{Current: old.TokenHash, Replacement: row}, client, nil)
	if errors.Is(err, models.ErrNotFound) {
		return nil, 0, ErrSessionEnded // revoked while we were hashing
	}
	if err != nil {
		return nil, 0, err
	}
	u := *c.User
	u.PasswordHash = hash
	s.Record(ctx, u.ID, models.EventPasswordChanged, client, sessionsEnded(ended, true))
	return &Caller{User: &u, Session: row, Scopes: c.Scopes, token: token}, ended, nil
}

// ResetPassword sets a user's password (the CLI's user passwd) and ends
// every session they have, with the tokens bound to them: the same path
// as ChangePassword (setPassword), without a current password or a
// session to keep, and with the length rules only (contract §9).
func (s *Service) ResetPassword(ctx context.Context, email, password string) error {
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	if msg := validatePasswordLength(password); msg != "" {
		return models.InvalidFields(map[string]string{"password": msg})
	}
	_, ended, err := s.setPassword(ctx, u, password, nil, cliClient(), nil)
	if err != nil {
		return err
	}
	s.Record(ctx, u.ID, models.EventPasswordChanged, cliClient(), sessionsEnded(ended, false)+" (by the CLI)")
	return nil
}

// checkCurrentPassword checks a signed-in user's current password as
// ChangePassword does: counted as a failed login for the throttle (a
// stolen session cannot guess it at leisure), and a wrong one is 422 on
// current_password, the caller staying logged in.
func (s *Service) checkCurrentPassword(ctx context.Context, u *models.User, password string, client Client) error {
	try, ok, _, err := s.verifyCounted(ctx, u.Email, u.PasswordHash, password, client)
	if errors.Is(err, ErrInvalidCredentials) {
		return errWrongCurrentPassword() // over 256 characters: not the current one
	}
	if err != nil {
		return err
	}
	if !ok {
		s.Record(ctx, u.ID, models.EventPasswordChangeFailed, client, "wrong current password")
		return errWrongCurrentPassword()
	}
	return try.succeed(ctx)
}

// setPassword is the one way a password changes — the web's change, a
// reset by a mailed link and the CLI's alike: it hashes password and, in
// one transaction, stores the hash and ends every session of u with the
// tokens bound to them (models.Store.SetPasswordAndEndSessions) — except
// the one renew names, which goes on under a new id — and mails u the
// password-changed notice (contract §6). also, when set, runs first in
// the same transaction. It returns the hash and how many sessions ended.
func (s *Service) setPassword(ctx context.Context, u *models.User, password string, renew *models.Renewal, client Client, also func(tx *models.Store) error) (string, int64, error) {
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return "", 0, err
	}
	var ended int64
	err = s.store.Atomically(ctx, func(tx *models.Store) error {
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if ended, err = tx.SetPasswordAndEndSessions(ctx, u.ID, hash, renew); err != nil {
			return err
		}
		return tx.Enqueue(ctx, s.Notice(u, models.MailPasswordChanged, client))
	})
	if err != nil {
		return "", 0, err
	}
	return hash, ended, nil
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
