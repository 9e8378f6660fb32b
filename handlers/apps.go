package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/idp"
	"gatehouse/models"
)

// The routes of Gatehouse as an OpenID Connect provider (contract §10).
// The protocol is package idp's; these read the request and answer it.

// authorize serves GET and POST /oauth2/authorize: the browser comes from
// an application. It goes back there (a code or an error), to Gatehouse's
// login or re-authentication (which return here), or sees the consent
// page. An unknown client or an unregistered redirect URI is a 400 page.
func (h *handler) authorize(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	d, err := h.idp.Authorize(c.Request().Context(), form, callerOf(c), "", clientOf(c))
	if err != nil {
		return err
	}
	return h.authorized(c, d)
}

// consent serves POST /oauth2/consent, the consent page's form: "allow"
// or "deny" for the request it carries, which is decided again in full.
func (h *handler) consent(c echo.Context) error {
	form, err := url.ParseQuery(c.FormValue("request"))
	if err != nil || len(form) == 0 {
		return badRequest("The consent form was not complete. Go back to the application and start again.")
	}
	answer := c.FormValue("decision")
	if answer != "allow" && answer != "deny" {
		return badRequest(`Choose "Allow" or "Deny".`)
	}
	d, err := h.idp.Authorize(c.Request().Context(), form, callerOf(c), answer, clientOf(c))
	if err != nil {
		return err
	}
	return h.authorized(c, d)
}

// consentPage is the data of consent.html.
type consentPage struct {
	idp.ConsentPage
}

func (h *handler) authorized(c echo.Context, d idp.Decision) error {
	if d.Consent != nil {
		allowFormAction(c, d.Consent.RedirectOrigin)
		return c.Render(http.StatusOK, "consent.html", consentPage{*d.Consent})
	}
	if strings.HasPrefix(d.Redirect, "/") {
		return c.Redirect(http.StatusSeeOther, d.Redirect) // Gatehouse's own login
	}
	return c.Redirect(http.StatusFound, d.Redirect) // RFC 6749 §4.1.2
}

// clientCredentials reads a token or revocation request's client
// authentication: HTTP Basic (RFC 6749 §2.3.1: form-encoded id and
// secret) or client_id and client_secret in the form; both at once is an
// invalid request.
func clientCredentials(c echo.Context, form url.Values) (idp.ClientCredentials, error) {
	req := c.Request()
	id, secret, basic := req.BasicAuth()
	if !basic {
		if h := req.Header.Get("Authorization"); h != "" && !strings.HasPrefix(strings.ToLower(h), "bearer ") {
			return idp.ClientCredentials{}, idp.ErrInvalidClient
		}
		if len(form["client_id"]) > 1 || len(form["client_secret"]) > 1 {
			return idp.ClientCredentials{}, badRequest("client_id or client_secret was sent more than once.")
		}
		return idp.ClientCredentials{ID: form.Get("client_id"), Secret: form.Get("client_secret")}, nil
	}
	if form.Get("client_secret") != "" {
		return idp.ClientCredentials{}, badRequest("Authenticate the client one way: HTTP Basic or the form, not both.")
	}
	var err1, err2 error
	id, err1 = url.QueryUnescape(id)
	secret, err2 = url.QueryUnescape(secret)
	if err1 != nil || err2 != nil {
		return idp.ClientCredentials{}, idp.ErrInvalidClient
	}
	if f := form.Get("client_id"); f != "" && f != id {
		return idp.ClientCredentials{}, idp.ErrInvalidClient
	}
	return idp.ClientCredentials{ID: id, Secret: secret, Basic: true}, nil
}

