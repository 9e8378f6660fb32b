package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gatehouse/auth/passkey"
	"gatehouse/models"
)

// Passkey failures (contract §11).
var (
	// ErrInvalidPasskey is a passkey login or re-authentication that is not
	// accepted, whatever the reason — unknown, removed, another origin or
	// RP ID, no user verification, a bad signature, a spent flow, a
	// cloned authenticator: one answer, no oracle.
	ErrInvalidPasskey = &models.Error{Kind: models.Unauthenticated, Code: "invalid_passkey", Detail: "This passkey was not accepted"}
	// errInvalidRegistration is a registration response that does not
	// verify (or whose ceremony is spent, expired or another session's).
	errInvalidRegistration = &models.Error{Kind: models.BadRequest, Code: "invalid_passkey",
		Detail: "This passkey could not be verified. Try adding it again."}
	// errPasskeysOff answers every passkey route while passkeys are off
	// (BASE_URL on an IP address): there is nothing there.
	errPasskeysOff = models.ErrNotFound
)

// newPasskeys builds the relying party from WEBAUTHN_RP_ID and
// WEBAUTHN_ORIGINS (or BASE_URL); nil while passkeys are off.
func newPasskeys(rpID string, origins []string, ok bool) (*passkey.RP, error) {
	if !ok {
		return nil, nil
	}
	rp, err := passkey.New(rpID, origins, "Gatehouse")
	if err != nil {
		return nil, fmt.Errorf("WEBAUTHN_RP_ID / WEBAUTHN_ORIGINS: %w", err)
	}
	return rp, nil
}

// PasskeysOn reports whether passkeys are on: BASE_URL's host (or
// WEBAUTHN_RP_ID) is a domain name.
func (s *Service) PasskeysOn() bool { return s.passkeys != nil }

// PasskeyOptions are the options a begin answers: {"publicKey": {…}}
// for navigator.credentials.create or get, and, for a login or a
// re-authentication, the flow its finish names.
type PasskeyOptions struct {
	Flow      string          `json:"flow,omitempty"`
	PublicKey json.RawMessage `json:"publicKey"`
}

// passkeyOptions splits the library's {"publicKey": …, "mediation": …}.
func passkeyOptions(flow string, opts passkey.Options) (PasskeyOptions, error) {
	var wrapped struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &wrapped); err != nil {
		return PasskeyOptions{}, fmt.Errorf("passkey options: %w", err)
	}
	return PasskeyOptions{Flow: flow, PublicKey: wrapped.PublicKey}, nil
}

// PasskeyRegistration is the finish of adding a passkey: an optional
// name and the browser's RegistrationResponseJSON.
type PasskeyRegistration struct {
	Name       string          `json:"name" form:"name"`
	Credential json.RawMessage `json:"credential"`
}

// PasskeyAnswer is the finish of a login or a re-authentication: the
// flow its begin gave and the browser's AuthenticationResponseJSON.
type PasskeyAnswer struct {
	Flow       string          `json:"flow" form:"flow"`
	Credential json.RawMessage `json:"credential"`
}

// credentialHash is how a passkey is found by its credential id.
func credentialHash(id []byte) string {
	sum := sha256.Sum256(id)
	return hex.EncodeToString(sum[:])
}

// asCredential is a stored passkey as the ceremonies take it.
func asCredential(p *models.Passkey) passkey.Credential {
	var transports []string
	if p.Transports != "" {
		transports = strings.Split(p.Transports, ",")
	}
	aaguid, _ := hex.DecodeString(strings.ReplaceAll(p.AAGUID, "-", ""))
	return passkey.Credential{ID: p.CredentialID, UserHandle: p.UserHandle, PublicKey: p.PublicKey, SignCount: p.SignCount,
		UserVerified: p.UserVerified, BackupEligible: p.BackupEligible, BackupState: p.BackupState,
		Transports: transports, AAGUID: aaguid, AttestationFormat: p.AttestationFormat}
}

// account is u with its passkeys as WebAuthn sees them: the user handle
// their passkeys share (a new random one for a first passkey: never the
// email or the id), the email as the name an authenticator shows.
func account(u *models.User, keys []models.Passkey) passkey.Account {
	a := passkey.Account{Name: u.Email, DisplayName: u.FullName}
	if a.DisplayName == "" {
		a.DisplayName = u.Email
	}
	for i := range keys {
		a.Credentials = append(a.Credentials, asCredential(&keys[i]))
		if a.Handle == nil {
			a.Handle = keys[i].UserHandle
		}
	}
	return a
}

