package handlers

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"gatehouse/auth"
	"gatehouse/idp"
	"gatehouse/models"
)

// Keys for per-request values in echo.Context.
const (
	callerKey  = "gatehouse.caller"
	authErrKey = "gatehouse.auth_error"
)

// errCrossSite refuses unsafe requests that come from another site.
var errCrossSite = &models.Error{Kind: models.Forbidden, Code: "cross_site_request",
	Detail: "Cross-site requests are not allowed."}

// requestID gives every request an id, echoed in X-Request-Id and logged.
// A client's own id is kept only when it is 1–64 characters of
// [A-Za-z0-9._-] (contract §9); anything else — too long, or carrying
// characters a log reader could be fooled by — is replaced by a random
// one. The request's header is set too, since the request log reads it.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := req.Header.Get(echo.HeaderXRequestID)
		if !plainRequestID(id) {
			id = rand.Text()
			req.Header.Set(echo.HeaderXRequestID, id)
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// plainRequestID reports whether id is 1–64 characters of [A-Za-z0-9._-].
func plainRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

// logRequests logs one structured line per request: method, route, path,
// status, duration and request id; and counts it in the metrics (when on)
// from the same values, by route pattern, never the path. Never the query string, headers or
// body: they can carry passwords, tokens, cookies and authorization codes.
func (h *handler) logRequests() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod: true, LogRoutePath: true, LogURIPath: true, LogStatus: true,
		LogLatency: true, LogRequestID: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			h.log.LogAttrs(context.Background(), slog.LevelInfo, "request",
				slog.String("method", v.Method), slog.String("route", v.RoutePath),
				slog.String("path", v.URIPath), slog.Int("status", v.Status),
				slog.Duration("duration", v.Latency), slog.String("request_id", v.RequestID))
			if h.metrics != nil {
				h.metrics.Request(v.Method, v.RoutePath, v.Status, v.Latency)
			}
			return nil
		},
	})
}

// refuseCrossSite refuses unsafe requests (POST, PUT, PATCH, DELETE) that a
// browser says come from another site, judged by Sec-Fetch-Site / Origin
// with Go's http.CrossOriginProtection — no tokens. Clients that send
// neither header (Postman, curl, scripts) pass.
//
// The OpenID Connect provider's protocol routes are called across sites
// by design (an app's page posts an authorization request; a single-page
// app calls the token endpoint): they act on no cookie's behalf but the
// authorization request's, which a GET may make as well. The consent and
// logout forms stay guarded.
func (h *handler) refuseCrossSite(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Request().URL.Path; oauthAPI(p) || p == idp.AuthorizePath {
			return next(c)
		}
		if err := h.crossSite.Check(c.Request()); err != nil {
			return errCrossSite
		}
		return next(c)
	}
}

// loadCaller finds who is calling and keeps it for the request. Failing
// credentials (a bad token, an ended session) are kept too and only
// matter on routes that require a login; an ended session's cookie is
// cleared. A database failure is answered at once (503): never taken for
// a log-out. The health probes, static assets and the public well-known
// documents never look: /healthz must answer while the database is down.
func (h *handler) loadCaller(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Request().URL.Path; p == "/healthz" || p == "/readyz" || strings.HasPrefix(p, "/static/") ||
			p == jwksPath || p == metadataPath || oauthAPI(p) {
			return next(c)
		}
		caller, err := h.auth.Authenticate(c.Request())
		switch {
		case errors.Is(err, auth.ErrSessionEnded):
			h.auth.ClearCookie(c.Response())
			c.Set(authErrKey, err)
		case errors.Is(err, auth.ErrInvalidToken):
			c.Set(authErrKey, err)
		case err != nil:
			return err
		case caller != nil:
			c.Set(callerKey, caller)
		}
		return next(c)
	}
}

// oauthAPI reports whether p is one of the OpenID Connect provider's
// routes for programs (contract §10): JSON, authenticated by client or
// token credentials of their own, never by the cookie.
func oauthAPI(p string) bool {
	return p == idp.TokenPath || p == idp.UserInfoPath || p == idp.RevokePath || p == idp.DiscoveryPath
}

// callerOf returns the authenticated caller, or nil.
func callerOf(c echo.Context) *auth.Caller {
	caller, _ := c.Get(callerKey).(*auth.Caller)
	return caller
}

// authErrorOf is why a request that needs a login has none:
// ErrNotAuthenticated, or what loadCaller kept.
func authErrorOf(c echo.Context) error {
	if err, ok := c.Get(authErrKey).(error); ok {
		return err
	}
	return auth.ErrNotAuthenticated
}

// requireLogin lets only authenticated callers through.
func (h *handler) requireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if callerOf(c) == nil {
			return authErrorOf(c)
		}
		return next(c)
	}
}

// requireScope lets through authenticated callers whose session (and
// token) carries scope: 401 without credentials, 403 insufficient_scope
// without the scope.
func (h *handler) requireScope(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return h.requireLogin(func(c echo.Context) error {
			if !callerOf(c).Has(scope) {
				return auth.MissingScope(scope)
			}
			return next(c)
		})
	}
}

// expectJSON runs before routing: every path under /api/ — routed or not,
// so 404 and 405 too — the health probes and the API document answer JSON
// (contract §2).
func expectJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := c.Request().URL.Path
		if strings.HasPrefix(p, "/api/") || p == "/api" || p == "/healthz" || p == "/readyz" || p == "/openapi.json" ||
			p == jwksPath || p == metadataPath || oauthAPI(p) {
			c.Request().Header.Set("X-Expected-Format", "application/json")
		}
		return next(c)
	}
}

func cacheAssets(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=3600")
		return next(c)
	}
}

// secureHeaders sets the security headers on every answer (what Echo's
// Secure middleware set, written into the header map directly with
// canonical keys: every request pays for this). Everything but the
// static assets and the two well-known documents (public keys and server
// metadata, the same for everyone) is personal or changes with the
// session, so it is never cached (contract §2 asks no-store for tokens
// and authenticated pages).
// HSTS goes out only under an https BASE_URL on an https request.
func (h *handler) secureHeaders() echo.MiddlewareFunc {
	fixed := http.Header{
		"X-Content-Type-Options":  {"nosniff"},
		"X-Frame-Options":         {"DENY"},
		"Referrer-Policy":         {"same-origin"},
		"Content-Security-Policy": {contentSecurityPolicy},
	}
	noStore := []string{"no-store"}
	public := []string{wellKnownTTL}
	hsts := []string(nil)
	if h.cfg.SecureCookies() {
		hsts = []string{"max-age=63072000; includeSubdomains"}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			header := c.Response().Header()
			for k, v := range fixed {
				header[k] = v // one-element slices: an Add elsewhere copies, never writes into them
			}
			if hsts != nil && c.Scheme() == "https" {
				header["Strict-Transport-Security"] = hsts
			}
			switch p := c.Request().URL.Path; {
			case p == jwksPath || p == metadataPath || p == idp.DiscoveryPath:
				header["Cache-Control"] = public
			case !strings.HasPrefix(p, "/static/"):
				header["Cache-Control"] = noStore
			}
			return next(c)
		}
	}
}

// contentSecurityPolicy is every page's policy; its last directive is
// form-action, which allowFormAction widens for the pages that lead to
// an application.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// noReferrer keeps a mailed link's token out of the Referer of anything
// its page loads or links to (contract §6).
func noReferrer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Referrer-Policy", "no-referrer")
		return next(c)
	}
}
