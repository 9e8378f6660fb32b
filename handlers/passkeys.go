package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
)

// passkeysOn answers 404 on every passkey route while passkeys are off
// (BASE_URL on an IP address and no WEBAUTHN_RP_ID, contract §11): to a
// client they do not exist.
func (h *handler) passkeysOn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !h.auth.PasskeysOn() {
			return models.ErrNotFound
		}
		return next(c)
	}
}

// passkeysPage is the data of passkeys.html and the body of GET
// /api/me/passkeys.
type passkeysPage struct {
	Items []models.PasskeyView `json:"items"`
}

// listPasskeys serves GET /admin/me/passkeys and GET /api/me/passkeys to
// a caller with user:read: their passkeys, oldest first. The page adds
// and removes them (static/js/passkeys.js calls the routes below).
func (h *handler) listPasskeys(c echo.Context) error {
	items, err := h.auth.Passkeys(c.Request().Context(), callerOf(c).User.ID)
	if err != nil {
		return err
	}
	return respond(c, http.StatusOK, "passkeys.html", passkeysPage{Items: items})
}

// beginPasskeyRegistration serves POST /api/me/passkeys/register/begin to
// a caller with user:write and a recent authentication: the creation
// options for navigator.credentials.create, {"publicKey": {…}}.
func (h *handler) beginPasskeyRegistration(c echo.Context) error {
	opts, err := h.auth.BeginPasskeyRegistration(c.Request().Context(), callerOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, opts)
}

// finishPasskeyRegistration serves POST /api/me/passkeys/register/finish
// to a caller with user:write: {"name", "credential"} → 201 and the
// passkey object.
func (h *handler) finishPasskeyRegistration(c echo.Context) error {
	var in auth.PasskeyRegistration
	if err := bind(c, &in); err != nil {
		return err
	}
	p, err := h.auth.FinishPasskeyRegistration(c.Request().Context(), callerOf(c), in, clientOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

// removePasskey serves POST /admin/me/passkeys/{id}/remove (the page's
// form) and POST /api/me/passkeys/{id}/remove to a caller with user:write
// and a recent authentication. The last way to log in stays: 409
// last_login_method. Not the caller's: 404.
func (h *handler) removePasskey(c echo.Context) error {
	caller := callerOf(c)
	if err := h.auth.RemovePasskey(c.Request().Context(), caller, c.Param("id"), clientOf(c)); err != nil {
		return withPage(err, "passkeys.html", func() (any, error) {
			items, err := h.auth.Passkeys(c.Request().Context(), caller.User.ID)
			return passkeysPage{Items: items}, err
		})
	}
	return succeeded(c, http.StatusOK, "passkey_removed", "/admin/me/passkeys")
}

// beginPasskeyLogin serves POST /api/passkeys/login/begin to anyone: a
// discoverable login's request options and the flow its finish names,
// {"flow", "publicKey"}.
func (h *handler) beginPasskeyLogin(c echo.Context) error {
	opts, err := h.auth.BeginPasskeyLogin(c.Request().Context(), clientOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, opts)
}

// passkeyLogin serves POST /api/passkeys/login/finish to anyone:
// {"flow", "credential"}. A passkey that is accepted opens a session as a
// password login does — the same cookie and the same token response
// (loggedIn); one that is not is 401 invalid_passkey, counted by the
// per-IP throttle.
func (h *handler) passkeyLogin(c echo.Context) error {
	var in auth.PasskeyAnswer
	if err := bind(c, &in); err != nil {
		return err
	}
	caller, err := h.auth.PasskeyLogin(c.Request().Context(), in, clientOf(c), callerOf(c))
	if err != nil {
		return err
	}
	return h.loggedIn(c, caller, "")
}

// beginPasskeyReauth serves POST /api/me/reauth/passkey/begin to anyone
// logged in: {"flow", "publicKey"} with the caller's passkeys in
// allowCredentials.
func (h *handler) beginPasskeyReauth(c echo.Context) error {
	opts, err := h.auth.BeginPasskeyReauth(c.Request().Context(), callerOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, opts)
}

// passkeyReauth serves POST /api/me/reauth/passkey/finish to anyone
// logged in: {"flow", "credential"}; one of the caller's passkeys that
// verifies makes the session's auth_time now.
func (h *handler) passkeyReauth(c echo.Context) error {
	var in auth.PasskeyAnswer
	if err := bind(c, &in); err != nil {
		return err
	}
	if err := h.auth.PasskeyReauth(c.Request().Context(), callerOf(c), in, clientOf(c)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, detail{reauthDone})
}
