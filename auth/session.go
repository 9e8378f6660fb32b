package auth

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
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
func (st *SessionStore) CookieName() string { return cookieName(st.options.Secure, "session") }

// cookieName is the one rule for naming Gatehouse's cookies: under https
// (secure) the __Host- prefix, which browsers accept only with Secure,
// Path=/ and no Domain, so no other host or path can set or shadow it.
func cookieName(secure bool, name string) string {
	if secure {
		return "__Host-" + name
	}
	return name
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
		case strings.EqualFold(scheme, "bearer") && raw != "":
			return s.authenticateToken(r.Context(), raw)
		case strings.EqualFold(scheme, "bearer") || !hasScheme:
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
// query) against the clock (models.Session.Live), records activity when
// it is due (touchEvery), and returns the caller they stand for.
func (s *Service) callerFor(ctx context.Context, row *models.Session, u *models.User) (*Caller, error) {
	now := s.now()
	if !row.Live(now, s.cfg.SessionIdleTimeout) {
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
	c := &Caller{User: u, Session: row, Scopes: intersect(SplitScopes(row.Scopes), u.ScopeList())}
	if row.ClientID != "" {
		c.Granted = SplitScopes(row.Scopes)
	}
	return c, nil
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

// EndCookie clears the request's session cookie after the session c
// rides on has ended (a logout, or a revoke of the current session) —
// when c came by that cookie. A caller who came by a token leaves alone a
// cookie that may belong to another session.
func (s *Service) EndCookie(w http.ResponseWriter, r *http.Request, c *Caller) {
	if !c.Bearer && s.HasCookie(r) {
		s.ClearCookie(w)
	}
}

// Logout ends the caller's session — the one its cookie or its token rides
// on — and clears the cookie (EndCookie). Every token bound to that
// session dies with it.
func (s *Service) Logout(w http.ResponseWriter, r *http.Request, c *Caller, client Client) error {
	if err := s.store.DeleteSession(r.Context(), c.Session.PublicID, 0); err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	s.Record(r.Context(), c.User.ID, models.EventLogout, client, "")
	s.EndCookie(w, r, c)
	return nil
}

// newSession builds a session row for userID with the granted scopes,
// opened from client and last seen at now, and returns it with its cookie
// token. created and expires are the login's start and absolute limit: a
// new login's, or, for a session moved to a new id, the old one's (the
// same login goes on, so its limit does not move).
func (s *Service) newSession(userID uint64, scopes string, client Client, now, created, expires time.Time) (*models.Session, string) {
	token := randomID(32)
	return &models.Session{
		TokenHash:  hashToken(token),
		PublicID:   randomID(16),
		UserID:     userID,
		Scopes:     scopes,
		IP:         client.ip(),
		UserAgent:  client.userAgent(),
		CreatedAt:  created,
		LastSeenAt: now,
		ExpiresAt:  expires,
		AuthTime:   sql.NullTime{Time: now, Valid: true}, // a login proves who the user is
	}, token
}

// mayLogIn is the one rule that a disabled user opens no session
// (contract §4): startSession, the last step of every login, applies it,
// and the steps before it that would otherwise work for a disabled user —
// asking its second factor, linking a provider identity — ask it early.
func mayLogIn(u *models.User) error {
	if u.Disabled {
		return ErrInactiveUser
	}
	return nil
}

// startSession creates a session for u with the granted scopes, ending
// the session replacing (the browser's previous one) if given: the last
// step of every login. A disabled user gets none (mayLogIn).
//
// amr says how the user proved who they are (RFC 8176 values: pwd, otp,
// hwk, fed, mfa), kept for the ID tokens of applications (contract §10).
func (s *Service) startSession(ctx context.Context, u *models.User, scopes []string, client Client, replacing *Caller, amr string) (*Caller, error) {
	if err := mayLogIn(u); err != nil {
		return nil, err
	}
	now := s.now()
	row, token := s.newSession(u.ID, joinScopes(scopes), client, now, now, now.Add(s.cfg.SessionMaxAge))
	row.AMR = amr
	var old string
	if replacing != nil && !replacing.Bearer && replacing.Session != nil {
		old = replacing.Session.TokenHash
	}
	if err := s.store.CreateSession(ctx, row, old); err != nil {
		return nil, err
	}
	return &Caller{User: u, Session: row, Scopes: scopes, token: token}, nil
}

// OpenSession logs in a user who has just proven who they are some other
// way than a password (they signed up a moment ago, or came back from a
// provider): a new session with all of the user's scopes, ending the
// browser's previous one (replacing) as a login does. how says which way,
// for the security log. A disabled user is refused (startSession).
func (s *Service) OpenSession(ctx context.Context, u *models.User, client Client, replacing *Caller, how string) (*Caller, error) {
	c, err := s.startSession(ctx, u, normalize(u.ScopeList()), client, replacing, amrOf(how))
	if err != nil {
		return nil, err
	}
	s.recordLogin(ctx, u, client, how)
	return c, nil
}

// Sessions lists userID's live sessions (models.Session.Live) as the
// contract shows them, newest first, marking currentID.
func (s *Service) Sessions(ctx context.Context, userID uint64, currentID string) ([]models.SessionView, error) {
	idle := s.cfg.SessionIdleTimeout
	rows, err := s.store.LiveSessionsByUser(ctx, userID, s.now(), idle)
	if err != nil {
		return nil, err
	}
	views := make([]models.SessionView, 0, len(rows))
	var apps []string
	for i := range rows {
		views = append(views, rows[i].View(idle, currentID))
		if rows[i].ClientID != "" {
			apps = append(apps, rows[i].ClientID)
		}
	}
	if len(apps) == 0 {
		return views, nil
	}
	// The sessions of applications' grants name their app (contract §10).
	names, err := s.store.AppNames(ctx, apps)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if id := rows[i].ClientID; id != "" {
			views[i].App = &models.AppRef{ClientID: id, Name: names[id]}
		}
	}
	return views, nil
}

// RevokeSession ends one of the caller's sessions by its public id, with
// every token bound to it. A session that is not the caller's is
// ErrNotFound, the same as one that does not exist. When it is the
// session the request rides on, its cookie is cleared (EndCookie) and
// current is true.
func (s *Service) RevokeSession(w http.ResponseWriter, r *http.Request, c *Caller, publicID string, client Client) (current bool, err error) {
	if err := s.store.DeleteSession(r.Context(), publicID, c.User.ID); err != nil {
		return false, err
	}
	current = publicID == c.Session.PublicID
	detail := "another session"
	if current {
		detail = "this session"
		s.EndCookie(w, r, c)
	}
	s.Record(r.Context(), c.User.ID, models.EventSessionRevoked, client, detail)
	return current, nil
}

// RevokeOtherSessions ends every session of the caller's except the one
// the request rides on ("log out everywhere else"), and says how many.
func (s *Service) RevokeOtherSessions(ctx context.Context, c *Caller, client Client) (int64, error) {
	n, err := s.store.DeleteUserSessions(ctx, c.User.ID, c.Session.PublicID)
	if err != nil {
		return 0, err
	}
	s.Record(ctx, c.User.ID, models.EventSessionsRevoked, client, sessionsEnded(n, true))
	return n, nil
}

// EndUserSessions ends every session of user id, with the tokens bound to
// them, and says how many (the administrator's "end all sessions"). When
// administrators aim it at themselves, the session they act from is kept:
// they have "log out" for that one.
func (s *Service) EndUserSessions(ctx context.Context, actor *Caller, id uint64, client Client) (int64, error) {
	if _, err := s.store.UserByID(ctx, id); err != nil {
		return 0, err
	}
	keep := ""
	if actor.User.ID == id {
		keep = actor.Session.PublicID
	}
	n, err := s.store.DeleteUserSessions(ctx, id, keep)
	if err != nil {
		return 0, err
	}
	s.Record(ctx, id, models.EventSessionsRevoked, client, joinDetail([]string{sessionsEnded(n, false)}, actor))
	return n, nil
}