// beginFlow stores a ceremony's state for lifetime passkey.Lifetime and
// returns the flow id its finish names.
func (s *Service) beginFlow(ctx context.Context, kind, sessionID string, userID uint64, state passkey.State) (string, error) {
	flow := randomID(32)
	now := s.now()
	f := &models.PasskeyFlow{Hash: hashToken(flow), Kind: kind, SessionID: sessionID, UserID: userID,
		State: state, CreatedAt: now, ExpiresAt: now.Add(passkey.Lifetime)}
	if err := s.store.CreatePasskeyFlow(ctx, f); err != nil {
		return "", err
	}
	return flow, nil
}

// live is f when it is of kind and has not expired; nil otherwise. It
// was taken out of the table already: spent either way.
func (s *Service) live(f *models.PasskeyFlow, kind string) *models.PasskeyFlow {
	if f == nil || f.Kind != kind || !s.now().Before(f.ExpiresAt) {
		return nil
	}
	return f
}

// takeFlow takes the flow named by id out of the table (single use: a
// finish that fails spends it too) and returns it when it is of kind and
// live; nil when it is not (unknown, spent, expired, another kind).
func (s *Service) takeFlow(ctx context.Context, id, kind string) (*models.PasskeyFlow, error) {
	if id == "" || len(id) > 64 {
		return nil, nil
	}
	f, err := s.store.ConsumePasskeyFlow(ctx, hashToken(id))
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.live(f, kind), nil
}

// BeginPasskeyRegistration begins adding a passkey to c's account (POST
// /api/me/passkeys/register/begin): a recent authentication is needed
// (contract §7). The ceremony is bound to c's session, and replaces one
// that session began before.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, c *Caller) (PasskeyOptions, error) {
	if s.passkeys == nil {
		return PasskeyOptions{}, errPasskeysOff
	}
	if err := s.RequireRecentAuth(c); err != nil {
		return PasskeyOptions{}, err
	}
	keys, err := s.store.PasskeysOf(ctx, c.User.ID)
	if err != nil {
		return PasskeyOptions{}, err
	}
	a := account(c.User, keys)
	if a.Handle == nil {
		a.Handle = []byte(randomID(32)) // 43 bytes, within WebAuthn's 64
	}
	opts, state, err := s.passkeys.BeginRegistration(a)
	if err != nil {
		return PasskeyOptions{}, err
	}
	if _, err := s.beginFlow(ctx, models.PasskeyRegister, c.Session.PublicID, c.User.ID, state); err != nil {
		return PasskeyOptions{}, err
	}
	return passkeyOptions("", opts)
}

// validatePasskeyName checks a passkey's name (trimmed): at most 64
// characters of one line of text (contract §9). Empty is allowed: the
// passkey is then named for its day.
func validatePasskeyName(name string) string {
	if msg := models.ValidateLine(name); msg != "" {
		return msg
	}
	if utf8.RuneCountInString(name) > models.MaxPasskeyName {
		return fmt.Sprintf("Use at most %d characters.", models.MaxPasskeyName)
	}
	return ""
}

