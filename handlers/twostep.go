package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
)

// secondStepPage is the data of mfa_login.html, the second step of a
// browser's login.
type secondStepPage struct{}

// secondStepPage serves GET /auth/2fa: the code form of a browser's
// pending login. Without one (none, expired, used up) it is back to the
// login page.
func (h *handler) secondStepPage(c echo.Context) error {
	ok, next, err := h.auth.HasPendingLogin(c.Request())
	if err != nil {
		return err
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/auth/login?state=2")
	}
	h.allowFormRedirect(c, next)
	return c.Render(http.StatusOK, "mfa_login.html", secondStepPage{})
}

// secondStep serves POST /auth/2fa: a browser's pending login with its
// code (or a recovery code). Right: the session cookie and a 303 to where
// the login was going (or a token, for a client that asks for JSON).
// Wrong: the form again, 401 invalid_otp; a login that is gone, expired or
// out of tries goes back to the login page.
func (h *handler) secondStep(c echo.Context) error {
	var in auth.SecondStep
	if err := bind(c, &in); err != nil {
		return err
	}
	caller, next, err := h.auth.CompletePendingLogin(c.Response(), c.Request(), in, clientOf(c), callerOf(c))
	if err != nil {
		if _, next, perr := h.auth.HasPendingLogin(c.Request()); perr == nil {
			h.allowFormRedirect(c, next) // the form again, which may lead to an app
		}
		return withPage(err, "mfa_login.html", data(secondStepPage{}))
	}
	return h.loggedIn(c, caller, next)
}
