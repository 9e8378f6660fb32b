package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"gatehouse/auth/seal"
	"gatehouse/models"
)

// Two-factor failures (contract §5 and §7).
var (
	// ErrMFARequired is a login whose password was right, for an account
	// with two-factor authentication, that brought no code.
	ErrMFARequired = &models.Error{Kind: models.Unauthenticated, Code: "mfa_required", Detail: "Enter the code from your authenticator app"}
	// ErrInvalidOTP is a wrong, stale or replayed code, or a wrong or
	// spent recovery code: one answer for all of them.
	ErrInvalidOTP = &models.Error{Kind: models.Unauthenticated, Code: "invalid_otp", Detail: "That code is not valid. Enter the current code from your authenticator app, or a recovery code."}
	// errMFAOff is asking for new recovery codes with two-factor
	// authentication off.
	errMFAOff = &models.Error{Kind: models.Conflict, Code: "mfa_not_enabled", Detail: "Two-factor authentication is off."}
)

// The TOTP parameters of contract §7 (RFC 6238's defaults, which every
// authenticator app reads): SHA-1, 6 digits, 30-second steps, and one
// step of drift either way.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpDrift  = 1
	// totpIssuer names Gatehouse in the authenticator app.
	totpIssuer = "Gatehouse"
	// recoveryCodes is how many recovery codes a user holds at once.
	recoveryCodes = 10
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// secondFactor holds what the TOTP secrets and recovery codes are kept
// with: the sealer of the secrets and the digester of the codes, each
// under its own key derived from ENCRYPTION_KEY.
type secondFactor struct {
	secrets *seal.Sealer
	codes   *seal.Digester
}

func newSecondFactor(encryptionKey []byte) (*secondFactor, error) {
	secrets, err := seal.New(encryptionKey, seal.TOTPSecrets)
	if err != nil {
		return nil, err
	}
	codes, err := seal.NewDigester(encryptionKey, seal.RecoveryCodes)
	if err != nil {
		return nil, err
	}
	return &secondFactor{secrets: secrets, codes: codes}, nil
}

// secretContext binds a sealed TOTP secret to its user: a sealed secret
// copied to another user's row does not open.
func secretContext(userID uint64) string { return "totp\x00" + strconv.FormatUint(userID, 10) }

// TOTPSetup is a new authenticator secret for a user to scan (the QR code
// of URL) or type (Secret, base32).
type TOTPSetup struct {
	Secret string `json:"secret"`
	URL    string `json:"otpauth_url"`
}

// QRCode is the setup's otpauth:// URL as a QR code, a PNG of size×size
// pixels, made here: the secret never goes to a third party to be drawn.
func (t TOTPSetup) QRCode(size int) ([]byte, error) {
	key, err := otp.NewKeyFromURL(t.URL)
	if err != nil {
		return nil, err
	}
	img, err := key.Image(size, size)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MFAStatus is the caller's two-factor state: GET /api/me/2fa.
type MFAStatus struct {
	Enabled           bool  `json:"mfa"`
	RecoveryCodesLeft int64 `json:"recovery_codes_left"`
}

// MFAStatus reports whether c's user has two-factor authentication on
// and how many unused recovery codes they have.
func (s *Service) MFAStatus(ctx context.Context, c *Caller) (MFAStatus, error) {
	st := MFAStatus{Enabled: c.User.MFAEnabled}
	if !st.Enabled {
		return st, nil
	}
	n, err := s.store.RecoveryCodesLeft(ctx, c.User.ID)
	st.RecoveryCodesLeft = n
	return st, err
}

// SetupTOTP makes a new authenticator secret for c's user and keeps it,
// sealed, until EnableTOTP confirms it with a code; a set-up not
// confirmed is replaced by the next. It needs a recent authentication.
// With two-factor authentication already on, the secret in use stays
// until the new one is confirmed (moving to a new phone).
func (s *Service) SetupTOTP(ctx context.Context, c *Caller) (TOTPSetup, error) {
	if err := s.RequireRecentAuth(c); err != nil {
		return TOTPSetup{}, err
	}
	setup, err := newTOTPSetup(c.User.Email, nil)
	if err != nil {
		return TOTPSetup{}, err
	}
	sealed := s.mfa.secrets.Seal([]byte(setup.Secret), secretContext(c.User.ID))
	if err := s.store.SetPendingTOTP(ctx, c.User.ID, sealed); err != nil {
		return TOTPSetup{}, err
	}
	return setup, nil
}

// PendingTOTP returns the set-up SetupTOTP made and EnableTOTP has not
// confirmed yet (the page shows it again after a wrong code);
// models.ErrNotFound if there is none.
func (s *Service) PendingTOTP(ctx context.Context, c *Caller) (TOTPSetup, error) {
	row, err := s.store.TOTPOf(ctx, c.User.ID)
	if err != nil {
		return TOTPSetup{}, err
	}
	if row.Pending == nil {
		return TOTPSetup{}, models.ErrNotFound
	}
	secret, err := s.mfa.secrets.Open(row.Pending, secretContext(c.User.ID))
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("totp set-up of user %d: %w", c.User.ID, err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(secret))
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("totp set-up of user %d: %w", c.User.ID, err)
	}
	return newTOTPSetup(c.User.Email, raw)
}

