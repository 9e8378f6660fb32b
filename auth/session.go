package auth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"gatehouse/models"
)

// rowKey is where SessionStore keeps the loaded row in a gorilla session's
// Values, for the length of one request. Values are never serialised: the
// row's columns are the session's data.
type rowKey struct{}

// userKey is where SessionStore keeps the row's user, read in the same
// query, for the length of one request.
type userKey struct{}

// SessionStore is a gorilla/sessions Store whose sessions are rows of the
// sessions table. The cookie holds only a signed random token (256 bits);
// the row is found by the token's SHA-256. It was written here rather than
// taken from wader/gormstore because that store cannot index sessions by
// user (to list and end them) and turns database errors into empty
// sessions, where we must answer 503.
type SessionStore struct {
	svc     *Service
	codecs  []securecookie.Codec
	options sessions.Options
}

func newSessionStore(s *Service) *SessionStore {
	codecs := securecookie.CodecsFromPairs(s.cfg.SessionSecret)
	maxAge := int(s.cfg.SessionMaxAge.Seconds())
	for _, c := range codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxAge(maxAge)
		}
	}
	return &SessionStore{svc: s, codecs: codecs, options: sessions.Options{
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.cfg.SecureCookies(),
		SameSite: http.SameSiteLaxMode,
	}}
}

// CookieName is "__Host-session" under https (Secure, Path=/, no Domain)
// and "session" under http.
func (st *SessionStore) CookieName() string {
	if st.options.Secure {
		return "__Host-session"
	}
	return "session"
}

// Get returns the request's session, cached for the request.
func (st *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(st, name)
}

// New loads the session the request's cookie names. Without a cookie it
// returns a new, empty session. A cookie that does not verify, or whose
// row is gone, expired or idle too long, gives ErrSessionEnded; a database
// failure is returned as it is (503), never taken as a log-out.
func (st *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	s := sessions.NewSession(st, name)
	opts := st.options
	s.Options = &opts
	s.IsNew = true
	cookie, err := r.Cookie(name)
	if err != nil {
		return s, nil
	}
	var token string
	if err := securecookie.DecodeMulti(name, cookie.Value, &token, st.codecs...); err != nil {
		return s, ErrSessionEnded
	}
	row, u, err := st.svc.store.SessionByTokenHash(r.Context(), hashToken(token))
	if errors.Is(err, models.ErrNotFound) {
		return s, ErrSessionEnded
	}
	if err != nil {
		return s, err
	}
	s.ID = token
	s.IsNew = false
	s.Values[rowKey{}] = row
	s.Values[userKey{}] = u
	return s, nil
}

// Save writes the session's cookie. A session whose Options.MaxAge is
// negative is ended: its row is deleted and the cookie cleared.
func (st *SessionStore) Save(r *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	if s.Options.MaxAge < 0 {
		if row, ok := s.Values[rowKey{}].(*models.Session); ok {
			if err := st.svc.store.DeleteSession(r.Context(), row.PublicID, 0); err != nil && !errors.Is(err, models.ErrNotFound) {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(s.Name(), "", s.Options))
		return nil
	}
	if s.ID == "" {
		return errors.New("save session: no token; sessions are opened by Login")
	}
	encoded, err := securecookie.EncodeMulti(s.Name(), s.ID, st.codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(s.Name(), encoded, s.Options))
	return nil
}

// Authenticate finds who is calling. An Authorization: Bearer header wins
// when present, and a bad token is ErrInvalidToken even if a good cookie
// came with it. Another scheme (Swagger UI sends "Basic Og==" on its
// password-flow login) is not ours to judge and is ignored; a bare value
// with no scheme is a malformed bearer token. Otherwise the session cookie
// decides. No credentials at all is (nil, nil).
func (s *Service) Authenticate(r *http.Request) (*Caller, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, raw, hasScheme := cutSpace(h)
		switch {
		case equalFold(scheme, "bearer") && raw != "":
			return s.authenticateToken(r.Context(), raw)
		case equalFold(scheme, "bearer") || !hasScheme:
			return nil, ErrInvalidToken
		}
	}
	// New, not Get: Get caches the session in a per-request registry,
	// which copies the whole request to add it to the context — on every
	// request — and nothing here needs the cache.
	sess, err := s.sessions.New(r, s.sessions.CookieName())
	if err != nil {
		return nil, err
	}
	row, ok := sess.Values[rowKey{}].(*models.Session)
	u, _ := sess.Values[userKey{}].(*models.User)
	if !ok || u == nil {
		return nil, nil
	}
	return s.callerFor(r.Context(), row, u)
}

