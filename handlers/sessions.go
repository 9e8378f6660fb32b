package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/models"
)

// sessionsPage is the data of sessions.html and the body of
// GET /api/me/sessions.
type sessionsPage struct {
	Items []models.SessionView `json:"items"`
}

// ended is the answer to a request that ended sessions.
type ended struct {
	Detail string `json:"detail"`
	Ended  int64  `json:"ended"`
}

// listSessions serves GET /admin/me/sessions and GET /api/me/sessions to
// a caller with user:read: the caller's live sessions, newest first, the
// one the request rides on marked current.
func (h *handler) listSessions(c echo.Context) error {
	caller := callerOf(c)
	items, err := h.auth.Sessions(c.Request().Context(), caller.User.ID, caller.Session.PublicID)
	if err != nil {
		return err
	}
	return respond(c, http.StatusOK, "sessions.html", sessionsPage{Items: items})
}

// revokeSession serves POST /admin/me/sessions/{id}/revoke and POST
// /api/me/sessions/{id}/revoke to a caller with user:write: it ends one of
// the caller's sessions, with its cookie and every token bound to it. A
// session that is not the caller's is 404. Ending the session the request
// rides on is a logout: a browser goes to the login page (state 4).
func (h *handler) revokeSession(c echo.Context) error {
	caller := callerOf(c)
	current, err := h.auth.RevokeSession(c.Response(), c.Request(), caller, c.Param("id"), clientOf(c))
	if err != nil {
		return err
	}
	if current && !wantsJSON(c.Request()) {
		return c.Redirect(http.StatusSeeOther, "/auth/login?state=4")
	}
	return succeeded(c, http.StatusOK, "session_ended", "/admin/me/sessions")
}

// revokeOtherSessions serves POST /admin/me/sessions/revoke-others and
// POST /api/me/sessions/revoke-others to a caller with user:write: "log
// out everywhere else". It says how many sessions ended.
func (h *handler) revokeOtherSessions(c echo.Context) error {
	n, err := h.auth.RevokeOtherSessions(c.Request().Context(), callerOf(c), clientOf(c))
	if err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, ended{Detail: outcomes["sessions_ended"].Detail, Ended: n})
	}
	return seeOther(c, "/admin/me/sessions", "sessions_ended")
}