// FinishPasskeyRegistration finishes adding a passkey (POST
// /api/me/passkeys/register/finish): the ceremony c's session began is
// taken (spent whatever happens next), the response verified by
// go-webauthn (origin, RP ID, challenge, type, user verification,
// signature), and the passkey stored. A bad name is refused before the
// ceremony is touched, so the same response can come again with a
// better one.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, c *Caller, in PasskeyRegistration, client Client) (models.PasskeyView, error) {
	if s.passkeys == nil {
		return models.PasskeyView{}, errPasskeysOff
	}
	name := strings.TrimSpace(in.Name)
	if msg := validatePasskeyName(name); msg != "" {
		return models.PasskeyView{}, models.InvalidFields(map[string]string{"name": msg})
	}
	f, err := s.store.ConsumeSessionPasskeyFlow(ctx, models.PasskeyRegister, c.Session.PublicID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return models.PasskeyView{}, err
	}
	if f = s.live(f, models.PasskeyRegister); f == nil || f.UserID != c.User.ID {
		return models.PasskeyView{}, errInvalidRegistration
	}
	keys, err := s.store.PasskeysOf(ctx, c.User.ID)
	if err != nil {
		return models.PasskeyView{}, err
	}
	a := account(c.User, keys)
	a.Handle = nil // the one the ceremony began with
	cred, err := s.passkeys.FinishRegistration(a, f.State, in.Credential)
	if errors.Is(err, passkey.ErrInvalid) {
		s.log.Info("passkey registration refused", "user_id", c.User.ID, "err", err)
		return models.PasskeyView{}, errInvalidRegistration
	}
	if err != nil {
		return models.PasskeyView{}, err
	}
	now := s.now()
	if name == "" {
		name = "Passkey of " + now.UTC().Format("2 Jan 2006")
	}
	p := &models.Passkey{
		PublicID:          randomID(16),
		UserID:            c.User.ID,
		CredentialHash:    credentialHash(cred.ID),
		CredentialID:      cred.ID,
		UserHandle:        cred.UserHandle,
		PublicKey:         cred.PublicKey,
		SignCount:         cred.SignCount,
		UserVerified:      cred.UserVerified,
		BackupEligible:    cred.BackupEligible,
		BackupState:       cred.BackupState,
		Transports:        models.Truncate(strings.Join(cred.Transports, ","), 255),
		AAGUID:            formatAAGUID(cred.AAGUID),
		AttestationFormat: models.Truncate(cred.AttestationFormat, 32),
		Name:              name,
		CreatedAt:         now,
	}
	if err := s.store.CreatePasskey(ctx, p); err != nil {
		return models.PasskeyView{}, err
	}
	s.Record(ctx, c.User.ID, models.EventPasskeyAdded, client, name)
	return p.View(), nil
}

// formatAAGUID writes an authenticator model's id as a UUID ("" if it
// is not 16 bytes).
func formatAAGUID(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Passkeys lists userID's passkeys as the contract shows them, oldest
// first.
func (s *Service) Passkeys(ctx context.Context, userID uint64) ([]models.PasskeyView, error) {
	if s.passkeys == nil {
		return nil, errPasskeysOff
	}
	keys, err := s.store.PasskeysOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]models.PasskeyView, 0, len(keys))
	for i := range keys {
		out = append(out, keys[i].View())
	}
	return out, nil
}

// RemovePasskey removes c's passkey publicID (POST
// /api/me/passkeys/{id}/remove), after a recent authentication. It
// refuses (409 last_login_method) when it is the last way left to log in:
// no password, no other passkey, no account at a provider that is on.
// Not c's, or none: 404.
func (s *Service) RemovePasskey(ctx context.Context, c *Caller, publicID string, client Client) error {
	if s.passkeys == nil {
		return errPasskeysOff
	}
	if err := s.RequireRecentAuth(c); err != nil {
		return err
	}
	gone, err := s.store.DeletePasskey(ctx, c.User.ID, publicID, func(u *models.User, keys []models.Passkey) error {
		if len(keys) > 1 || u.PasswordHash != "" || s.hasEnabledProvider(u) {
			return nil
		}
		return ErrLastLoginMethod
	})
	if err != nil {
		return err
	}
	s.Record(ctx, c.User.ID, models.EventPasskeyRemoved, client, gone.Name)
	return nil
}

// hasEnabledProvider reports whether u has an account at a provider that
// is switched on: a way to log in.
func (s *Service) hasEnabledProvider(u *models.User) bool {
	for _, p := range strings.Split(u.LinkedProviders, ",") {
		if p != "" && p != models.PasskeyProvider && s.providers.Enabled(p) {
			return true
		}
	}
	return false
}

// hasPasskeyLogin reports whether u can log in with a passkey: it has
// one, and passkeys are on.
func (s *Service) hasPasskeyLogin(u *models.User) bool {
	if s.passkeys == nil {
		return false
	}
	for _, p := range strings.Split(u.LinkedProviders, ",") {
		if p == models.PasskeyProvider {
			return true
		}
	}
	return false
}

