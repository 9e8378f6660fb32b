package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
)

// The well-known documents (contract §8): public, the same for everyone,
// and cacheable for five minutes — a key rotated in keeps its old
// neighbours in the set for ACCESS_TOKEN_TTL, far longer.
const (
	jwksPath     = "/.well-known/jwks.json"
	metadataPath = "/.well-known/oauth-authorization-server"
	wellKnownTTL = "public, max-age=300"
)

// jwks serves GET /.well-known/jwks.json: the public keys that verify
// Gatehouse's access tokens (an empty set under HS256).
func (h *handler) jwks(c echo.Context) error {
	set, err := h.auth.JWKS(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, set)
}

// serverMetadata is RFC 8414's authorization server metadata.
type serverMetadata struct {
	Issuer                 string   `json:"issuer"`
	TokenEndpoint          string   `json:"token_endpoint"`
	JWKSURI                string   `json:"jwks_uri"`
	GrantTypesSupported    []string `json:"grant_types_supported"`
	ScopesSupported        []string `json:"scopes_supported"`
	ResponseTypesSupported []string `json:"response_types_supported"`
}

// metadata serves GET /.well-known/oauth-authorization-server (RFC 8414).
func (h *handler) metadata(c echo.Context) error {
	base := h.cfg.BaseURL.String()
	return c.JSON(http.StatusOK, serverMetadata{
		Issuer:                 base, // the tokens' iss
		TokenEndpoint:          base + "/api/login",
		JWKSURI:                base + jwksPath,
		GrantTypesSupported:    []string{"password", "refresh_token"},
		ScopesSupported:        auth.AllScopes,
		ResponseTypesSupported: []string{},
	})
}
