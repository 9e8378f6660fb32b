package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
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
