package auth

import (
	"context"
	"encoding/base64"
	"errors"

	"gatehouse/models"
)

// Refresh-token failures (contract §5 and §7). RFC 6749 §5.2 names the
// codes; the body keeps the contract's shape ("error", "detail").
var (
	// ErrInvalidGrant is the one answer for a refresh token that is
	// unknown, spent, expired or whose session has ended: which of them
	// it was is no business of whoever holds it.
	ErrInvalidGrant = &models.Error{Kind: models.BadRequest, Code: "invalid_grant",
		Detail: "The refresh token is invalid, expired or already used. Log in again."}
	// ErrInvalidScope is a refresh whose scope names no known scope, or
	// none the session has: the token would carry none (contract §7).
	ErrInvalidScope = &models.Error{Kind: models.BadRequest, Code: "invalid_scope",
		Detail: "The scope asked for names no scope this session has. Ask for fewer, or leave scope out."}
	ErrUnsupportedGrantType = &models.Error{Kind: models.BadRequest, Code: "unsupported_grant_type",
		Detail: `Only grant_type=refresh_token is supported here; log in at /api/login.`}
)

// refreshTokenBytes is a refresh token's randomness: 256 bits.
const refreshTokenBytes = 32

// RefreshRequest is a refresh-token grant (RFC 6749 §6), as a form or the
// same names in JSON. Scope may narrow what the new access token gets.
type RefreshRequest struct {
	GrantType    string `json:"grant_type" form:"grant_type"`
	RefreshToken string `json:"refresh_token" form:"refresh_token"`
	Scope        string `json:"scope" form:"scope"`
}

// refresh exchanges a refresh token for a new access token and a new
// refresh token; the one presented is spent. The token is usable only
// while its session is live and its user enabled (callerFor, the rule
// every request follows), and until its own expiry. The refresh counts as
// activity on the session (callerFor records it when due) but never moves
// the session's absolute limit, so neither the new access token nor the
// new refresh token outlives SESSION_MAX_AGE. A scope asked for is
// granted only as far as the session has it.
//
// A spent token presented again means two parties hold it — the client
// and someone who copied it — and there is no telling which is which: the
// whole session ends, with every access and refresh token of it, and the
// user's security log says so. That includes the loser of two requests
// racing with one token (RotateRefreshToken lets exactly one win): it has
// presented a token that is, by then, spent. A client must therefore
// never send one refresh token twice, not even to retry.
//
// Every request costs at most one indexed read unless it carries a live
// token: a token of the wrong shape is refused without a query, and a
// well-formed guess of 256 bits finds nothing.
//
// app is the application presenting the token at /oauth2/token (contract
// §10), empty at /api/token: a token is taken only from the party it was
// issued to — an app's from that app alone, Gatehouse's own only where
// no app authenticates — anything else is ErrInvalidGrant, before the
// token is spent.
func (s *Service) refresh(ctx context.Context, in RefreshRequest, app string, client Client) (TokenResponse, *Caller, error) {
	switch {
	case in.GrantType == "":
		return TokenResponse{}, nil, models.InvalidFields(map[string]string{"grant_type": "Use grant_type=refresh_token."})
	case in.GrantType != "refresh_token":
		return TokenResponse{}, nil, ErrUnsupportedGrantType
	case in.RefreshToken == "":
		return TokenResponse{}, nil, models.InvalidFields(map[string]string{"refresh_token": "Enter the refresh token."})
	case !wellFormedRefreshToken(in.RefreshToken):
		return TokenResponse{}, nil, ErrInvalidGrant
	}
	hash := hashToken(in.RefreshToken)
	sess, u, expires, spent, err := s.store.RefreshTokenByHash(ctx, hash)
	if errors.Is(err, models.ErrNotFound) {
		return TokenResponse{}, nil, ErrInvalidGrant
	}
	if err != nil {
		return TokenResponse{}, nil, err
	}
	if sess.ClientID != app {
		return TokenResponse{}, nil, ErrInvalidGrant
	}
	if spent {
		return TokenResponse{}, nil, s.refreshTokenReused(ctx, sess, u, client)
	}
	if !s.now().Before(expires) {
		return TokenResponse{}, nil, ErrInvalidGrant
	}
	c, err := s.callerFor(ctx, sess, u)
	if errors.Is(err, ErrSessionEnded) {
		return TokenResponse{}, nil, ErrInvalidGrant
	}
	if err != nil {
		return TokenResponse{}, nil, err
	}
	if in.Scope != "" {
		// Checked before the token is spent: a bad request changes nothing.
		asked := SplitScopes(in.Scope)
		c.Scopes = Grant(asked, c.Scopes)
		if c.Granted != nil {
			c.Granted = keep(c.Granted, asked)
		}
		if len(c.Scopes) == 0 && len(c.Granted) == 0 {
			return TokenResponse{}, nil, ErrInvalidScope
		}
	}
	next, raw := s.newRefreshToken(sess)
	won, err := s.store.RotateRefreshToken(ctx, hash, next, s.now())
	if err != nil {
		return TokenResponse{}, nil, err
	}
	if !won {
		return TokenResponse{}, nil, s.refreshTokenReused(ctx, sess, u, client)
	}
	tok, err := s.accessToken(ctx, c)
	if err != nil {
		return TokenResponse{}, nil, err
	}
	tok.RefreshToken = raw
	return tok, c, nil
}

// refreshTokenReused ends the session a spent refresh token belongs to
// and records it, once: of several requests reusing a token at once, only
// the one that ends the session writes the event. It answers
// ErrInvalidGrant, as for any other dead token.
func (s *Service) refreshTokenReused(ctx context.Context, sess *models.Session, u *models.User, client Client) error {
	err := s.store.DeleteSession(ctx, sess.PublicID, 0)
	switch {
	case err == nil:
		s.log.Warn("refresh token reused: session ended", "user_id", u.ID, "sid", sess.PublicID, "ip", client.ip())
		s.Record(ctx, u.ID, models.EventRefreshTokenReused, client, "a used refresh token was presented again; the session was ended")
	case !errors.Is(err, models.ErrNotFound):
		return err
	}
	return ErrInvalidGrant
}

// newRefreshToken makes a refresh token for sess and returns its row and
// the value given to the client. It expires REFRESH_TOKEN_TTL from now,
// but never after its session does.
func (s *Service) newRefreshToken(sess *models.Session) (*models.RefreshToken, string) {
	now := s.now()
	raw := randomID(refreshTokenBytes)
	expires := now.Add(s.cfg.RefreshTokenTTL)
	if sess.ExpiresAt.Before(expires) {
		expires = sess.ExpiresAt
	}
	return &models.RefreshToken{TokenHash: hashToken(raw), SessionID: sess.PublicID, CreatedAt: now, ExpiresAt: expires}, raw
}

// wellFormedRefreshToken reports whether raw could be a token we issued:
// 256 bits, base64url without padding.
func wellFormedRefreshToken(raw string) bool {
	if len(raw) != base64.RawURLEncoding.EncodedLen(refreshTokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(raw)
	return err == nil
}
