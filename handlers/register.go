package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
)

// registerPage is the data of register.html: what was typed, never the
// password.
type registerPage struct {
	Email    string
	FullName string
}

// registrationOn hides sign-up while ALLOW_REGISTRATION is off: 404 in
// both formats, as if the route did not exist.
func (h *handler) registrationOn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !h.cfg.AllowRegistration {
			return models.ErrNotFound
		}
		return next(c)
	}
}

// registerPage serves GET /auth/register to anyone while registration is
// on: the sign-up form. A browser that is logged in goes home (303).
func (h *handler) registerPage(c echo.Context) error {
	if callerOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/auth/home")
	}
	return c.Render(http.StatusOK, "register.html", registerPage{})
}

// register serves POST /auth/register and POST /api/register to anyone
// while registration is on. It creates the account with the default
// scopes: an API client gets 201 and the user object (and logs in as
// usual); a browser is logged in at once — a new session, ending the one
// it had — and goes home (303). Bad fields are 422 and an email in use
// 409, redrawn on the form with what was typed.
func (h *handler) register(c echo.Context) error {
	var in auth.NewUser
	if err := bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := h.auth.Register(ctx, in, clientOf(c))
	if err != nil {
		return withPage(err, "register.html", data(registerPage{Email: in.Email, FullName: in.FullName}))
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusCreated, u.View())
	}
	caller, err := h.auth.OpenSession(ctx, u, clientOf(c), callerOf(c), "registration")
	if err != nil {
		return err
	}
	if err := h.auth.SaveCookie(c.Response(), c.Request(), caller); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/auth/home")
}
