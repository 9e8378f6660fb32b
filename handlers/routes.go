package handlers

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"gatehouse/auth"
	"gatehouse/idp"
	"gatehouse/static"
)

// routes is the whole route table. Each HTML route and its /api twin are
// registered on consecutive lines with the same handler and the same
// scope, so a missing twin shows at a glance.
func (h *handler) routes(e *echo.Echo) {
	e.Pre(expectJSON)
	e.Use(requestID)
	e.Use(h.logRequests())
	e.Use(middleware.Recover())
	e.Use(h.secureHeaders())
	e.Use(middleware.BodyLimit("1MiB")) // "1M" would be 10^6 bytes
	// The OpenID Connect provider's routes for programs answer any origin,
	// without credentials: single-page apps call them, and they trust the
	// client's and the token's authentication, never a cookie.
	e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
		Skipper:      func(c echo.Context) bool { return !oauthAPI(c.Request().URL.Path) },
		AllowOrigins: []string{"*"},
		AllowMethods: []string{"GET", "POST"},
		AllowHeaders: []string{"Authorization", "Content-Type"},
	}))
	if len(h.cfg.CORSAllowedOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			Skipper:          func(c echo.Context) bool { return oauthAPI(c.Request().URL.Path) },
			AllowOrigins:     h.cfg.CORSAllowedOrigins,
			AllowCredentials: true,
			AllowHeaders:     []string{"Authorization", "Content-Type", "X-Expected-Format"},
		}))
	}
	e.Use(h.refuseCrossSite)
	e.Use(h.loadCaller)

	assets := e.Group("/static", cacheAssets)
	assets.StaticFS("/", static.Files)

	api := e.Group("/api")
	read := h.requireScope(auth.ScopeUserRead)
	write := h.requireScope(auth.ScopeUserWrite)
	adminRead := h.requireScope(auth.ScopeAdminRead)
	adminWrite := h.requireScope(auth.ScopeAdminWrite)
	// The routes anyone may post to read at most 64 KiB (contract §9): a
	// flood of large logins holds little memory.
	small := middleware.BodyLimit("64KiB")

	e.GET("/", h.loginPage)
	e.GET("/auth/login", h.loginPage)
	e.POST("/auth/token", h.login, small)
	api.POST("/login", h.login, small)
	api.POST("/token", h.refreshToken, small) // JSON only: refresh tokens are for API clients
	e.POST("/auth/logout", h.logout)
	api.POST("/logout", h.logout)
	e.GET("/auth/home", h.home, h.requireLogin)
	e.GET("/auth/2fa", h.secondStepPage)
	e.POST("/auth/2fa", h.secondStep, small)
	e.GET("/auth/reauth", h.showReauth, h.requireLogin)
	e.POST("/auth/reauth", h.reauth, small, h.requireLogin)
	api.POST("/me/reauth", h.reauth, small, h.requireLogin)

	e.GET("/admin/me", h.me, read)
	api.GET("/me", h.me, read)
	e.GET("/admin/me/events", h.listEvents, read)
	api.GET("/me/events", h.listEvents, read)

	e.GET("/auth/register", h.registerPage, h.registrationOn)
	e.POST("/auth/register", h.register, small, h.registrationOn)
	api.POST("/register", h.register, small, h.registrationOn)

	// Email (contract §6). The pages a mailed link opens carry its token:
	// no Referer leaves them.
	e.GET("/auth/forgot", h.forgotPage)
	e.POST("/auth/forgot", h.forgotPassword, small)
	api.POST("/password/forgot", h.forgotPassword, small)
	e.GET(auth.ResetPath, h.resetPage, noReferrer)
	e.POST(auth.ResetPath, h.resetPassword, small, noReferrer)
	api.POST("/password/reset", h.resetPassword, small)
	e.GET(auth.VerifyPath, h.verifyPage, noReferrer)
	e.POST(auth.VerifyPath, h.verifyEmail, small, noReferrer)
	api.POST("/email/verify", h.verifyEmail, small)
	e.POST("/admin/me/email/resend", h.resendVerification, write)
	api.POST("/me/email/resend", h.resendVerification, write)
	e.POST("/admin/me/email", h.changeEmail, write)
	api.POST("/me/email", h.changeEmail, write)

	e.GET("/admin/me/sessions", h.listSessions, read)
	api.GET("/me/sessions", h.listSessions, read)
	e.POST("/admin/me/sessions/revoke-others", h.revokeOtherSessions, write)
	api.POST("/me/sessions/revoke-others", h.revokeOtherSessions, write)
	e.POST("/admin/me/sessions/:id/revoke", h.revokeSession, write)
	api.POST("/me/sessions/:id/revoke", h.revokeSession, write)
	e.POST("/admin/me/password", h.changePassword, write)
	api.POST("/me/password", h.changePassword, write)

	e.GET("/admin/me/2fa", h.showMFA, read)
	api.GET("/me/2fa", h.showMFA, read)
	e.POST("/admin/me/2fa/totp/setup", h.setupTOTP, small, write)
	api.POST("/me/2fa/totp/setup", h.setupTOTP, small, write)
	e.POST("/admin/me/2fa/totp/enable", h.enableTOTP, small, write)
	api.POST("/me/2fa/totp/enable", h.enableTOTP, small, write)
	e.POST("/admin/me/2fa/recovery-codes", h.regenerateRecoveryCodes, small, write)
	api.POST("/me/2fa/recovery-codes", h.regenerateRecoveryCodes, small, write)
	e.POST("/admin/me/2fa/disable", h.disableMFA, small, write)
	api.POST("/me/2fa/disable", h.disableMFA, small, write)

	// Passkeys (contract §11). The ceremonies are JSON only: the pages'
	// script (static/js/passkeys.js) calls them. While passkeys are off,
	// every one of these routes is 404 (passkeysOn runs first).
	on := h.passkeysOn
	e.GET("/admin/me/passkeys", h.listPasskeys, on, read)
	api.GET("/me/passkeys", h.listPasskeys, on, read)
	api.POST("/me/passkeys/register/begin", h.beginPasskeyRegistration, on, small, write)
	api.POST("/me/passkeys/register/finish", h.finishPasskeyRegistration, on, small, write)
	e.POST("/admin/me/passkeys/:id/remove", h.removePasskey, on, write)
	api.POST("/me/passkeys/:id/remove", h.removePasskey, on, write)
	api.POST("/passkeys/login/begin", h.beginPasskeyLogin, on, small)
	api.POST("/passkeys/login/finish", h.passkeyLogin, on, small)
	api.POST("/me/reauth/passkey/begin", h.beginPasskeyReauth, on, small, h.requireLogin)
	api.POST("/me/reauth/passkey/finish", h.passkeyReauth, on, small, h.requireLogin)

	e.GET("/posts", h.listPosts, read)
	api.GET("/posts", h.listPosts, read)
	e.POST("/posts", h.createPost, write)
	api.POST("/posts", h.createPost, write)

	e.GET("/admin/users", h.listUsers, adminRead)
	api.GET("/users", h.listUsers, adminRead)
	e.GET("/admin/users/:id", h.showUser, adminRead)
	api.GET("/users/:id", h.showUser, adminRead)
	e.POST("/admin/users/:id", h.updateUser, adminWrite) // the page's form
	api.PATCH("/users/:id", h.updateUser, adminWrite)
	e.POST("/admin/users/:id/revoke-sessions", h.revokeUserSessions, adminWrite)
	api.POST("/users/:id/revoke-sessions", h.revokeUserSessions, adminWrite)
	e.POST("/admin/users/:id/2fa/reset", h.resetUserMFA, adminWrite)
	api.POST("/users/:id/2fa/reset", h.resetUserMFA, adminWrite)

	e.GET("/auth/oauth/:provider/login", h.oauthLogin)
	api.GET("/oauth/:provider/login", h.oauthLogin)
	e.GET(auth.OAuthCallbackRoute, h.oauthCallback)
	api.GET("/oauth/:provider/callback", h.oauthCallback)
	e.GET("/admin/me/providers/:provider/link", h.linkProvider, write)
	api.GET("/me/providers/:provider/link", h.linkProvider, write)
	e.POST("/admin/me/providers/:provider/unlink", h.unlinkProvider, write)
	api.POST("/me/providers/:provider/unlink", h.unlinkProvider, write)

	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)

	e.GET(jwksPath, h.jwks)
	e.GET(metadataPath, h.discovery)

	// Gatehouse as an OpenID Connect provider (contract §10).
	e.GET(idp.DiscoveryPath, h.discovery)
	e.GET(idp.AuthorizePath, h.authorize)
	e.POST(idp.AuthorizePath, h.authorize, small)
	e.POST(idp.ConsentPath, h.consent, small)
	e.POST(idp.TokenPath, h.oauthToken, small)
	e.GET(idp.UserInfoPath, h.userInfo)
	e.POST(idp.UserInfoPath, h.userInfo, small)
	e.POST(idp.RevokePath, h.revokeToken, small)
	e.GET(idp.LogoutPath, h.appLogout)
	e.POST(idp.LogoutPath, h.appLogout, small)
	e.GET("/admin/me/apps", h.connectedApps, read)
	api.GET("/me/apps", h.connectedApps, read)
	e.POST("/admin/me/apps/:client_id/revoke", h.disconnectApp, write)
	api.POST("/me/apps/:client_id/revoke", h.disconnectApp, write)
	api.GET("/clients", h.listClients, adminRead)
	api.POST("/clients", h.createClient, adminWrite)
	api.POST("/clients/:client_id/secret", h.newClientSecret, adminWrite)
	api.POST("/clients/:client_id/remove", h.removeClient, adminWrite)

	e.GET("/docs", h.apiDocs)
	e.GET("/openapi.json", h.apiDocs)
}
