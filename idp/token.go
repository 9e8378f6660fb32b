package idp

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"gatehouse/auth"
	"gatehouse/models"
)

// TokenResponse is the token endpoint's answer (RFC 6749 §5.1, OpenID
// Connect Core §3.1.3.3).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

func responseOf(t auth.TokenResponse) TokenResponse {
	return TokenResponse{AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: t.ExpiresIn, Scope: t.Scope, RefreshToken: t.RefreshToken}
}

// Token serves the authorization_code and refresh_token grants for the
// app cc authenticates (the password grant is /api/login's, served by
// handlers before this). Errors are the contract's models.Errors with
// RFC 6749 §5.2 codes.
func (p *Provider) Token(ctx context.Context, form url.Values, cc ClientCredentials, client auth.Client) (TokenResponse, error) {
	for _, k := range []string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope", "client_id", "client_secret"} {
		if len(form[k]) > 1 {
			return TokenResponse{}, invalidRequest("The parameter " + k + " was sent more than once.")
		}
	}
	grant := form.Get("grant_type")
	switch grant {
	case "":
		return TokenResponse{}, invalidRequest("Send grant_type.")
	case "authorization_code", "refresh_token":
	default:
		return TokenResponse{}, errUnsupportedGrant
	}
	app, err := p.authenticate(ctx, cc)
	if err != nil {
		return TokenResponse{}, err
	}
	if grant == "refresh_token" {
		t, _, err := p.auth.RefreshApp(ctx, auth.RefreshRequest{GrantType: grant, RefreshToken: form.Get("refresh_token"),
			Scope: form.Get("scope")}, app.ClientID, client)
		var me *models.Error
		if errors.As(err, &me) && me.Kind == models.Invalid {
			return TokenResponse{}, invalidRequest("Send refresh_token.")
		}
		if err != nil {
			return TokenResponse{}, err
		}
		return responseOf(t), nil
	}
	t, err := p.exchangeCode(ctx, app, form, client)
	p.auth.CountCodeLogin(err)
	return t, err
}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636
// §4.6). Its checks come before the code is spent, so a wrong verifier
// or redirect URI changes nothing; a code spent before ends the grant it
// opened (RFC 6749 §4.1.2) when its own app presents it again.
func (p *Provider) exchangeCode(ctx context.Context, app *models.App, form url.Values, client auth.Client) (TokenResponse, error) {
	raw, verifier := form.Get("code"), form.Get("code_verifier")
	if raw == "" || len(raw) > 128 {
		return TokenResponse{}, invalidRequest("Send the code.")
	}
	if verifier == "" {
		return TokenResponse{}, invalidRequest("Send the code_verifier (PKCE is required).")
	}
	hash := digest(raw)
	code, err := p.store.AuthCodeByHash(ctx, hash)
	if errors.Is(err, models.ErrNotFound) {
		return TokenResponse{}, errInvalidGrant
	}
	if err != nil {
		return TokenResponse{}, err
	}
	if code.ClientID != app.ClientID {
		return TokenResponse{}, errInvalidGrant
	}
	if code.UsedAt != nil {
		return TokenResponse{}, p.codeReused(ctx, hash, client)
	}
	if !p.now().Before(code.ExpiresAt) || form.Get("redirect_uri") != code.RedirectURI ||
		subtle.ConstantTimeCompare([]byte(oidc.NewSHACodeChallenge(verifier)), []byte(code.Challenge)) != 1 {
		return TokenResponse{}, errInvalidGrant
	}
	u, err := p.auth.User(ctx, code.UserID)
	if errors.Is(err, models.ErrNotFound) {
		return TokenResponse{}, errInvalidGrant
	}
	if err != nil {
		return TokenResponse{}, err
	}
	scopes := auth.SplitScopes(code.Scopes)
	row, caller, err := p.auth.NewAppSession(u, auth.AppGrant{ClientID: app.ClientID, Scopes: scopes, AMR: code.AMR, AuthTime: code.AuthTime}, client)
	if err != nil {
		return TokenResponse{}, err // a user disabled since: 403 inactive_user
	}
	err = p.store.RedeemAuthCode(ctx, hash, p.now().UTC(), func(tx *models.Store) (string, error) {
		return row.PublicID, tx.CreateSession(ctx, row, "")
	})
	if errors.Is(err, models.ErrCodeSpent) {
		return TokenResponse{}, p.codeReused(ctx, hash, client) // another request won the race
	}
	if err != nil {
		return TokenResponse{}, err
	}
	t, err := p.auth.IssueAppTokens(ctx, caller, slices.Contains(scopes, "offline_access"))
	if err != nil {
		return TokenResponse{}, err
	}
	out := responseOf(t)
	if slices.Contains(scopes, "openid") {
		if out.IDToken, err = p.idToken(ctx, app, u, code, out.AccessToken, scopes); err != nil {
			return TokenResponse{}, err
		}
	}
	return out, nil
}

