package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
)

// The purposes of the links each page accepts.
const (
	linkReset  = models.LinkReset
	linkVerify = models.LinkVerify
	linkChange = models.LinkChange
)

// forgotPage is the data of forgot.html: the address typed.
type forgotPage struct {
	Email string
}

// linkPage is the data of reset.html and verify.html: the token of the
// mailed link (echoed in the form, never in a URL the page links to), or
// Invalid when the link is unknown, used or expired. Email is the address
// a verification link confirms, which its page names.
type linkPage struct {
	Token   string
	Email   string
	Invalid bool
}

// forgotInput is the body of a forgot-password request.
type forgotInput struct {
	Email string `json:"email" form:"email"`
}

// forgotPage serves GET /auth/forgot to anyone: the forgot-password form.
func (h *handler) forgotPage(c echo.Context) error {
	return c.Render(http.StatusOK, "forgot.html", forgotPage{})
}

// forgotPassword serves POST /auth/forgot and POST /api/password/forgot
// to anyone. The answer is the same whether the address has an account or
// not (auth.Service.ForgotPassword does the same work for both): a
// browser goes to the login page with state 6, an API client gets 202
// and the same sentence. A malformed address is 422, too many requests 429.
func (h *handler) forgotPassword(c echo.Context) error {
	var in forgotInput
	if err := bind(c, &in); err != nil {
		return err
	}
	if err := h.auth.ForgotPassword(c.Request().Context(), in.Email, clientOf(c)); err != nil {
		return withPage(err, "forgot.html", data(forgotPage(in)))
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusAccepted, detail{auth.ForgotSent})
	}
	return c.Redirect(http.StatusSeeOther, "/auth/login?state=6")
}

// resetPage serves GET /auth/reset?token=T to anyone: the new-password
// form of a live reset link, or a 400 invalid_link page. It changes
// nothing: the form's POST does.
func (h *handler) resetPage(c echo.Context) error {
	token := c.QueryParam("token")
	if err := h.auth.CheckLink(c.Request().Context(), token, linkReset); err != nil {
		return withPage(err, "reset.html", data(linkPage{Invalid: true}))
	}
	return c.Render(http.StatusOK, "reset.html", linkPage{Token: token})
}

// resetPassword serves POST /auth/reset and POST /api/password/reset to
// anyone holding a live reset link: it sets the new password and ends
// every session of the account. A browser goes to the login page (state
// 7), an API client gets 200. A bad link is 400 invalid_link, a weak
// password 422 (the form is shown again).
func (h *handler) resetPassword(c echo.Context) error {
	var in auth.LinkReset
	if err := bind(c, &in); err != nil {
		return err
	}
	if err := h.auth.ResetPasswordWithLink(c.Request().Context(), in, clientOf(c)); err != nil {
		page := linkPage{Token: in.Token, Invalid: errors.Is(err, auth.ErrInvalidLink)}
		if page.Invalid {
			page.Token = ""
		}
		return withPage(err, "reset.html", data(page))
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, detail{"Password changed"})
	}
	return c.Redirect(http.StatusSeeOther, "/auth/login?state=7")
}

// verifyPage serves GET /auth/verify?token=T to anyone: a "Confirm"
// button for a live verification or address-change link, or a 400
// invalid_link page. It changes nothing: the button's POST does.
func (h *handler) verifyPage(c echo.Context) error {
	token := c.QueryParam("token")
	email, err := h.auth.LinkAddress(c.Request().Context(), token, linkVerify, linkChange)
	if err != nil {
		return withPage(err, "verify.html", data(linkPage{Invalid: true}))
	}
	return c.Render(http.StatusOK, "verify.html", linkPage{Token: token, Email: email})
}

// verifyEmail serves POST /auth/verify and POST /api/email/verify to
// anyone holding a live verification or address-change link: the
// address is verified, or the account moves to the new one. A browser
// goes to My info when logged in, else to the login page (state 8); an
// API client gets 200. A bad link is 400, an address taken meanwhile 409.
func (h *handler) verifyEmail(c echo.Context) error {
	var in auth.LinkToken
	if err := bind(c, &in); err != nil {
		return err
	}
	changed, err := h.auth.VerifyEmail(c.Request().Context(), in, clientOf(c))
	if err != nil {
		return withPage(err, "verify.html", data(linkPage{Invalid: errors.Is(err, auth.ErrInvalidLink)}))
	}
	code := "email_verified"
	if changed {
		code = "email_changed"
	}
	if !wantsJSON(c.Request()) && callerOf(c) == nil {
		return c.Redirect(http.StatusSeeOther, "/auth/login?state=8")
	}
	return succeeded(c, http.StatusOK, code, "/admin/me")
}

// resendVerification serves POST /admin/me/email/resend and POST
// /api/me/email/resend to a caller with user:write: a new verification
// link (3 an hour, then 429). 202 in JSON, 303 back to My info.
func (h *handler) resendVerification(c echo.Context) error {
	caller := callerOf(c)
	ctx := c.Request().Context()
	sent, err := h.auth.ResendVerification(ctx, caller, clientOf(c))
	if err != nil {
		return withPage(err, "me.html", func() (any, error) { return h.newMePage(ctx, caller) })
	}
	if !sent {
		return succeeded(c, http.StatusAccepted, "verified_already", "/admin/me")
	}
	return succeeded(c, http.StatusAccepted, "verification_sent", "/admin/me")
}

// changeEmail serves POST /admin/me/email and POST /api/me/email to a
// caller with user:write: it mails a confirmation link to the new address
// and a notice to the old one; nothing changes until the link is
// confirmed. 202 in JSON, 303 back to My info. A wrong current password
// is 422, an address in use 409, without a recent login (an account
// without a password) 401 reauth_required.
func (h *handler) changeEmail(c echo.Context) error {
	var in auth.EmailChange
	if err := bind(c, &in); err != nil {
		return err
	}
	caller := callerOf(c)
	ctx := c.Request().Context()
	if err := h.auth.ChangeEmail(ctx, caller, in, clientOf(c)); err != nil {
		return withPage(err, "me.html", func() (any, error) {
			page, err := h.newMePage(ctx, caller)
			page.NewEmail, page.EmailForm = in.NewEmail, true
			return page, err
		})
	}
	return succeeded(c, http.StatusAccepted, "email_change_sent", "/admin/me")
}
