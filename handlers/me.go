package handlers

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
)

// eventsShown is how much of the security log My info and the admin's
// user page show, and what GET /api/me/events answers by default.
const eventsShown = 20

// maxEvents is the largest limit GET /api/me/events accepts.
const maxEvents = models.MaxEvents

// mePage is the data of me.html: the caller's user object (contract §2),
// their last security events, and the providers to connect or disconnect.
type mePage struct {
	User        models.UserView // a named field, not embedded: templates find it without a search
	Events      []models.EventView
	Connections []connection
	HasPassword bool   // the page offers a password change only then
	Passkeys    bool   // passkeys are on: the page links to the passkeys page
	NewEmail    string // what was typed in the address-change form
	EmailForm   bool   // the problem shown is the address-change form's
}

func (h *handler) newMePage(ctx context.Context, caller *auth.Caller) (mePage, error) {
	events, err := h.auth.Events(ctx, caller.User.ID, eventsShown)
	if err != nil {
		return mePage{}, err
	}
	u := caller.User.View()
	return mePage{User: u, Events: events, Connections: h.connections(u), HasPassword: caller.User.PasswordHash != "",
		Passkeys: h.auth.PasskeysOn()}, nil
}

// me serves GET /admin/me ("My info") and GET /api/me to a caller with
// user:read. JSON clients get the user object alone (contract §2), which
// the authentication already read: no query of its own. The page adds the
// last 20 security events, the password form and the connected providers.
func (h *handler) me(c echo.Context) error {
	caller := callerOf(c)
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, caller.User.View())
	}
	page, err := h.newMePage(c.Request().Context(), caller)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "me.html", page)
}

// eventList is the data of events.html and the body of GET /api/me/events.
type eventList struct {
	Items []models.EventView `json:"items"`
}

var errBadLimit = &models.Error{Kind: models.BadRequest, Code: "bad_request", Detail: "limit must be a whole number."}

// listEvents serves GET /admin/me/events and GET /api/me/events?limit= to
// a caller with user:read: their security log, newest first. limit is 1–100
// (default 20); a limit that is not a number is 400, one out of range 422.
func (h *handler) listEvents(c echo.Context) error {
	limit := eventsShown
	if raw := c.QueryParam("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return errBadLimit
		}
		if n < 1 || n > maxEvents {
			return models.InvalidFields(map[string]string{"limit": "Use a number from 1 to 100."})
		}
		limit = n
	}
	items, err := h.auth.Events(c.Request().Context(), callerOf(c).User.ID, limit)
	if err != nil {
		return err
	}
	return respond(c, http.StatusOK, "events.html", eventList{Items: items})
}
