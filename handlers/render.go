package handlers

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
	"gatehouse/templates"
)

// view is what every page template receives: its own typed data as Page,
// plus the request chrome, filled here so no handler sets it by hand.
type view struct {
	Page    any
	User    *models.User // the logged-in user, or nil
	Admin   bool         // the caller may see the admin pages
	Flash   string
	Problem *problem // set by the error handler
}

// renderer is Echo's Renderer over the parsed template set.
type renderer struct {
	pages *templates.Set
}

// Render wraps data in a view (unless it is one already) and fills in the
// caller.
func (r *renderer) Render(w io.Writer, name string, data any, c echo.Context) error {
	v, ok := data.(view)
	if !ok {
		v = view{Page: data}
	}
	if caller := callerOf(c); caller != nil {
		v.User = caller.User
		v.Admin = caller.Has(auth.ScopeAdminRead)
	}
	if v.Flash == "" {
		v.Flash = flashOf(c)
	}
	return r.pages.Render(w, name, v)
}

// An outcome is what a change that worked says, in one place for both
// formats: Detail is the JSON answer's "detail", Flash the message on the
// page a browser is sent to (?flash=code: fixed texts, so a link cannot
// put words on our page). Flash is Detail unless the contract pins a
// terser JSON wording; an outcome without Detail answers JSON with words
// of its own (a provider's name, a count).
type outcome struct{ Detail, Flash string }

var outcomes = map[string]outcome{
	"password_changed":    {"Password changed", "Your password has been changed."},
	"session_ended":       {"Session ended", "The session has been ended."},
	"sessions_ended":      {Detail: "Your other sessions have been ended."},
	"user_sessions_ended": {Detail: "Their sessions have been ended."},
	"saved":               {Flash: "Saved."},
	"app_disconnected":    {"Application disconnected", "The application has been disconnected: its sessions ended and it will ask again."},
	"posted":              {Flash: "Your post has been published."},

	"provider_linked":   {Flash: "The provider is now connected: you can log in with it."},
	"provider_unlinked": {Flash: "The provider has been disconnected."},
	"passkey_added":     {Flash: "Your passkey has been added: you can log in with it."},
	"passkey_removed":   {"Passkey removed", "The passkey has been removed."},

	"mfa_disabled":      {Detail: "Two-factor authentication is off."},
	"user_mfa_reset":    {Detail: "Their two-factor authentication is off and their sessions have been ended."},
	"email_verified":    {"Email verified", "Your email address is verified."},
	"email_changed":     {"Email verified", "Your email address has been changed."},
	"verified_already":  {"Your email address is verified already.", "Your email address is verified."},
	"verification_sent": {Detail: "We have sent you a new verification link."},
	"email_change_sent": {Detail: "We have sent a confirmation link to the new address."},
}

// flash is what the page says of o.
func (o outcome) flash() string {
	if o.Flash != "" {
		return o.Flash
	}
	return o.Detail
}

// succeeded answers a change that worked with outcome code: JSON gets
// status and its detail, a browser a 303 to path, which shows its flash.
func succeeded(c echo.Context, status int, code, path string) error {
	if wantsJSON(c.Request()) {
		return c.JSON(status, detail{outcomes[code].Detail})
	}
	return seeOther(c, path, code)
}

// seeOther sends a browser to path with outcome code to show there.
func seeOther(c echo.Context, path, code string) error {
	return c.Redirect(http.StatusSeeOther, path+"?flash="+code)
}

func flashOf(c echo.Context) string {
	if c.Request().Method != http.MethodGet {
		return ""
	}
	return outcomes[c.QueryParam("flash")].flash()
}