// callerFor checks a session row and its user (read together in one
// query) against the clock, records activity when it is due (touchEvery),
// and returns the caller they stand for.
func (s *Service) callerFor(ctx context.Context, row *models.Session, u *models.User) (*Caller, error) {
	now := s.now()
	if !now.Before(row.ExpiresAt) || !now.Before(row.LastSeenAt.Add(s.cfg.SessionIdleTimeout)) {
		if err := s.store.DeleteSession(ctx, row.PublicID, 0); err != nil && !errors.Is(err, models.ErrNotFound) {
			return nil, err
		}
		return nil, ErrSessionEnded
	}
	if u.Disabled {
		return nil, ErrSessionEnded
	}
	if now.Sub(row.LastSeenAt) >= s.touchEvery() {
		if err := s.store.TouchSession(ctx, row.PublicID, now); err != nil {
			return nil, err
		}
		row.LastSeenAt = now
	}
	// The session's grant, narrowed by what the user has now: an admin
	// taking a scope away takes it from live sessions too.
	return &Caller{User: u, Session: row, Scopes: intersect(SplitScopes(row.Scopes), u.ScopeList())}, nil
}

// touchEvery is how stale a session's recorded activity may get before a
// request writes it again: a quarter of SESSION_IDLE_TIMEOUT, so an active
// session never idles out (contract §9), and no more often than once a
// minute when the timeout allows it, so reads stay reads.
func (s *Service) touchEvery() time.Duration {
	return min(s.cfg.SessionIdleTimeout/4, time.Minute)
}

// SaveCookie sets the cookie of a session Login just opened.
func (s *Service) SaveCookie(w http.ResponseWriter, r *http.Request, c *Caller) error {
	sess := sessions.NewSession(s.sessions, s.sessions.CookieName())
	opts := s.sessions.options
	sess.Options = &opts
	sess.ID = c.token
	sess.Values[rowKey{}] = c.Session
	sess.Values[userKey{}] = c.User
	return s.sessions.Save(r, w, sess)
}

// ClearCookie removes a stale session cookie from the browser.
func (s *Service) ClearCookie(w http.ResponseWriter) {
	opts := s.sessions.options
	opts.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(s.sessions.CookieName(), "", &opts))
}

// CookieName is the session cookie's name: "__Host-session" under https,
// "session" under http. The API document names it for Swagger UI.
func (s *Service) CookieName() string { return s.sessions.CookieName() }

// HasCookie reports whether the request carries a session cookie at all.
func (s *Service) HasCookie(r *http.Request) bool {
	_, err := r.Cookie(s.sessions.CookieName())
	return err == nil
}

// Logout ends the caller's session — the one its cookie or its token rides
// on — and clears the cookie. Every token bound to that session dies with it.
func (s *Service) Logout(w http.ResponseWriter, r *http.Request, c *Caller, client Client) error {
	if err := s.store.DeleteSession(r.Context(), c.Session.PublicID, 0); err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	s.Record(r.Context(), c.User.ID, models.EventLogout, client, "")
	if !c.Bearer && s.HasCookie(r) {
		s.ClearCookie(w) // a token's logout leaves alone a cookie that may belong to another session
	}
	return nil
}

// openSession creates a session row for u with the granted scopes, ending
// the session replacing (the browser's previous one) if given.
func (s *Service) openSession(ctx context.Context, u *models.User, scopes []string, client Client, replacing *Caller) (*Caller, error) {
	now := s.now()
	token := randomID(32)
	row := &models.Session{
		TokenHash:  hashToken(token),
		PublicID:   randomID(16),
		UserID:     u.ID,
		Scopes:     joinScopes(scopes),
		IP:         truncate(client.IP, 64),
		UserAgent:  truncate(client.UserAgent, 512),
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(s.cfg.SessionMaxAge),
	}
	var old string
	if replacing != nil && !replacing.Bearer && replacing.Session != nil {
		old = replacing.Session.TokenHash
	}
	if err := s.store.CreateSession(ctx, row, old); err != nil {
		return nil, err
	}
	return &Caller{User: u, Session: row, Scopes: scopes, token: token}, nil
}
