package auth

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// FuzzAuthenticate feeds arbitrary Authorization headers and session
// cookies to Authenticate: whatever arrives, the answer is "nobody"
// (no credentials), an invalid token or an ended session — never a
// caller, another error or a panic. The seeds include a real token and a
// real cookie, and near misses of both.
func FuzzAuthenticate(f *testing.F) {
	fx := newFixture(f)
	fx.createUser(f, "ada@example.com")
	c := fx.login(f, "ada@example.com")
	tok, err := fx.svc.IssueToken(context.Background(), c)
	if err != nil {
		f.Fatal(err)
	}
	good := fx.cookieFor(f, c).Value
	for _, s := range []struct{ authorization, cookie string }{
		{"", ""},
		{"Bearer " + tok.AccessToken[:len(tok.AccessToken)-1] + "A", ""},
		{"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", ""},
		{"bearer", ""},
		{"Basic Og==", ""},
		{"Bearer a.b.c", good[:len(good)-2]},
		{"", good + "x"},
		{"", "garbage"},
		{"Bearer " + tok.AccessToken + " extra", ""},
	} {
		f.Add(s.authorization, s.cookie)
	}
	name := fx.svc.CookieName()
	f.Fuzz(func(t *testing.T, authorization, cookie string) {
		if authorization == "Bearer "+tok.AccessToken || cookie == good {
			return // the real credentials are not the point
		}
		r := request(nil, "")
		r.Header["Authorization"] = []string{authorization}
		if cookie != "" {
			r.Header["Cookie"] = []string{(&http.Cookie{Name: name, Value: sanitizeCookie(cookie)}).String()}
		}
		got, err := fx.svc.Authenticate(r)
		if got != nil {
			t.Fatalf("Authenticate(%q, %q) found a caller without the real credentials", authorization, cookie)
		}
		switch {
		case err == nil, errors.Is(err, ErrInvalidToken), errors.Is(err, ErrSessionEnded):
		default:
			t.Fatalf("Authenticate(%q, %q): error %v", authorization, cookie, err)
		}
	})
}

// sanitizeCookie drops the bytes net/http would refuse in a cookie value
// (it would drop the cookie whole), so the fuzzer explores the values a
// client can really send.
func sanitizeCookie(v string) string {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if c := v[i]; c > 0x20 && c < 0x7f && c != '"' && c != ';' && c != '\\' && c != ',' {
			b = append(b, c)
		}
	}
	return string(b)
}
