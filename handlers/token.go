package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
)

// refreshToken serves POST /api/token (RFC 6749 §6) to anyone holding a
// refresh token: grant_type=refresh_token, refresh_token and an optional
// narrower scope, as a form or JSON. It answers a new token response — a
// new access token and a new refresh token — and the one presented is
// spent. It is JSON only: refresh tokens are given to API clients, never
// to a browser's pages, so it has no HTML twin.
func (h *handler) refreshToken(c echo.Context) error {
	var in auth.RefreshRequest
	if err := bind(c, &in); err != nil {
		return err
	}
	return h.refresh(c, in)
}

// refresh answers a refresh-token grant, read by refreshToken or login:
// the new token response, or the error (400 invalid_grant or
// unsupported_grant_type, 422 for a missing field).
func (h *handler) refresh(c echo.Context, in auth.RefreshRequest) error {
	token, err := h.auth.Refresh(c.Request().Context(), in, clientOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, token)
}

// loginRequest is what POST /api/login reads: a password login, or — since
// the server metadata (RFC 8414) names /api/login the token endpoint for
// both grants it lists — a refresh-token grant, served as /api/token
// serves it.
type loginRequest struct {
	auth.Credentials
	RefreshToken string `json:"refresh_token" form:"refresh_token"`
}

// refreshGrant reports whether the request is a refresh-token grant, and
// returns it.
func (in *loginRequest) refreshGrant() (auth.RefreshRequest, bool) {
	return auth.RefreshRequest{GrantType: in.GrantType, RefreshToken: in.RefreshToken, Scope: in.Scope},
		in.GrantType == "refresh_token"
}
