package auth

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"gatehouse/auth/token"
	"gatehouse/models"
)

// TokenResponse is the RFC 6749 §5.1 token response. RefreshToken is
// there when the response opens or continues a login (IssueToken,
// Refresh).
type TokenResponse = token.Response

// IssueToken signs an access token for a caller's session and gives it a
// refresh token bound to the same session (contract §7).
func (s *Service) IssueToken(ctx context.Context, c *Caller) (TokenResponse, error) {
	tok, err := s.accessToken(ctx, c)
	if err != nil {
		return TokenResponse{}, err
	}
	row, raw := s.newRefreshToken(c.Session)
	if err := s.store.CreateRefreshToken(ctx, row); err != nil {
		return TokenResponse{}, err
	}
	tok.RefreshToken = raw
	return tok, nil
}

// accessToken signs an access token for c: its user, its session (which
// the token never outlives) and its scopes.
func (s *Service) accessToken(ctx context.Context, c *Caller) (TokenResponse, error) {
	return s.tokens.Issue(ctx, token.Subject{UserID: c.User.ID, Email: c.User.Email, Scopes: tokenScopes(c),
		SID: c.Session.PublicID, SessionExpires: c.Session.ExpiresAt, ClientID: c.Session.ClientID})
}

// authenticateToken turns a bearer token into a caller. The token is valid
// only while its session exists and its user is enabled, so logging out —
// by cookie or by the token alone — ends it.
func (s *Service) authenticateToken(ctx context.Context, raw string) (*Caller, error) {
	cl, err := s.tokens.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	// One query reads the session, its user and whether the token's key
	// is still live, so retiring a key ends its tokens at once on every
	// instance — those in the cache of verified tokens too.
	sess, u, keyLive, err := s.store.SessionByPublicID(ctx, cl.SID, cl.KID())
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if s.tokens.UsesKeys() && !keyLive {
		// Retired elsewhere while this instance may still sign with it:
		// the ring takes the new key now rather than at the next recheck.
		s.tokens.KeyRetired(ctx, cl.KID())
		return nil, ErrInvalidToken
	}
	if strconv.FormatUint(sess.UserID, 10) != cl.Subject {
		return nil, ErrInvalidToken
	}
	c, err := s.callerFor(ctx, sess, u)
	if err != nil {
		if errors.Is(err, ErrSessionEnded) {
			return nil, ErrInvalidToken
		}
		return nil, err
	}
	if cl.ClientID != c.Session.ClientID {
		return nil, ErrInvalidToken
	}
	c.Scopes = intersect(SplitScopes(cl.Scope), c.Scopes)
	if c.Granted != nil {
		c.Granted = keep(c.Granted, SplitScopes(cl.Scope))
	}
	c.Bearer = true
	return c, nil
}

// cutSpace splits an Authorization header into its scheme and the rest,
// both trimmed; found says there was a space at all.
func cutSpace(s string) (before, after string, found bool) {
	before, after, found = strings.Cut(strings.TrimSpace(s), " ")
	return before, strings.TrimSpace(after), found
}