// BeginPasskeyLogin begins a discoverable login (POST
// /api/passkeys/login/begin): no email, the authenticator says whose
// passkey answers. A client over the per-IP failed-login limit is
// refused here already (429): it could not finish anyway, and each begin
// is a row.
func (s *Service) BeginPasskeyLogin(ctx context.Context, client Client) (PasskeyOptions, error) {
	if s.passkeys == nil {
		return PasskeyOptions{}, errPasskeysOff
	}
	// overLimit counts the request's own attempt among the rows; a begin
	// adds none, so it is refused one row sooner: when its finish would be.
	l := s.passkeyLimit(client)
	l.max--
	if err := s.overLimit(ctx, l, s.now()); err != nil {
		return PasskeyOptions{}, err
	}
	opts, state, err := s.passkeys.BeginLogin(nil)
	if err != nil {
		return PasskeyOptions{}, err
	}
	flow, err := s.beginFlow(ctx, models.PasskeyLogin, "", 0, state)
	if err != nil {
		return PasskeyOptions{}, err
	}
	return passkeyOptions(flow, opts)
}

// passkeyLimit is the count a failed passkey answer joins: the client
// IP's failed logins (contract §11), shared with passwords.
func (s *Service) passkeyLimit(client Client) limit {
	return limit{ipKey(client.IP), s.cfg.LoginMaxFailuresPerIP, s.cfg.LoginFailureWindow}
}

// verifiedPasskey is a passkey answer that verified: its user and the
// stored passkey it was.
type verifiedPasskey struct {
	user    *models.User
	passkey *models.Passkey
}

