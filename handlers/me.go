package handlers

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
)

// eventsShown is how much of the security log My info and the admin's
// user page show.
const eventsShown = 20

// mePage is the data of me.html and the body of GET /api/me: the
// caller's user object (contract §2) plus their last security events,
// and, for the page only, the providers to connect or disconnect.
type mePage struct {
	models.UserView
	Events      []models.EventView `json:"events"`
	Connections []connection       `json:"-"`
	HasPassword bool               `json:"-"` // the page offers a password change only then
}

func (h *handler) newMePage(ctx context.Context, caller *auth.Caller) (mePage, error) {
	events, err := h.eventViews(ctx, caller.User.ID)
	if err != nil {
		return mePage{}, err
	}
	u := caller.User.View()
	return mePage{UserView: u, Events: events, Connections: h.connections(u), HasPassword: caller.User.PasswordHash != ""}, nil
}

// eventViews is userID's security log, newest first.
func (h *handler) eventViews(ctx context.Context, userID uint64) ([]models.EventView, error) {
	rows, err := h.store.EventsByUser(ctx, userID, eventsShown)
	if err != nil {
		return nil, err
	}
	views := make([]models.EventView, 0, len(rows))
	for i := range rows {
		views = append(views, rows[i].View())
	}
	return views, nil
}

// me serves GET /admin/me ("My info") and GET /api/me to a caller with
// user:read: the caller's own user object and their last 20 security
// events; the page also has the password form and the connected providers.
func (h *handler) me(c echo.Context) error {
	page, err := h.newMePage(c.Request().Context(), callerOf(c))
	if err != nil {
		return err
	}
	return respond(c, http.StatusOK, "me.html", page)
}