// newTOTPSetup describes the secret raw (random when nil) for account.
func newTOTPSetup(account string, raw []byte) (TOTPSetup, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: account, Secret: raw,
		Period: totpPeriod, SecretSize: 20, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("totp secret: %w", err)
	}
	return TOTPSetup{Secret: key.Secret(), URL: key.URL()}, nil
}

// EnableTOTP turns two-factor authentication on for c's user once code
// matches the pending set-up: a wrong or missing code is 422 on the code
// field and changes nothing. It needs a recent authentication. It answers
// the 10 new recovery codes, which are shown this once: only their
// digests are kept.
func (s *Service) EnableTOTP(ctx context.Context, c *Caller, code string, client Client) ([]string, error) {
	if err := s.RequireRecentAuth(c); err != nil {
		return nil, err
	}
	if strings.TrimSpace(code) == "" {
		return nil, models.InvalidFields(map[string]string{"code": "Enter the 6-digit code from your authenticator app."})
	}
	row, err := s.store.TOTPOf(ctx, c.User.ID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return nil, err
	}
	if row == nil || row.Pending == nil {
		return nil, models.InvalidFields(map[string]string{"code": "Set up the authenticator app first."})
	}
	secret, err := s.mfa.secrets.Open(row.Pending, secretContext(c.User.ID))
	if err != nil {
		return nil, fmt.Errorf("totp set-up of user %d: %w", c.User.ID, err)
	}
	step, ok := matchTOTP(string(secret), code, s.now())
	if !ok {
		return nil, models.InvalidFields(map[string]string{"code": "That code is not right. Check the time on your phone and enter the current code."})
	}
	codes, digests := s.newRecoveryCodes()
	err = s.store.Atomically(ctx, func(tx *models.Store) error {
		if err := tx.EnableTOTP(ctx, c.User.ID, row.Pending, step, digests); err != nil {
			return err
		}
		return tx.Enqueue(ctx, s.Notice(c.User, models.MailMFAEnabled, client)) // §6: told in the same transaction
	})
	if err != nil {
		if errors.Is(err, models.ErrNotFound) { // another set-up replaced this one meanwhile
			return nil, models.InvalidFields(map[string]string{"code": "The set-up changed in another window; scan the new code."})
		}
		return nil, err
	}
	c.User.MFAEnabled = true
	s.Record(ctx, c.User.ID, models.EventMFAEnabled, client, "authenticator app")
	return codes, nil
}

// RegenerateRecoveryCodes voids c's user's recovery codes and answers 10
// new ones, shown this once. It needs a recent authentication and
// two-factor authentication on (409 mfa_not_enabled otherwise).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, c *Caller, client Client) ([]string, error) {
	if err := s.RequireRecentAuth(c); err != nil {
		return nil, err
	}
	codes, digests := s.newRecoveryCodes()
	err := s.store.ReplaceRecoveryCodes(ctx, c.User.ID, digests)
	if errors.Is(err, models.ErrNotFound) {
		return nil, errMFAOff
	}
	if err != nil {
		return nil, err
	}
	s.Record(ctx, c.User.ID, models.EventRecoveryCodesRegenerated, client, "")
	return codes, nil
}

// DisableMFA turns two-factor authentication off for c's own user. It
// needs a recent authentication; turning off what is off changes nothing.
func (s *Service) DisableMFA(ctx context.Context, c *Caller, client Client) error {
	if err := s.RequireRecentAuth(c); err != nil {
		return err
	}
	if _, err := s.disableMFA(ctx, c.User, false, client); err != nil {
		return err
	}
	if c.User.MFAEnabled {
		s.Record(ctx, c.User.ID, models.EventMFADisabled, client, "")
	}
	c.User.MFAEnabled = false
	return nil
}

// disableMFA is the one way two-factor authentication goes off (the
// user's own disable, an administrator's reset): models.DisableMFA and,
// when it was on, the notice to the account's address (contract §6), in
// one transaction. With endSessions every session of u ends too.
func (s *Service) disableMFA(ctx context.Context, u *models.User, endSessions bool, client Client) (ended int64, err error) {
	err = s.store.Atomically(ctx, func(tx *models.Store) error {
		if ended, err = tx.DisableMFA(ctx, u.ID, endSessions); err != nil || !u.MFAEnabled {
			return err
		}
		return tx.Enqueue(ctx, s.Notice(u, models.MailMFADisabled, client))
	})
	return ended, err
}

// ResetMFA is an administrator's (actor's) reset of user id's two-factor
// authentication (POST /api/users/{id}/2fa/reset): it turns it off and
// ends every session of the user, and says how many.
func (s *Service) ResetMFA(ctx context.Context, actor *Caller, id uint64, client Client) (int64, error) {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return 0, err
	}
	return s.resetMFA(ctx, u, actor, client)
}

