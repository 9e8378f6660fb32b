package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"gatehouse/models"
)

// wantRowGone fails the test unless the session row has been deleted.
func (f *fixture) wantRowGone(t *testing.T, publicID string) {
	t.Helper()
	if _, _, _, err := f.store.SessionByPublicID(context.Background(), publicID, ""); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("session row: got %v, want it deleted (%v)", err, models.ErrNotFound)
	}
}

// TestSessionTimeouts moves the clock through the idle and absolute
// limits; each step authenticates with the session's cookie.
func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	type step struct {
		advance   time.Duration
		wantEnded bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"a second before the idle timeout", []step{{30*time.Minute - time.Second, false}}},
		{"idle for the whole timeout", []step{{30 * time.Minute, true}}},
		{"activity within the idle window keeps it alive", []step{{20 * time.Minute, false}, {20 * time.Minute, false}, {19 * time.Minute, false}}},
		{"idle after some activity", []step{{20 * time.Minute, false}, {30 * time.Minute, true}}},
		{"an active session ends at its maximum age", []step{{25 * time.Minute, false}, {25 * time.Minute, false}, {9*time.Minute + 59*time.Second, false}, {time.Second, true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, "SESSION_IDLE_TIMEOUT=30m", "SESSION_MAX_AGE=1h")
			f.createUser(t, "ada@example.com")
			c := f.login(t, "ada@example.com")
			cookie := f.cookieFor(t, c)
			for i, s := range tc.steps {
				f.clock.Advance(s.advance)
				got, err := f.svc.Authenticate(request(cookie, ""))
				if s.wantEnded {
					wantError(t, err, ErrSessionEnded)
					f.wantRowGone(t, c.Session.PublicID)
					return
				}
				if err != nil || got == nil || got.Session.PublicID != c.Session.PublicID {
					t.Fatalf("step %d: got %+v, %v; want the session", i+1, got, err)
				}
			}
		})
	}
}

// TestSessionTouch checks activity is written at most once a minute.
func TestSessionTouch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	c := f.login(t, "ada@example.com")
	cookie := f.cookieFor(t, c)
	start := f.clock.Now()
	lastSeen := func() time.Time {
		t.Helper()
		row, _, _, err := f.store.SessionByPublicID(context.Background(), c.Session.PublicID, "")
		if err != nil {
			t.Fatal(err)
		}
		return row.LastSeenAt
	}
	f.clock.Advance(30 * time.Second)
	if _, err := f.svc.Authenticate(request(cookie, "")); err != nil {
		t.Fatal(err)
	}
	if got := lastSeen(); !got.Equal(start) {
		t.Errorf("last seen after 30 s: got %v, want %v (unchanged)", got, start)
	}
	f.clock.Advance(31 * time.Second)
	if _, err := f.svc.Authenticate(request(cookie, "")); err != nil {
		t.Fatal(err)
	}
	if got, want := lastSeen(), f.clock.Now(); !got.Equal(want) {
		t.Errorf("last seen after 61 s: got %v, want %v", got, want)
	}
}

// TestSessionTouchShortIdle checks that activity is recorded at least
// every quarter of SESSION_IDLE_TIMEOUT (contract §9): with a 4 s timeout,
// a session used every 1.5 s never idles out, by cookie or by token, and
// one left alone for 4 s does.
func TestSessionTouchShortIdle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "SESSION_IDLE_TIMEOUT=4s")
	f.createUser(t, "ada@example.com")
	c := f.login(t, "ada@example.com")
	cookie := f.cookieFor(t, c)
	tok, err := f.svc.IssueToken(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 { // 12 s in all: three idle timeouts
		f.clock.Advance(1500 * time.Millisecond)
		r := request(cookie, "")
		if i%2 == 1 {
			r = request(nil, "Bearer "+tok.AccessToken)
		}
		if _, err := f.svc.Authenticate(r); err != nil {
			t.Fatalf("request %d, %v after the login: got %v, want the session alive", i+1, time.Duration(i+1)*1500*time.Millisecond, err)
		}
	}
	f.clock.Advance(4 * time.Second)
	_, err = f.svc.Authenticate(request(cookie, ""))
	wantError(t, err, ErrSessionEnded)
}

