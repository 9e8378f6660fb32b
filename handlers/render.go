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

// flashes are the messages a redirect may ask the next page to show, by
// code (?flash=…): fixed texts, so a link cannot put words on our page.
var flashes = map[string]string{
	"password_changed":    "Your password has been changed.",
	"session_ended":       "The session has been ended.",
	"sessions_ended":      "Your other sessions have been ended.",
	"user_sessions_ended": "Their sessions have been ended.",
	"saved":               "Saved.",
	"posted":              "Your post has been published.",

	"provider_linked":   "The provider is now connected: you can log in with it.",
	"provider_unlinked": "The provider has been disconnected.",

	"mfa_disabled":      "Two-factor authentication is off.",
	"user_mfa_reset":    "Their two-factor authentication is off and their sessions have been ended.",
	"email_verified":    "Your email address is verified.",
	"email_changed":     "Your email address has been changed.",
	"verification_sent": "We have sent you a new verification link.",
	"email_change_sent": "We have sent a confirmation link to the new address.",
}

func flashOf(c echo.Context) string {
	if c.Request().Method != http.MethodGet {
		return ""
	}
	return flashes[c.QueryParam("flash")]
}