// oauthToken serves POST /oauth2/token. The password grant is /api/login's
// own (the same answers and errors); the others are the provider's.
func (h *handler) oauthToken(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	if form.Get("grant_type") == "password" {
		// /api/login's own rules, the cross-site one included: its answer
		// sets the session cookie, so a page of another site must not
		// log a browser in (login CSRF).
		if err := h.crossSite.Check(c.Request()); err != nil {
			return errCrossSite
		}
		return h.login(c)
	}
	cc, err := clientCredentials(c, form)
	if err != nil {
		return err
	}
	t, err := h.idp.Token(c.Request().Context(), form, cc, clientOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

// userInfo serves GET and POST /oauth2/userinfo to an application's
// access token (the Authorization header, or access_token in a POST's
// form, RFC 6750 §2.2).
func (h *handler) userInfo(c echo.Context) error {
	raw := ""
	if scheme, rest, ok := strings.Cut(c.Request().Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") {
		raw = strings.TrimSpace(rest)
	} else if c.Request().Method == http.MethodPost {
		raw = c.FormValue("access_token")
	}
	claims, err := h.idp.UserInfo(c.Request().Context(), raw)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, claims)
}

// revokeToken serves POST /oauth2/revoke (RFC 7009): 200 whatever the
// token was, once the client is authenticated.
func (h *handler) revokeToken(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	cc, err := clientCredentials(c, form)
	if err != nil {
		return err
	}
	if err := h.idp.Revoke(c.Request().Context(), form, cc, clientOf(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// logoutPage is the data of app_logout.html: the question, or that the
// browser is logged out.
type logoutPage struct {
	Confirm bool
	AppName string
	Form    url.Values
}

// appLogout serves GET and POST /oauth2/logout (RP-initiated logout). A
// GET with the id_token_hint of the browser's session ends it; otherwise
// the page asks, and its POST (the cross-site rule guards it) ends it.
func (h *handler) appLogout(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	in := idp.LogoutRequestOf(form)
	confirmed := c.Request().Method == http.MethodPost
	if confirmed {
		in.IDTokenHint = "" // the page posts none; a posted hint is not a confirmation's business
	}
	caller := callerOf(c)
	out, err := h.idp.Logout(c.Request().Context(), in, caller, confirmed, clientOf(c))
	if err != nil {
		return err
	}
	if out.Ended {
		h.auth.ClearCookie(c.Response())
		c.Set(callerKey, nil)
	}
	if out.Confirm {
		allowFormAction(c, out.FormTarget)
		return c.Render(http.StatusOK, "app_logout.html", logoutPage{Confirm: true, AppName: out.AppName, Form: in.Form()})
	}
	if out.Redirect != "" {
		return c.Redirect(http.StatusFound, out.Redirect)
	}
	return c.Render(http.StatusOK, "app_logout.html", logoutPage{AppName: out.AppName})
}

// discovery serves GET /.well-known/openid-configuration and the RFC 8414
// metadata, which describe the same server.
func (h *handler) discovery(c echo.Context) error {
	return c.JSON(http.StatusOK, h.idp.Discovery(jwksPath))
}

// appsPage is the data of apps.html and the body of GET /api/me/apps.
type appsPage struct {
	Items []idp.ConnectedApp `json:"items"`
}

// connectedApps serves GET /admin/me/apps and GET /api/me/apps.
func (h *handler) connectedApps(c echo.Context) error {
	items, err := h.idp.ConnectedApps(c.Request().Context(), callerOf(c).User.ID)
	if err != nil {
		return err
	}
	return respond(c, http.StatusOK, "apps.html", appsPage{Items: items})
}

// disconnectApp serves POST /admin/me/apps/{client_id}/revoke and its /api
// twin: the app's sessions and tokens for the caller end, and its consent
// is forgotten.
func (h *handler) disconnectApp(c echo.Context) error {
	if err := h.idp.Disconnect(c.Request().Context(), callerOf(c), c.Param("client_id"), clientOf(c)); err != nil {
		return err
	}
	return succeeded(c, http.StatusOK, "app_disconnected", "/admin/me/apps")
}

// listClients serves GET /api/clients to admin:read callers.
func (h *handler) listClients(c echo.Context) error {
	items, err := h.idp.Apps(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// createClient serves POST /api/clients to admin:write callers: 201 with
// the client's secret, shown this once.
func (h *handler) createClient(c echo.Context) error {
	var reg idp.Registration
	if err := bind(c, &reg); err != nil {
		return err
	}
	v, err := h.idp.Register(c.Request().Context(), reg)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

// newClientSecret serves POST /api/clients/{client_id}/secret.
func (h *handler) newClientSecret(c echo.Context) error {
	secret, err := h.idp.NewSecret(c.Request().Context(), c.Param("client_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"client_id": c.Param("client_id"), "client_secret": secret})
}

// removeClient serves POST /api/clients/{client_id}/remove.
func (h *handler) removeClient(c echo.Context) error {
	if err := h.idp.Remove(c.Request().Context(), c.Param("client_id")); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"detail": "Application removed; its sessions and tokens have ended."})
}

// allowFormRedirect lets the page's form end at the app that next, an
// authorization request, would send the browser to: a login, second
// step or re-authentication that continues an application's login
// redirects there at the end of the form's chain of redirects, which the
// Content-Security-Policy's form-action checks (Chromium enforces it).
func (h *handler) allowFormRedirect(c echo.Context, next string) {
	allowFormAction(c, h.idp.FormTarget(c.Request().Context(), next))
}

// allowFormAction widens the page's form-action to origin ("" keeps it
// to 'self').
func allowFormAction(c echo.Context, origin string) {
	if origin == "" {
		return
	}
	c.Response().Header().Set("Content-Security-Policy", contentSecurityPolicy+" "+origin)
}

// badRequest is RFC 6749's invalid_request: a 400 page, or JSON, with
// words for a person.
func badRequest(detail string) error {
	return &models.Error{Kind: models.BadRequest, Code: "invalid_request", Detail: detail}
}