// TestSessionCookieForgeries checks that a cookie that does not verify is
// an ended session (the page says so and the cookie is cleared).
func TestSessionCookieForgeries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	c := f.login(t, "ada@example.com")
	name := f.svc.sessions.CookieName()
	encode := func(secret, cookieName, value string) string {
		t.Helper()
		v, err := securecookie.New([]byte(secret), nil).Encode(cookieName, value)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	good := f.cookieFor(t, c).Value
	cases := []struct{ name, value string }{
		{"garbage", "garbage"},
		{"the raw token without a signature", c.token},
		{"signed with another SESSION_SECRET", encode(strings.Repeat("x", 32), name, c.token)},
		{"signed with our secret for another cookie name", encode(string(f.cfg.SessionSecret), "other", c.token)},
		{"the row's hash signed with our secret", encode(string(f.cfg.SessionSecret), name, c.Session.TokenHash)},
		{"the public id signed with our secret", encode(string(f.cfg.SessionSecret), name, c.Session.PublicID)},
		{"a random token signed with our secret", encode(string(f.cfg.SessionSecret), name, randomID(32))},
		{"a good cookie with one character changed", flip(good, len(good)/2)},
		{"a good cookie cut short", good[:len(good)/2]},
		{"empty", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.svc.Authenticate(request(&http.Cookie{Name: name, Value: tc.value}, ""))
			wantError(t, err, ErrSessionEnded)
			if got != nil {
				t.Errorf("caller: got %+v, want nil", got)
			}
		})
	}
	if _, err := f.svc.Authenticate(request(&http.Cookie{Name: name, Value: good}, "")); err != nil {
		t.Errorf("the good cookie: got %v, want a session", err)
	}
}

// flip changes the character at i to another one.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestSessionDatabaseDown checks that a database failure while reading a
// session is 503, never taken for a log-out.
func TestSessionDatabaseDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	c := f.login(t, "ada@example.com")
	cookie := f.cookieFor(t, c)
	tok, err := f.svc.IssueToken(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*http.Request{
		"by cookie": request(cookie, ""),
		"by token":  request(nil, "Bearer "+tok.AccessToken),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.svc.Authenticate(r)
			if errors.Is(err, ErrSessionEnded) || errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error: got %v, want the database failure, not a log-out", err)
			}
			e, ok := models.AsError(err)
			if !ok || e.Kind != models.Unavailable {
				t.Errorf("error: got %v, want kind Unavailable (503)", err)
			}
		})
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		baseURL    string
		wantName   string
		wantSecure bool
	}{
		{"http://127.0.0.1:8000", "session", false},
		{"https://gate.example", "__Host-session", true},
	}
	for _, tc := range cases {
		t.Run(tc.baseURL, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, "BASE_URL="+tc.baseURL, "SESSION_MAX_AGE=2h")
			f.createUser(t, "ada@example.com")
			c := f.login(t, "ada@example.com")
			cookie := f.cookieFor(t, c)
			got := struct {
				Name             string
				Path, Domain     string
				HttpOnly, Secure bool
				SameSite         http.SameSite
				MaxAge           int
			}{cookie.Name, cookie.Path, cookie.Domain, cookie.HttpOnly, cookie.Secure, cookie.SameSite, cookie.MaxAge}
			want := got
			want.Name, want.Path, want.Domain = tc.wantName, "/", ""
			want.HttpOnly, want.Secure, want.SameSite, want.MaxAge = true, tc.wantSecure, http.SameSiteLaxMode, 7200
			if got != want {
				t.Errorf("cookie: got %+v, want %+v", got, want)
			}

			// The cookie the next request brings is found under that name.
			if _, err := f.svc.Authenticate(request(cookie, "")); err != nil {
				t.Errorf("the cookie back: got %v, want a session", err)
			}

			// Logging out clears it with the same attributes.
			r := request(cookie, "")
			caller, err := f.svc.Authenticate(r)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			if err := f.svc.Logout(rec, r, caller, Client{}); err != nil {
				t.Fatal(err)
			}
			cleared := rec.Result().Cookies()
			if len(cleared) != 1 || cleared[0].Name != tc.wantName || cleared[0].MaxAge >= 0 || cleared[0].Value != "" || cleared[0].Secure != tc.wantSecure {
				t.Errorf("logout cookie: got %+v, want %s cleared", cleared, tc.wantName)
			}
			f.wantRowGone(t, c.Session.PublicID)
		})
	}
}

