// Package passkey runs the WebAuthn ceremonies of Gatehouse's passkeys
// (contract §11) on github.com/go-webauthn/webauthn: it makes the options
// a browser's navigator.credentials.create/get takes (the JSON forms of
// WebAuthn Level 3, binary fields base64url without padding) and verifies
// what comes back. Every byte of CBOR, COSE and signature checking is the
// library's. It knows nothing of users, sessions or storage: its caller
// (package auth) keeps a ceremony's state and the credentials, and
// decides what a verified or refused response is worth. It must not
// import auth or models.
package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Lifetime is how long a ceremony may take: the options' timeout, which
// the caller's stored state should match.
const Lifetime = 5 * time.Minute

// ErrInvalid is a response that does not verify, for whatever reason:
// unreadable, another origin or RP ID, another challenge, no user
// verification, a bad signature, an unknown credential. The reason is
// wrapped for the log, never for a client.
var ErrInvalid = errors.New("passkey response not accepted")

// RP is the relying party: one RP ID and the origins it accepts.
type RP struct {
	lib  *webauthn.WebAuthn
	rpID string
}

// New builds the relying party. rpID is a domain name (the library
// refuses an IP address); origins are the origins clientDataJSON may
// name.
func New(rpID string, origins []string, displayName string) (*RP, error) {
	lib, err := webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: displayName,
		RPOrigins:     origins,
		// None asked: "none" attestation keeps the authenticator's make
		// and model private and needs no trust store (contract §11).
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: Lifetime, TimeoutUVD: Lifetime},
			Registration: webauthn.TimeoutConfig{Timeout: Lifetime, TimeoutUVD: Lifetime},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return &RP{lib: lib, rpID: rpID}, nil
}

// ID is the RP ID.
func (rp *RP) ID() string { return rp.rpID }

// Credential is a stored passkey as the ceremonies need it.
type Credential struct {
	ID                []byte
	UserHandle        []byte // the account's handle the authenticator keeps with it
	PublicKey         []byte // COSE_Key, as the authenticator gave it
	SignCount         uint32
	UserVerified      bool
	BackupEligible    bool
	BackupState       bool
	Transports        []string
	AAGUID            []byte
	AttestationFormat string
}

// Account is a user as WebAuthn sees them: an opaque handle (never the
// email), names for the authenticator's account picker, and the
// credentials registered.
type Account struct {
	Handle      []byte
	Name        string
	DisplayName string
	Credentials []Credential
}

// State is what a ceremony's begin leaves for its finish: opaque, kept
// on the server.
type State []byte

// Options are the options for the browser: {"publicKey": {…}}.
type Options = json.RawMessage

// algorithms are the public-key algorithms offered, in order of
// preference (contract §11).
var algorithms = []protocol.CredentialParameter{
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
}

// BeginRegistration makes the creation options for a new passkey of a:
// a discoverable credential (residentKey required), user verification
// required, no attestation, the account's passkeys excluded. No
// authenticatorAttachment and no hints: the browser offers every kind —
// this device, a phone, a security key — and the person picks.
func (rp *RP) BeginRegistration(a Account) (Options, State, error) {
	required := true
	creation, session, err := rp.lib.BeginRegistration(user{a},
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: &required,
			UserVerification:   protocol.VerificationRequired,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithCredentialParameters(algorithms),
		webauthn.WithExclusions(user{a}.credentials().CredentialDescriptors()),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("begin registration: %w", err)
	}
	return encode(creation, session)
}

// FinishRegistration verifies a registration response (a
// RegistrationResponseJSON) against the state its begin left, for a. An
// a without a Handle takes the one its begin sent.
func (rp *RP) FinishRegistration(a Account, state State, response []byte) (c Credential, err error) {
	defer refusePanic(&err)
	session, err := decodeState(state)
	if err != nil {
		return Credential{}, err
	}
	if a.Handle == nil {
		a.Handle = session.UserID
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return Credential{}, invalid(err)
	}
	cred, err := rp.lib.CreateCredential(user{a}, session, parsed)
	if err != nil {
		return Credential{}, invalid(err)
	}
	c = fromLibrary(cred)
	c.UserHandle = a.Handle
	return c, nil
}

// BeginLogin makes the request options of a login: user verification
// required, and allowCredentials empty — a discoverable login, where the
// authenticator says whose passkey it is — unless allow names the
// passkeys that may answer (a re-authentication).
func (rp *RP) BeginLogin(allow []Credential) (Options, State, error) {
	opts := []webauthn.LoginOption{webauthn.WithUserVerification(protocol.VerificationRequired)}
	if len(allow) > 0 {
		opts = append(opts, webauthn.WithAllowedCredentials(user{Account{Credentials: allow}}.credentials().CredentialDescriptors()))
	}
	assertion, session, err := rp.lib.BeginDiscoverableLogin(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("begin login: %w", err)
	}
	return encode(assertion, session)
}

