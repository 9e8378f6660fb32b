package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"gatehouse/config"
)

// withPasskeys turns passkeys on for an app: BASE_URL names the host
// localhost (same port) instead of 127.0.0.1, so the RP ID is
// "localhost" and the origin http://localhost:PORT, as the README's
// commands set them.
var withPasskeys option = func(c *config.Config) {
	c.BaseURL = &url.URL{Scheme: "http", Host: "localhost:" + c.BaseURL.Port()}
}

// authenticator is a software passkey authenticator for API tests:
// go-webauthn has none, and the refusals need answers a browser would
// never make (another origin, no user verification, a counter going
// backwards). It holds one discoverable ES256 credential and answers the
// options of Gatehouse's begin routes with the JSON a browser's toJSON()
// gives. It is test code: the server verifies everything with
// go-webauthn.
type authenticator struct {
	t       *testing.T
	key     *ecdsa.PrivateKey
	id      []byte
	handle  []byte // the user.id it was registered with
	counter uint32
	// What the next answer says, changed by tests to make bad answers.
	origin   string // clientDataJSON's origin
	rpID     string // the RP whose hash starts authenticatorData
	noUV     bool   // the user-verified flag off
	typ      string // clientDataJSON's type; "" for the right one
	sameSign bool   // the next assertion repeats the counter instead of moving it on
}

// newAuthenticator makes an authenticator for app's origin and RP ID.
func newAuthenticator(t *testing.T, a *app) *authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &authenticator{t: t, key: key, id: id, counter: 1,
		origin: a.cfg.BaseURL.Scheme + "://" + a.cfg.BaseURL.Host, rpID: a.cfg.BaseURL.Hostname()}
}

var b64 = base64.RawURLEncoding

// creationOptions is what a test reads of the creation options.
type creationOptions struct {
	PublicKey struct {
		RP        struct{ ID, Name string } `json:"rp"`
		User      struct{ ID, Name, DisplayName string }
		Challenge string `json:"challenge"`
		Params    []struct {
			Type string `json:"type"`
			Alg  int    `json:"alg"`
		} `json:"pubKeyCredParams"`
		Timeout  int `json:"timeout"`
		Excluded []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"excludeCredentials"`
		Selection struct {
			Attachment         string `json:"authenticatorAttachment"`
			ResidentKey        string `json:"residentKey"`
			RequireResidentKey bool   `json:"requireResidentKey"`
			UserVerification   string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Attestation string `json:"attestation"`
	} `json:"publicKey"`
}

// requestOptions is what a test reads of a login's request options.
type requestOptions struct {
	Flow      string `json:"flow"`
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		Allow     []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"allowCredentials"`
		UserVerification string `json:"userVerification"`
	} `json:"publicKey"`
}

func (au *authenticator) clientData(typ, challenge string) []byte {
	if au.typ != "" {
		typ = au.typ
	}
	data, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": au.origin, "crossOrigin": false})
	if err != nil {
		au.t.Fatal(err)
	}
	return data
}

// authData is authenticatorData: the RP ID's hash, the flags, the
// counter, and (at registration) the attested credential.
func (au *authenticator) authData(attested []byte) []byte {
	rp := sha256.Sum256([]byte(au.rpID))
	flags := byte(0x01) // UP
	if !au.noUV {
		flags |= 0x04 // UV
	}
	if attested != nil {
		flags |= 0x40 // AT
	}
	out := append([]byte{}, rp[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, au.counter)
	return append(out, attested...)
}

// register answers creation options: an attestationObject of format
// "none" with the credential's COSE key.
func (au *authenticator) register(opts creationOptions) map[string]any {
	au.t.Helper()
	handle, err := b64.DecodeString(opts.PublicKey.User.ID)
	if err != nil {
		au.t.Fatalf("user.id %q is not base64url without padding: %v", opts.PublicKey.User.ID, err)
	}
	au.handle = handle
	point, err := au.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		au.t.Fatal(err)
	}
	x, y := point[1:33], point[33:]
	coseKey, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		au.t.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID: zero, as "none" attestation gives
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(au.id)))
	attested = append(attested, au.id...)
	attested = append(attested, coseKey...)
	attestation, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": au.authData(attested)})
	if err != nil {
		au.t.Fatal(err)
	}
	return map[string]any{
		"id": b64.EncodeToString(au.id), "rawId": b64.EncodeToString(au.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(au.clientData("webauthn.create", opts.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(attestation),
			"transports":        []string{"internal"},
		},
	}
}

// assert answers request options: a signature over authenticatorData
// and the hash of clientDataJSON, with the counter moved on (unless
// sameSign).
func (au *authenticator) assert(challenge string) map[string]any {
	au.t.Helper()
	if !au.sameSign {
		au.counter++
	}
	au.sameSign = false
	clientData := au.clientData("webauthn.get", challenge)
	authData := au.authData(nil)
	hash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, authData...), hash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, au.key, digest[:])
	if err != nil {
		au.t.Fatal(err)
	}
	return map[string]any{
		"id": b64.EncodeToString(au.id), "rawId": b64.EncodeToString(au.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(au.handle),
		},
	}
}

// beginRegistration calls the begin route and reads its options.
func (c *client) beginRegistration(headers ...header) creationOptions {
	c.t.Helper()
	var opts creationOptions
	c.post("/api/me/passkeys/register/begin", nil, headers...).wantStatus(c.t, http.StatusOK).decode(c.t, &opts)
	return opts
}

// addPasskey registers au on the client's account, named name; the
// answer is returned as it came.
func (c *client) addPasskey(au *authenticator, name string, headers ...header) *response {
	c.t.Helper()
	opts := c.beginRegistration(headers...)
	return c.post("/api/me/passkeys/register/finish", map[string]any{"name": name, "credential": au.register(opts)}, headers...)
}

// beginPasskeyLogin calls the login's begin route.
func (c *client) beginPasskeyLogin() requestOptions {
	c.t.Helper()
	var opts requestOptions
	c.post("/api/passkeys/login/begin", nil).wantStatus(c.t, http.StatusOK).decode(c.t, &opts)
	return opts
}

// passkeyLogin logs in with au: begin, answer, finish.
func (c *client) passkeyLogin(au *authenticator) *response {
	c.t.Helper()
	opts := c.beginPasskeyLogin()
	return c.post("/api/passkeys/login/finish", map[string]any{"flow": opts.Flow, "credential": au.assert(opts.PublicKey.Challenge)})
}
