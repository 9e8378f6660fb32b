package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/models"
)

// mePage is the data of me.html: the user object, which is the JSON
// twin's whole answer, and, for the page only, the providers to connect
// or disconnect.
type mePage struct {
	models.UserView
	Connections []connection `json:"-"`
}

func (h *handler) newMePage(u models.UserView) mePage {
	return mePage{UserView: u, Connections: h.connections(u)}
}

// me serves GET /admin/me ("My info") and GET /api/me to a caller with
// user:read: the caller's own user object.
func (h *handler) me(c echo.Context) error {
	return respond(c, http.StatusOK, "me.html", h.newMePage(callerOf(c).User.View()))
}