// Finder finds the account a login's credential belongs to, by the
// credential's id and the user handle the authenticator returned; a nil
// account (and nil error) is an unknown credential. An error is a failure
// to look (a database down), which FinishLogin returns as it is.
type Finder func(credentialID, userHandle []byte) (*Account, error)

// Login is a verified login: the account, the credential as it is now
// (its new signature counter and backup state), and whether the counter
// says the authenticator may have been cloned — a counter not above the
// stored one when either is not zero. The signature verified; a clone
// warning is the caller's to refuse.
type Login struct {
	Account      *Account
	Credential   Credential
	CloneWarning bool
}

// FinishLogin verifies a login response (an AuthenticationResponseJSON)
// against the state its begin left.
func (rp *RP) FinishLogin(state State, response []byte, find Finder) (l Login, err error) {
	defer refusePanic(&err)
	session, err := decodeState(state)
	if err != nil {
		return Login{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Login{}, invalid(err)
	}
	var lookupErr error
	var found *Account
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		a, err := find(rawID, userHandle)
		switch {
		case err != nil:
			lookupErr = err
			return nil, err
		case a == nil:
			return nil, errors.New("unknown credential")
		}
		found = a
		return user{*a}, nil
	}
	_, cred, err := rp.lib.ValidatePasskeyLogin(handler, session, parsed)
	if lookupErr != nil {
		return Login{}, lookupErr
	}
	if err != nil {
		return Login{}, invalid(err)
	}
	c := fromLibrary(cred)
	c.UserHandle = found.Handle
	return Login{Account: found, Credential: c, CloneWarning: cred.Authenticator.CloneWarning}, nil
}

// encode turns a begin's options and state into what is sent and kept.
// The library's own expiry is left unset: the caller judges a ceremony's
// age by its own clock.
func encode(options any, session *webauthn.SessionData) (Options, State, error) {
	session.Expires = time.Time{}
	out, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("encode options: %w", err)
	}
	state, err := json.Marshal(session)
	if err != nil {
		return nil, nil, fmt.Errorf("encode state: %w", err)
	}
	return out, state, nil
}

func decodeState(state State) (webauthn.SessionData, error) {
	var session webauthn.SessionData
	if err := json.Unmarshal(state, &session); err != nil {
		return session, fmt.Errorf("decode passkey state: %w", err)
	}
	session.Expires = time.Time{}
	return session, nil
}

// invalid wraps a refusal of the library as ErrInvalid, keeping its
// words (and its developer information) for the log.
func invalid(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w: %v (%s)", ErrInvalid, err, pe.DevInfo)
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
}

// refusePanic turns a panic while reading a client's response into
// ErrInvalid: whatever a client sends, it gets an answer, not a 500.
func refusePanic(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: the response could not be read (%v)", ErrInvalid, r)
	}
}

// user is an Account as the library's User.
type user struct{ a Account }

func (u user) WebAuthnID() []byte          { return u.a.Handle }
func (u user) WebAuthnName() string        { return u.a.Name }
func (u user) WebAuthnDisplayName() string { return u.a.DisplayName }
func (u user) WebAuthnCredentials() []webauthn.Credential {
	return u.credentials()
}

func (u user) credentials() webauthn.Credentials {
	out := make(webauthn.Credentials, 0, len(u.a.Credentials))
	for _, c := range u.a.Credentials {
		out = append(out, toLibrary(c))
	}
	return out
}

func toLibrary(c Credential) webauthn.Credential {
	var flags protocol.AuthenticatorFlags = protocol.FlagUserPresent
	if c.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, 0, len(c.Transports))
	for _, t := range c.Transports {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID:                bytes.Clone(c.ID),
		PublicKey:         c.PublicKey,
		AttestationFormat: c.AttestationFormat,
		Transport:         transports,
		Flags:             webauthn.NewCredentialFlags(flags),
		Authenticator:     webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount},
	}
}

func fromLibrary(c *webauthn.Credential) Credential {
	transports := make([]string, 0, len(c.Transport))
	for _, t := range c.Transport {
		transports = append(transports, string(t))
	}
	return Credential{
		ID:                c.ID,
		PublicKey:         c.PublicKey,
		SignCount:         c.Authenticator.SignCount,
		UserVerified:      c.Flags.UserVerified,
		BackupEligible:    c.Flags.BackupEligible,
		BackupState:       c.Flags.BackupState,
		Transports:        transports,
		AAGUID:            c.Authenticator.AAGUID,
		AttestationFormat: c.AttestationFormat,
	}
}
