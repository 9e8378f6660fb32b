package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// me serves GET /admin/me ("My info") and GET /api/me to a caller with
// user:read: the caller's own user object.
func (h *handler) me(c echo.Context) error {
	return respond(c, http.StatusOK, "me.html", callerOf(c).User.View())
}