// ResetMFAByEmail is the CLI's gatehouse user reset-2fa E: ResetMFA for
// the user with email.
func (s *Service) ResetMFAByEmail(ctx context.Context, email string) (int64, error) {
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return 0, err
	}
	return s.resetMFA(ctx, u, nil, cliClient())
}

func (s *Service) resetMFA(ctx context.Context, u *models.User, actor *Caller, client Client) (int64, error) {
	ended, err := s.disableMFA(ctx, u, true, client)
	if err != nil {
		return 0, err
	}
	s.Record(ctx, u.ID, models.EventMFADisabled, client, joinDetail([]string{"reset", sessionsEnded(ended, false)}, actor))
	return ended, nil
}

// checkSecondFactor checks the second factor u brought: a TOTP code
// (otpCode) or, when there is none, a recovery code. Each is good once:
// a code's step, and a recovery code, are spent in one UPDATE. Neither
// given is ErrMFARequired; a wrong, replayed or spent one is
// ErrInvalidOTP, recorded as mfa_failed. More than maxWrongCodes wrong
// ones for the account within the window, from any addresses, and every
// code is 429 for a while (beginCodeAttempt). how says which factor
// passed, for the security log.
func (s *Service) checkSecondFactor(ctx context.Context, u *models.User, otpCode, recoveryCode string, client Client) (how string, err error) {
	otpCode, recoveryCode = strings.TrimSpace(otpCode), strings.TrimSpace(recoveryCode)
	if otpCode == "" && recoveryCode == "" {
		return "", ErrMFARequired
	}
	try, err := s.beginCodeAttempt(ctx, u, client)
	if err != nil {
		return "", err
	}
	right := func(how string) (string, error) {
		return how, s.store.ForgetFailures(context.WithoutCancel(ctx), try)
	}
	if otpCode != "" {
		ok, err := s.useTOTP(ctx, u.ID, otpCode)
		if err != nil {
			return "", errors.Join(err, s.store.ForgetFailures(context.WithoutCancel(ctx), try))
		}
		if ok {
			return right("authenticator app")
		}
		s.Record(ctx, u.ID, models.EventMFAFailed, client, "wrong or reused code")
		return "", ErrInvalidOTP
	}
	ok, err := s.store.UseRecoveryCode(ctx, u.ID, s.mfa.codes.Digest(canonicalRecoveryCode(recoveryCode)), s.now())
	if err != nil {
		return "", errors.Join(err, s.store.ForgetFailures(context.WithoutCancel(ctx), try))
	}
	if ok {
		s.Record(ctx, u.ID, models.EventRecoveryCodeUsed, client, "")
		return right("recovery code")
	}
	s.Record(ctx, u.ID, models.EventMFAFailed, client, "wrong or used recovery code")
	return "", ErrInvalidOTP
}

// useTOTP checks code against userID's secret at the service's clock and
// spends its step: false for a wrong code, or one whose step (or a later
// one) was already used.
func (s *Service) useTOTP(ctx context.Context, userID uint64, code string) (bool, error) {
	row, err := s.store.TOTPOf(ctx, userID)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if row.Secret == nil {
		return false, nil
	}
	secret, err := s.mfa.secrets.Open(row.Secret, secretContext(userID))
	if err != nil {
		return false, fmt.Errorf("totp secret of user %d: %w", userID, err)
	}
	step, ok := matchTOTP(string(secret), code, s.now())
	if !ok || step <= row.LastStep {
		return false, nil
	}
	return s.store.UseTOTPStep(ctx, userID, step)
}

// matchTOTP finds the step, within totpDrift steps of now, whose code is
// code (spaces ignored). Every candidate is compared in constant time.
func matchTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != int(totpDigits) {
		return 0, false
	}
	current := now.Unix() / totpPeriod
	for d := int64(-totpDrift); d <= totpDrift; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((current+d)*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, ok = current+d, true
		}
	}
	return step, ok
}

// recoveryAlphabet has 32 symbols (5 bits each) and none of the letters
// people confuse with digits (i, l, o); an o typed for 0 is read as 0
// (canonicalRecoveryCode).
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz023456789"

// newRecoveryCodes makes recoveryCodes codes of 10 random symbols (about
// 50 bits each), written xxxxx-xxxxx, and their digests.
func (s *Service) newRecoveryCodes() (codes, digests []string) {
	for range recoveryCodes {
		b := make([]byte, 10)
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = recoveryAlphabet[b[i]&31] // 32 symbols: no modulo bias
		}
		code := string(b[:5]) + "-" + string(b[5:])
		codes = append(codes, code)
		digests = append(digests, s.mfa.codes.Digest(canonicalRecoveryCode(code)))
	}
	return codes, digests
}

// canonicalRecoveryCode is the form a recovery code is compared in:
// lower case, without the dash and spaces people may type or leave out,
// and with o read as 0.
func canonicalRecoveryCode(code string) string {
	return strings.NewReplacer("-", "", " ", "", "o", "0").Replace(strings.ToLower(code))
}