// verifyPasskey checks an answer against flow f (nil: spent or unknown)
// with go-webauthn, and then the signature counter: a counter that did
// not move forward (either non-zero) refuses the answer and is logged as
// passkey_clone_suspected. Every refusal is ErrInvalidPasskey; a
// database failure is returned as it is. The counter, backup state and
// last use are written only for an answer that is accepted. owner, when
// not 0, is the only user whose passkey is accepted (a
// re-authentication).
func (s *Service) verifyPasskey(ctx context.Context, f *models.PasskeyFlow, answer json.RawMessage, owner uint64, client Client) (*verifiedPasskey, error) {
	if f == nil || len(answer) == 0 {
		return nil, ErrInvalidPasskey
	}
	var found verifiedPasskey
	login, err := s.passkeys.FinishLogin(f.State, answer, func(credentialID, userHandle []byte) (*passkey.Account, error) {
		p, err := s.store.PasskeyByCredential(ctx, credentialHash(credentialID))
		if errors.Is(err, models.ErrNotFound) {
			return nil, nil // unknown, or removed
		}
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p.UserHandle, userHandle) {
			return nil, nil
		}
		u, err := s.store.UserByID(ctx, p.UserID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		keys, err := s.store.PasskeysOf(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		found = verifiedPasskey{user: u, passkey: p}
		a := account(u, keys)
		a.Handle = p.UserHandle
		return &a, nil
	})
	if errors.Is(err, passkey.ErrInvalid) {
		s.log.Info("passkey answer refused", "err", err)
		if found.user != nil {
			s.Record(ctx, found.user.ID, models.EventLoginFailed, client, "passkey not accepted")
		}
		return nil, ErrInvalidPasskey
	}
	if err != nil {
		return nil, err
	}
	if owner != 0 && found.user.ID != owner {
		return nil, ErrInvalidPasskey // another user's passkey
	}
	if !login.CloneWarning {
		ok, err := s.store.UsePasskey(ctx, found.passkey.ID, login.Credential.SignCount, login.Credential.BackupState, s.now())
		if err != nil {
			return nil, err
		}
		login.CloneWarning = !ok // another answer moved the counter meanwhile
	}
	if login.CloneWarning {
		s.log.Warn("passkey refused: signature counter did not advance", "user_id", found.user.ID,
			"stored", found.passkey.SignCount, "got", login.Credential.SignCount)
		s.Record(ctx, found.user.ID, models.EventPasskeyCloneSuspected, client, found.passkey.Name)
		return nil, ErrInvalidPasskey
	}
	return &found, nil
}

// PasskeyLogin finishes a login with a passkey (POST
// /api/passkeys/login/finish) and opens a session, as a password login
// does, with all of the user's scopes. The answer is counted as a failed
// login of the client IP before it is checked (countAttempt), so a
// throttled client gets 429 even with a good passkey; an accepted one is
// forgotten again. A passkey is two factors in one (something held,
// unlocked by something known or a body part: user verification is
// required), so no TOTP is asked. A disabled user is refused (403) only
// once the passkey verified. Counted in the metrics as method "passkey".
func (s *Service) PasskeyLogin(ctx context.Context, in PasskeyAnswer, client Client, replacing *Caller) (*Caller, error) {
	c, err := s.passkeyLogin(ctx, in, client, replacing)
	if !errors.Is(err, errPasskeysOff) {
		s.metrics.Login("passkey", loginResult(err))
	}
	return c, err
}

func (s *Service) passkeyLogin(ctx context.Context, in PasskeyAnswer, client Client, replacing *Caller) (*Caller, error) {
	if s.passkeys == nil {
		return nil, errPasskeysOff
	}
	ids, err := s.countAttempt(ctx, s.passkeyLimit(client))
	if err != nil {
		return nil, err
	}
	forget := func(err error) error {
		return errors.Join(err, s.store.ForgetFailures(context.WithoutCancel(ctx), ids))
	}
	f, err := s.takeFlow(ctx, in.Flow, models.PasskeyLogin)
	if err != nil {
		return nil, forget(err)
	}
	v, err := s.verifyPasskey(ctx, f, in.Credential, 0, client)
	switch {
	case errors.Is(err, ErrInvalidPasskey):
		return nil, err // counted
	case err != nil:
		return nil, forget(err)
	}
	if err := mayLogIn(v.user); err != nil {
		s.Record(ctx, v.user.ID, models.EventLoginFailed, client, "account disabled")
		return nil, forget(err)
	}
	if err := forget(nil); err != nil {
		return nil, err
	}
	c, err := s.startSession(ctx, v.user, normalize(v.user.ScopeList()), client, replacing, amrOf("passkey"))
	if err != nil {
		return nil, err
	}
	s.recordLogin(ctx, v.user, client, "passkey")
	return c, nil
}

// BeginPasskeyReauth begins a re-authentication with a passkey (POST
// /api/me/reauth/passkey/begin): allowCredentials names c's passkeys, and
// the ceremony is bound to c's session (a newer begin replaces it).
func (s *Service) BeginPasskeyReauth(ctx context.Context, c *Caller) (PasskeyOptions, error) {
	if s.passkeys == nil {
		return PasskeyOptions{}, errPasskeysOff
	}
	keys, err := s.store.PasskeysOf(ctx, c.User.ID)
	if err != nil {
		return PasskeyOptions{}, err
	}
	opts, state, err := s.passkeys.BeginLogin(account(c.User, keys).Credentials)
	if err != nil {
		return PasskeyOptions{}, err
	}
	flow, err := s.beginFlow(ctx, models.PasskeyReauth, c.Session.PublicID, c.User.ID, state)
	if err != nil {
		return PasskeyOptions{}, err
	}
	return passkeyOptions(flow, opts)
}

// PasskeyReauth finishes a re-authentication with a passkey (POST
// /api/me/reauth/passkey/finish): the flow must be one c's session
// began, the passkey one of c's, and it must verify (counted by the
// per-IP throttle like a login's). Then the session's auth_time is now.
func (s *Service) PasskeyReauth(ctx context.Context, c *Caller, in PasskeyAnswer, client Client) error {
	if s.passkeys == nil {
		return errPasskeysOff
	}
	ids, err := s.countAttempt(ctx, s.passkeyLimit(client))
	if err != nil {
		return err
	}
	forget := func(err error) error {
		return errors.Join(err, s.store.ForgetFailures(context.WithoutCancel(ctx), ids))
	}
	f, err := s.takeFlow(ctx, in.Flow, models.PasskeyReauth)
	if err != nil {
		return forget(err)
	}
	if f != nil && (f.SessionID != c.Session.PublicID || f.UserID != c.User.ID) {
		f = nil
	}
	_, err = s.verifyPasskey(ctx, f, in.Credential, c.User.ID, client)
	switch {
	case errors.Is(err, ErrInvalidPasskey):
		return err
	case err != nil:
		return forget(err)
	}
	if err := forget(nil); err != nil {
		return err
	}
	now := s.now()
	if err := s.store.SetAuthTime(ctx, c.Session.PublicID, now); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return ErrSessionEnded
		}
		return err
	}
	c.Session.AuthTime.Time, c.Session.AuthTime.Valid = now, true
	return nil
}