// TestSessionCookieValue checks the cookie carries only a signed random
// token: never the stored hash or the public id.
func TestSessionCookieValue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	c := f.login(t, "ada@example.com")
	cookie := f.cookieFor(t, c)
	for what, secret := range map[string]string{"token hash": c.Session.TokenHash, "public id": c.Session.PublicID} {
		if strings.Contains(cookie.Value, secret) {
			t.Errorf("cookie value: got %q, want it without the session's %s %q", cookie.Value, what, secret)
		}
	}
	var token string
	if err := securecookie.New(f.cfg.SessionSecret, nil).Decode(cookie.Name, cookie.Value, &token); err != nil {
		t.Fatalf("decode with SESSION_SECRET: %v", err)
	}
	if len(token) < 43 { // 32 random bytes, base64url: 256 bits
		t.Errorf("token: got %d characters, want at least 43 (256 bits)", len(token))
	}
	if got := hashToken(token); got != c.Session.TokenHash {
		t.Errorf("SHA-256 of the token: got %v, want the row's %v", got, c.Session.TokenHash)
	}
	if strings.Contains(c.Session.TokenHash, token) || c.Session.PublicID == token {
		t.Errorf("row: got the raw token stored, want only its hash")
	}
}

// TestLoginOpensNewSession checks a login never reuses the browser's
// token: it opens a new session and ends the one the browser brought.
func TestLoginOpensNewSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	ctx := context.Background()
	first := f.login(t, "ada@example.com")
	firstCookie := f.cookieFor(t, first)

	r := request(firstCookie, "")
	browser, err := f.svc.Authenticate(r)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.svc.Login(ctx, Credentials{Username: "ada@example.com", Password: password}, client, browser)
	if err != nil {
		t.Fatal(err)
	}
	if second.token == first.token || second.Session.PublicID == first.Session.PublicID || second.Session.TokenHash == first.Session.TokenHash {
		t.Errorf("second login: got the first session's token or ids again, want new ones")
	}
	rec := httptest.NewRecorder()
	if err := f.svc.SaveCookie(rec, r, second); err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Value == firstCookie.Value {
		t.Fatalf("cookie after the second login: got %+v, want one new value", cookies)
	}
	f.wantRowGone(t, first.Session.PublicID)
	_, err = f.svc.Authenticate(request(firstCookie, ""))
	wantError(t, err, ErrSessionEnded)
	if _, err := f.svc.Authenticate(request(cookies[0], "")); err != nil {
		t.Errorf("the new cookie: got %v, want a session", err)
	}

	// A login without a browser session (an API client) leaves others alone.
	third := f.login(t, "ada@example.com")
	sessions, err := f.store.SessionsByUser(ctx, third.User.ID)
	if err != nil || len(sessions) != 2 {
		t.Errorf("sessions after an API login: got %d (%v), want 2", len(sessions), err)
	}
}

// TestSessionDisabledUser checks that a disabled user's cookie stops
// working at once.
func TestSessionDisabledUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	c := f.login(t, "ada@example.com")
	cookie := f.cookieFor(t, c)
	if err := f.svc.SetDisabled(context.Background(), "ada@example.com", true); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Authenticate(request(cookie, ""))
	wantError(t, err, ErrSessionEnded)
}

// TestSessionStoreSave checks the gorilla/sessions side of the store: a
// session saved with a negative MaxAge is ended (row deleted, cookie
// cleared), and a session without a token cannot be saved.
func TestSessionStoreSave(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	c := f.login(t, "ada@example.com")
	r := request(f.cookieFor(t, c), "")
	st := f.svc.sessions
	sess, err := st.Get(r, st.CookieName())
	if err != nil || sess.IsNew {
		t.Fatalf("Get: got new %v, %v; want the stored session", sess.IsNew, err)
	}
	sess.Options.MaxAge = -1
	rec := httptest.NewRecorder()
	if err := st.Save(r, rec, sess); err != nil {
		t.Fatalf("Save: %v", err)
	}
	f.wantRowGone(t, c.Session.PublicID)
	if cookies := rec.Result().Cookies(); len(cookies) != 1 || cookies[0].MaxAge >= 0 {
		t.Errorf("cookie: got %+v, want it cleared", cookies)
	}

	fresh, err := st.New(request(nil, ""), st.CookieName())
	if err != nil || !fresh.IsNew {
		t.Fatalf("New without a cookie: got new %v, %v; want a new session", fresh.IsNew, err)
	}
	if err := st.Save(request(nil, ""), httptest.NewRecorder(), fresh); err == nil {
		t.Errorf("Save of a session no login opened: got no error, want one")
	}
}
