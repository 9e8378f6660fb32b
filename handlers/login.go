package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
)

// loginMessages are the login page's messages, chosen by ?state= (contract §3).
var loginMessages = map[string]string{
	"1": "This session has not been logged in before",
	"2": "Please log in to continue",
	"3": "Incorrect username or password",
	"4": "You have been logged out",
	"5": "Your session has expired",
	"6": auth.ForgotSent,
	"7": "Your password has been changed. Log in with the new one.",
	"8": "Your email address is verified",
}

// loginPage is the data of login.html.
type loginPage struct {
	Username          string
	Next              string
	Message           string
	AllowRegistration bool
	Passkeys          bool // passkeys are on: the page offers "Log in with a passkey"
	Providers         []providerLink
}

// providerLink is one "Continue with …" button.
type providerLink struct {
	Name, URL string
}

func (h *handler) newLoginPage(username, next string) loginPage {
	next = localPathOr(next, "")
	return loginPage{Username: username, Next: next, AllowRegistration: h.cfg.AllowRegistration,
		Passkeys: h.auth.PasskeysOn(), Providers: h.providerLinks(next)}
}

// loginPage serves GET / and GET /auth/login: the login form, with the
// message ?state= asks for. A browser that is logged in goes home (303).
func (h *handler) loginPage(c echo.Context) error {
	if callerOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/auth/home")
	}
	// login_hint: an application (contract §10) names who logs in.
	hint := c.QueryParam("login_hint")
	if len(hint) > models.MaxEmail || models.ValidateLine(hint) != "" {
		hint = ""
	}
	page := h.newLoginPage(hint, c.QueryParam("next"))
	h.allowFormRedirect(c, page.Next)
	page.Message = loginMessages[c.QueryParam("state")]
	return c.Render(http.StatusOK, "login.html", page)
}

// login serves POST /auth/token (the login form) and POST /api/login.
// Both check the password and open a server-side session with its cookie;
// a browser then gets a 303 home (or to a safe local next), an API client
// an access token and a refresh token bound to that session. A JSON
// client sending grant_type=refresh_token is served as POST /api/token
// serves it: the server metadata names this route the token endpoint.
func (h *handler) login(c echo.Context) error {
	var in loginRequest // username, password, scope: form, multipart or JSON
	if err := bind(c, &in); err != nil {
		return err
	}
	if grant, ok := in.refreshGrant(); ok && wantsJSON(c.Request()) {
		return h.refresh(c, grant)
	}
	next := ""
	if !wantsJSON(c.Request()) {
		next = c.FormValue("next")
	}
	caller, err := h.auth.Login(c.Request().Context(), in.Credentials, clientOf(c), callerOf(c))
	var need *auth.MFARequired
	if errors.As(err, &need) && !wantsJSON(c.Request()) {
		// The password was right: a browser asks for the code on a page
		// of its own (/auth/2fa); JSON clients send the login again.
		if err := h.auth.PendLogin(c.Request().Context(), c.Response(), need, localPathOr(next, "")); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/auth/2fa")
	}
	if err != nil {
		// 401, 403, 422, 429 or 503: the same status in both formats; a
		// browser sees it on the login page with the email it typed.
		return withPage(err, "login.html", data(h.newLoginPage(in.Username, next)))
	}
	return h.loggedIn(c, caller, next)
}

// loggedIn answers a login that opened caller's session (the password
// form, or its second step): the session cookie, then a token for a
// client that asks for JSON, or a 303 home (or to a safe local next).
func (h *handler) loggedIn(c echo.Context, caller *auth.Caller, next string) error {
	if err := h.auth.SaveCookie(c.Response(), c.Request(), caller); err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		token, err := h.auth.IssueToken(c.Request().Context(), caller)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, token)
	}
	return c.Redirect(http.StatusSeeOther, localPathOr(next, "/auth/home"))
}

// logout serves POST /auth/logout and POST /api/logout: it ends the
// session the cookie or the bearer token rides on (and with it every
// token bound to it). A browser goes to the login page (state 4, or 1 when
// there was no session); an API client without a session gets 401.
func (h *handler) logout(c echo.Context) error {
	caller := callerOf(c)
	if caller == nil {
		if wantsJSON(c.Request()) {
			return authErrorOf(c)
		}
		return c.Redirect(http.StatusSeeOther, "/auth/login?state=1")
	}
	if err := h.auth.Logout(c.Response(), c.Request(), caller, clientOf(c)); err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, detail{"Logged out"})
	}
	return c.Redirect(http.StatusSeeOther, "/auth/login?state=4")
}

// home serves GET /auth/home to anyone logged in.
func (h *handler) home(c echo.Context) error {
	return c.Render(http.StatusOK, "home.html", nil)
}

// clientOf is where the request comes from: the socket's IP, or
// X-Forwarded-For's from a trusted proxy (see ipExtractor).
func clientOf(c echo.Context) auth.Client {
	return auth.Client{IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
}