// codeReused ends the grant of a code presented again and logs it.
func (p *Provider) codeReused(ctx context.Context, hash string, client auth.Client) error {
	code, err := p.store.EndCodeGrant(ctx, hash)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if err == nil {
		p.log.Warn("authorization code reused: its grant was ended", "client_id", code.ClientID, "user_id", code.UserID)
		p.auth.Record(ctx, code.UserID, models.EventCodeReused, client, "an authorization code came back; the application's session it opened was ended")
	}
	return errInvalidGrant
}

// idToken signs the ID token of a code's exchange (OpenID Connect Core
// §2, §3.1.3.6) with the app's algorithm.
func (p *Provider) idToken(ctx context.Context, app *models.App, u *models.User, code *models.AuthCode, accessToken string, scopes []string) (string, error) {
	now := p.now()
	atHash, err := oidc.ClaimHash(accessToken, jose.SignatureAlgorithm(app.IDTokenAlg))
	if err != nil {
		return "", err
	}
	claims := jwt.MapClaims{
		"iss":       p.issuer,
		"sub":       strconv.FormatUint(u.ID, 10),
		"aud":       app.ClientID,
		"exp":       now.Add(p.cfg.IDTokenTTL).Unix(),
		"iat":       now.Unix(),
		"auth_time": code.AuthTime.Unix(),
		"sid":       code.SID,
		"at_hash":   atHash,
		"azp":       app.ClientID,
	}
	if amr := strings.Fields(code.AMR); len(amr) > 0 {
		claims["amr"] = amr
	}
	if code.Nonce != "" {
		claims["nonce"] = code.Nonce
	}
	for k, v := range userClaims(u, scopes) {
		claims[k] = v
	}
	return p.auth.SignIDToken(ctx, app.IDTokenAlg, claims)
}

// userClaims are the claims about u that scopes allow (OpenID Connect
// Core §5.4): email and email_verified for email, name for profile.
func userClaims(u *models.User, scopes []string) map[string]any {
	out := map[string]any{}
	if slices.Contains(scopes, "email") {
		out["email"], out["email_verified"] = u.Email, u.EmailVerified
	}
	if slices.Contains(scopes, "profile") {
		out["name"] = u.FullName
	}
	return out
}

// UserInfo answers the UserInfo endpoint (OpenID Connect Core §5.3) for
// an app's access token: sub and the claims its scopes allow. A token
// that is not an app's live one is 401 invalid_token; without openid,
// 403 insufficient_scope.
func (p *Provider) UserInfo(ctx context.Context, accessToken string) (map[string]any, error) {
	if accessToken == "" {
		return nil, auth.ErrInvalidToken
	}
	c, err := p.auth.AuthenticateAppToken(ctx, accessToken)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(c.Granted, "openid") {
		return nil, auth.MissingScope("openid")
	}
	out := userClaims(c.User, c.Granted)
	out["sub"] = strconv.FormatUint(c.User.ID, 10)
	return out, nil
}

// Revoke serves RFC 7009: the app cc authenticates ends the session of
// one of its tokens; any other token changes nothing, and the answer is
// the same.
func (p *Provider) Revoke(ctx context.Context, form url.Values, cc ClientCredentials, client auth.Client) error {
	app, err := p.authenticate(ctx, cc)
	if err != nil {
		return err
	}
	tok := form.Get("token")
	if tok == "" || len(form["token"]) > 1 {
		return invalidRequest("Send one token.")
	}
	if len(tok) > 8192 {
		return nil
	}
	return p.auth.RevokeAppToken(ctx, tok, app.ClientID, client)
}
