package passkey

import (
	"encoding/json"
	"errors"
	"testing"
)

func newRP(t testing.TB) *RP {
	t.Helper()
	rp, err := New("localhost", []string{"http://localhost:8000"}, "Gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// TestNewRefusesAnIP: WebAuthn binds passkeys to a domain name; the
// library refuses an IP address as the RP ID (config turns passkeys off
// before it gets here).
func TestNewRefusesAnIP(t *testing.T) {
	if _, err := New("127.0.0.1", []string{"http://127.0.0.1:8000"}, "Gatehouse"); err == nil {
		t.Error("New accepted an IP address as the RP ID")
	}
}

// TestOptions: the options are WebAuthn Level 3 JSON under "publicKey",
// and the state a begin leaves carries no expiry of the library's own
// (the caller's clock decides).
func TestOptions(t *testing.T) {
	rp := newRP(t)
	opts, state, err := rp.BeginRegistration(Account{Handle: []byte("handle"), Name: "ada@example.com", DisplayName: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		PublicKey struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &got); err != nil {
		t.Fatal(err)
	}
	if got.PublicKey.User.ID != "aGFuZGxl" || len(got.PublicKey.Challenge) < 22 {
		t.Errorf("user.id %q (want base64url of the handle), challenge %q", got.PublicKey.User.ID, got.PublicKey.Challenge)
	}
	var session map[string]any
	if err := json.Unmarshal(state, &session); err != nil {
		t.Fatal(err)
	}
	if exp, _ := session["expires"].(string); exp != "0001-01-01T00:00:00Z" {
		t.Errorf("state expires %q, want none", exp)
	}
}

// FuzzFinish: whatever a client sends as its answer, a finish refuses it
// with ErrInvalid — never a panic, never another error.
func FuzzFinish(f *testing.F) {
	for _, seed := range []string{``, `null`, `{}`, `"x"`, `[]`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":"","userHandle":"AA"}}`,
		`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0","authenticatorData":"SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ","signature":"MEUCIQ","userHandle":"aGFuZGxl"}}`} {
		f.Add([]byte(seed))
	}
	rp := newRP(f)
	_, regState, err := rp.BeginRegistration(Account{Handle: []byte("handle"), Name: "ada@example.com"})
	if err != nil {
		f.Fatal(err)
	}
	_, loginState, err := rp.BeginLogin(nil)
	if err != nil {
		f.Fatal(err)
	}
	known := &Account{Handle: []byte("handle"), Credentials: []Credential{{ID: []byte{0, 0, 0}, PublicKey: []byte{0xa0}}}}
	f.Fuzz(func(t *testing.T, answer []byte) {
		if _, err := rp.FinishRegistration(Account{Name: "ada@example.com"}, regState, answer); !errors.Is(err, ErrInvalid) {
			t.Errorf("registration: %v, want ErrInvalid", err)
		}
		_, err := rp.FinishLogin(loginState, answer, func(_, _ []byte) (*Account, error) { return known, nil })
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("login: %v, want ErrInvalid", err)
		}
	})
}
