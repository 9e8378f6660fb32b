package handlers

import (
	"errors"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
)

// reauthDone is what a re-authentication that worked says, by password
// or passkey.
const reauthDone = "Confirmed: you can go on."

// reauthPage is the data of reauth.html: the password (and code) form, or,
// for an account without a password, its providers' login buttons.
type reauthPage struct {
	Next        string
	HasPassword bool
	MFA         bool
	Passkey     bool // the account has a passkey to confirm with (and passkeys are on)
	Providers   []providerLink
}

func (h *handler) newReauthPage(caller *auth.Caller, next string) reauthPage {
	next = localPathOr(next, "/admin/me")
	return reauthPage{Next: next, HasPassword: caller.User.PasswordHash != "", MFA: caller.User.MFAEnabled,
		Passkey: h.auth.PasskeysOn() && slices.Contains(caller.User.View().Providers, models.PasskeyProvider), Providers: h.providerLinks(next)}
}

// showReauth serves GET /auth/reauth?next= to anyone logged in: "confirm
// it is you" before a sensitive action.
func (h *handler) showReauth(c echo.Context) error {
	h.allowFormRedirect(c, c.QueryParam("next"))
	return c.Render(http.StatusOK, "reauth.html", h.newReauthPage(callerOf(c), c.QueryParam("next")))
}

// reauth serves POST /auth/reauth and POST /api/me/reauth to anyone
// logged in: {"password"} plus "otp" or "recovery_code" when two-factor
// authentication is on. The session's auth_time becomes now; a page goes
// on to next.
func (h *handler) reauth(c echo.Context) error {
	var in auth.Reauth
	if err := bind(c, &in); err != nil {
		return err
	}
	caller := callerOf(c)
	next := ""
	if !wantsJSON(c.Request()) {
		next = c.FormValue("next")
	}
	if err := h.auth.Reauthenticate(c.Request().Context(), caller, in, clientOf(c)); err != nil {
		if errors.Is(err, auth.ErrInvalidCredentials) {
			// The contract's one answer for a wrong password, but this
			// page asks no username.
			err = sayOnPage(err, "Incorrect password.")
		}
		h.allowFormRedirect(c, next)
		return withPage(err, "reauth.html", data(h.newReauthPage(caller, next)))
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, detail{reauthDone})
	}
	return c.Redirect(http.StatusSeeOther, localPathOr(next, "/admin/me"))
}
