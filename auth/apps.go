package auth

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"gatehouse/models"
)

// The sessions and tokens of applications that log their users in
// through Gatehouse (contract §10). The protocol — clients, codes,
// consent, ID tokens' claims — is package idp's; auth keeps what every
// session shares: who may log in, how long a session lives, which token
// belongs to which session, and the keys.

// OIDCScopes are the OpenID Connect scopes an application may be granted
// beside Gatehouse's own (AllScopes).
var OIDCScopes = []string{"openid", "profile", "email", "offline_access"}

// amrFederated is a provider login's RFC 8176 method.
const amrFederated = "fed"

// amrOf turns a login's how (the security log's words) into RFC 8176
// authentication method references.
func amrOf(how string) string {
	switch {
	case strings.HasPrefix(how, "password and "):
		return "pwd otp mfa"
	case how == "passkey":
		return "hwk mfa"
	default:
		return "pwd"
	}
}

// AppGrant is what an authorization code carries into the session of an
// application's grant.
type AppGrant struct {
	ClientID string
	Scopes   []string // everything granted: OpenID Connect scopes and Gatehouse's
	AMR      string
	AuthTime time.Time
}

// NewAppSession builds — without storing it — the session of an
// application's grant to u, with its caller: the caller stores the row
// (in the transaction that spends the code) and then asks IssueAppTokens.
// A disabled user gets none (mayLogIn).
func (s *Service) NewAppSession(u *models.User, g AppGrant, client Client) (*models.Session, *Caller, error) {
	if err := mayLogIn(u); err != nil {
		return nil, nil, err
	}
	now := s.now()
	row, token := s.newSession(u.ID, joinScopes(g.Scopes), client, now, now, now.Add(s.cfg.SessionMaxAge))
	row.ClientID, row.AMR, row.AuthTime = g.ClientID, g.AMR, sql.NullTime{Time: g.AuthTime, Valid: true}
	c := &Caller{User: u, Session: row, Scopes: intersect(g.Scopes, u.ScopeList()), Granted: g.Scopes, token: token}
	return row, c, nil
}

// CountCodeLogin counts an authorization code's exchange in
// gatehouse_logins_total (method "code"), with the answer it got.
func (s *Service) CountCodeLogin(err error) { s.metrics.Login("code", loginResult(err)) }

// IssueAppTokens signs an access token for the session of an app's grant
// and, when withRefresh, a refresh token bound to it.
func (s *Service) IssueAppTokens(ctx context.Context, c *Caller, withRefresh bool) (TokenResponse, error) {
	if !withRefresh {
		return s.accessToken(ctx, c)
	}
	return s.IssueToken(ctx, c)
}

// tokenScopes are the scopes an access token of c carries: Gatehouse's
// scopes the caller has, and for an app's grant the OpenID Connect ones
// granted too.
func tokenScopes(c *Caller) []string {
	if c.Session.ClientID == "" {
		return c.Scopes
	}
	out := make([]string, 0, len(c.Granted))
	for _, sc := range c.Granted {
		if slices.Contains(OIDCScopes, sc) {
			out = append(out, sc)
		}
	}
	return append(out, c.Scopes...)
}

// RefreshApp is Refresh for an application (POST /oauth2/token with
// grant_type=refresh_token): only the app the token was issued to may
// use it, and only an app's tokens are taken.
func (s *Service) RefreshApp(ctx context.Context, in RefreshRequest, clientID string, client Client) (TokenResponse, *Caller, error) {
	t, c, err := s.refresh(ctx, in, clientID, client)
	s.metrics.Login("refresh", loginResult(err))
	return t, c, err
}

// RevokeAppToken ends the session of an app's refresh or access token
// (RFC 7009): clientID must be the app it was issued to. A token that is
// unknown, dead or another app's changes nothing (RFC 7009 §2.2: the
// answer is the same).
func (s *Service) RevokeAppToken(ctx context.Context, raw, clientID string, client Client) error {
	sid := ""
	if wellFormedRefreshToken(raw) {
		sess, _, _, _, err := s.store.RefreshTokenByHash(ctx, hashToken(raw))
		switch {
		case err == nil && sess.ClientID == clientID:
			sid = sess.PublicID
		case err != nil && !errors.Is(err, models.ErrNotFound):
			return err
		}
	}
	if sid == "" {
		cl, err := s.tokens.Verify(ctx, raw)
		if err == nil && cl.ClientID == clientID {
			sid = cl.SID
		} else if errors.Is(err, models.ErrUnavailable) {
			return err
		}
	}
	if sid == "" {
		return nil
	}
	err := s.store.DeleteSession(ctx, sid, 0)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	return err
}

// AuthenticateAppToken is the caller of an access token an application
// presents (UserInfo): ErrInvalidToken unless it verifies, its session
// lives and it was issued to an application.
func (s *Service) AuthenticateAppToken(ctx context.Context, raw string) (*Caller, error) {
	c, err := s.authenticateToken(ctx, raw)
	if err != nil {
		return nil, err
	}
	if c.Session.ClientID == "" {
		return nil, ErrInvalidToken
	}
	return c, nil
}

// BrowserSession reads the session a browser rides on again, with how
// its user logged in (AMR), which the hot path does not read.
func (s *Service) BrowserSession(ctx context.Context, publicID string) (*models.Session, error) {
	return s.store.SessionByID(ctx, publicID)
}

// EndBrowserSession ends the session publicID of user userID (logout at
// an application's request: contract §10).
func (s *Service) EndBrowserSession(ctx context.Context, publicID string, userID uint64, client Client) error {
	err := s.store.DeleteSession(ctx, publicID, userID)
	if err == nil {
		s.Record(ctx, userID, models.EventLogout, client, "at an application's request")
	}
	return err
}

// SignIDToken signs an ID token's claims with alg (RS256 or EdDSA).
func (s *Service) SignIDToken(ctx context.Context, alg string, claims jwt.MapClaims) (string, error) {
	return s.tokens.SignIDToken(ctx, alg, claims)
}

// VerifyIDToken checks an ID token this server signed (an id_token_hint).
func (s *Service) VerifyIDToken(ctx context.Context, raw string) (jwt.MapClaims, error) {
	return s.tokens.VerifyIDToken(ctx, raw)
}

// Issuer is BASE_URL, every token's iss.
func (s *Service) Issuer() string { return s.tokens.Issuer() }
