package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
)

// passwordChanged is the JSON answer to a password change. A bearer-token
// caller's old token ended with its session's old id, so the answer
// carries a new token for the new id (the token response fields); a
// cookie caller gets a new cookie instead.
type passwordChanged struct {
	Detail string `json:"detail"`
	*auth.TokenResponse
}

// changePassword serves POST /admin/me/password and POST /api/me/password
// to a caller with user:write. It needs the current password (wrong: 422
// on current_password, and the caller stays logged in); on success every
// other session of the user ends, with its tokens, and the caller's own
// session goes on under a new id. A browser goes back to My info (303);
// errors are shown there, on the form.
func (h *handler) changePassword(c echo.Context) error {
	var in auth.PasswordChange
	if err := bind(c, &in); err != nil {
		return err
	}
	caller := callerOf(c)
	ctx := c.Request().Context()
	renewed, _, err := h.auth.ChangePassword(ctx, caller, in, clientOf(c))
	if err != nil {
		return withPage(err, "me.html", func() (any, error) { return h.newMePage(ctx, caller) })
	}
	if !caller.Bearer {
		if err := h.auth.SaveCookie(c.Response(), c.Request(), renewed); err != nil {
			return err
		}
	}
	if wantsJSON(c.Request()) {
		body := passwordChanged{Detail: outcomes["password_changed"].Detail}
		if caller.Bearer {
			tok, err := h.auth.IssueToken(c.Request().Context(), renewed)
			if err != nil {
				return err
			}
			body.TokenResponse = &tok
		}
		return c.JSON(http.StatusOK, body)
	}
	return seeOther(c, "/admin/me", "password_changed")
}
