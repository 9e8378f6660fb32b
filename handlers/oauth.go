package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
)

// authURL is the JSON answer of a flow's start: where the client sends
// the browser.
type authURL struct {
	URL string `json:"url"`
}

// oauthToken is the JSON callback's answer: the token response plus the user.
type oauthToken struct {
	auth.TokenResponse
	User models.UserView `json:"user"`
}

// linkedAnswer is the JSON callback's answer to a link flow.
type linkedAnswer struct {
	Detail string          `json:"detail"`
	User   models.UserView `json:"user"`
}

// oauthLogin serves GET /auth/oauth/{provider}/login and GET
// /api/oauth/{provider}/login, to anyone: it begins a login through the
// provider, remembering a safe local next. A browser is sent there (302);
// a single-page app or script gets {"url": …} and sends the browser
// itself. Both get the binding cookie the callback checks. An unknown or
// switched-off provider is 404; one that is down, 502.
func (h *handler) oauthLogin(c echo.Context) error {
	next := localPathOr(c.QueryParam("next"), "")
	to, err := h.auth.StartOAuth(c.Response(), c.Request(), c.Param("provider"), next, nil)
	if err != nil {
		return h.onLoginPage(c, err, next)
	}
	return sendTo(c, to)
}

// oauthCallback serves GET /auth/oauth/{provider}/callback (the
// provider's redirect back) and GET /api/oauth/{provider}/callback (a
// single-page app passing on the same code and state), to anyone holding
// the state and its browser's binding cookie. A login opens a session
// exactly like a password login: a browser gets the cookie and a 303 to
// next or /auth/home, an API client also the token response plus "user".
// A link flow (begun from My info) connects the provider and returns to
// My info. Failures show on the login page, with the JSON twin's status.
func (h *handler) oauthCallback(c echo.Context) error {
	reply := auth.OAuthReply{Code: c.QueryParam("code"), State: c.QueryParam("state"),
		Error: c.QueryParam("error"), Issuer: c.QueryParam("iss")}
	res, err := h.auth.FinishOAuth(c.Request(), c.Param("provider"), reply, clientOf(c), callerOf(c))
	if err != nil {
		return h.onLoginPage(c, err, "")
	}
	if res.Linked {
		if wantsJSON(c.Request()) {
			return c.JSON(http.StatusOK, linkedAnswer{"Connected " + h.auth.ProviderDisplay(c.Param("provider")), res.User.View()})
		}
		return seeOther(c, "/admin/me", "provider_linked")
	}
	if err := h.auth.SaveCookie(c.Response(), c.Request(), res.Login); err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		token, err := h.auth.IssueToken(c.Request().Context(), res.Login)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, oauthToken{token, res.User.View()})
	}
	return c.Redirect(http.StatusSeeOther, localPathOr(res.Next, "/auth/home"))
}

// linkProvider serves GET /admin/me/providers/{provider}/link and GET
// /api/me/providers/{provider}/link to a caller with user:write: "Connect
// X" on My info. It begins a flow that, at the callback, connects the
// provider account to the caller's user instead of logging in. It is a
// GET like the login's start because a form POST answered by a redirect
// to another site is blocked by the pages' CSP (form-action 'self'); it
// changes nothing until the same browser comes back from the provider
// with the same user's credentials.
func (h *handler) linkProvider(c echo.Context) error {
	to, err := h.auth.StartOAuth(c.Response(), c.Request(), c.Param("provider"), "", callerOf(c))
	if err != nil {
		return err
	}
	return sendTo(c, to)
}

// unlinkProvider serves POST /admin/me/providers/{provider}/unlink and
// POST /api/me/providers/{provider}/unlink to a caller with user:write:
// "Disconnect X" on My info. The last way left to log in cannot go (409
// last_login_method, shown on My info); a provider that is not connected
// is 404.
func (h *handler) unlinkProvider(c echo.Context) error {
	caller := callerOf(c)
	name := c.Param("provider")
	ctx := c.Request().Context()
	if err := h.auth.UnlinkProvider(ctx, caller.User.ID, name, clientOf(c)); err != nil {
		return withPage(err, "me.html", func() (any, error) { return h.newMePage(ctx, caller) })
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, detail{"Disconnected " + h.auth.ProviderDisplay(name)})
	}
	return seeOther(c, "/admin/me", "provider_unlinked")
}

// sendTo sends the client to a provider: a browser by a 302, an API
// client by {"url": …}.
func sendTo(c echo.Context, to string) error {
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, authURL{to})
	}
	return c.Redirect(http.StatusFound, to)
}

// onLoginPage shows a failed OAuth step to a browser on the login page,
// or, when the browser is logged in (a link flow), on the error page; an
// unknown provider is the plain 404 page.
func (h *handler) onLoginPage(c echo.Context, err error, next string) error {
	if errors.Is(err, models.ErrNotFound) || callerOf(c) != nil {
		return err
	}
	return withPage(err, "login.html", data(h.newLoginPage("", next)))
}

// providerLinks are the login page's "Continue with …" buttons, one per
// switched-on provider, carrying next.
func (h *handler) providerLinks(next string) []providerLink {
	var links []providerLink
	for _, p := range h.auth.Providers() {
		href := "/auth/oauth/" + p.Name + "/login"
		if next != "" {
			href += "?" + url.Values{"next": {next}}.Encode()
		}
		links = append(links, providerLink{Name: p.Display, URL: href})
	}
	return links
}

// connection is one provider on My info: connect it, or disconnect it.
type connection struct {
	Name, Display string
	Linked        bool
}

// connections lists the switched-on providers, and any switched-off one
// the user is still linked to (so it can be disconnected).
func (h *handler) connections(u models.UserView) []connection {
	linked := map[string]bool{}
	for _, p := range u.Providers {
		linked[p] = true
	}
	var out []connection
	for _, p := range h.auth.Providers() {
		out = append(out, connection{Name: p.Name, Display: p.Display, Linked: linked[p.Name]})
		delete(linked, p.Name)
	}
	for _, p := range u.Providers {
		if linked[p] && p != "password" {
			out = append(out, connection{Name: p, Display: h.auth.ProviderDisplay(p), Linked: true})
		}
	}
	return out
}
