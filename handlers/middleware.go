package handlers

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"gatehouse/auth"
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
// status, duration and request id. Never the query string, headers or
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
			return nil
		},
	})
}

// refuseCrossSite refuses unsafe requests (POST, PUT, PATCH, DELETE) that a
// browser says come from another site, judged by Sec-Fetch-Site / Origin
// with Go's http.CrossOriginProtection — no tokens. Clients that send
// neither header (Postman, curl, scripts) pass.
func (h *handler) refuseCrossSite(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
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
			p == jwksPath || p == metadataPath {
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
