// Package handlers owns Gatehouse's HTTP surface: the route table,
// binding, content negotiation, status codes, cookies and rendering. One
// handler per route serves both HTML and JSON; one error handler turns
// every error into a response. It must not run GORM queries, hash
// passwords or sign tokens (that is auth and models), nor keep
// package-level state.
package handlers

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/config"
	"gatehouse/idp"
	"gatehouse/models"
	"gatehouse/templates"
)

// Deps is exactly what the handlers use.
type Deps struct {
	Config config.Config
	Store  *models.Store // posts and /readyz only: users, sessions, identities and events go through Auth
	Auth   *auth.Service
	IDP    *idp.Provider // Gatehouse as an OpenID Connect provider (contract §10); nil: made from the rest
	Logger *slog.Logger
	Now    func() time.Time
	// Stopping, once set, makes /readyz answer 503 (a graceful stop,
	// contract §12); nil: never.
	Stopping *atomic.Bool
	// Metrics, when not nil, counts every request by method, route
	// pattern and status (package metrics).
	Metrics RequestMetrics
}

// RequestMetrics counts answered requests; route is Echo's route pattern,
// "" when none matched.
type RequestMetrics interface {
	Request(method, route string, code int, took time.Duration)
}

type handler struct {
	cfg       config.Config
	store     *models.Store
	auth      *auth.Service
	idp       *idp.Provider
	log       *slog.Logger
	now       func() time.Time
	crossSite *http.CrossOriginProtection
	openAPI   []byte // the API document as served (see openAPIDocument)
	stopping  *atomic.Bool
	metrics   RequestMetrics
}

// New builds the HTTP application: the whole route table, its middleware
// and its error handler.
func New(d Deps) (*echo.Echo, error) {
	pages, err := templates.Parse()
	if err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Stopping == nil {
		d.Stopping = new(atomic.Bool)
	}
	if d.IDP == nil {
		d.IDP = idp.New(d.Store, d.Auth, d.Config, d.Now, d.Logger)
	}
	h := &handler{cfg: d.Config, store: d.Store, auth: d.Auth, idp: d.IDP, log: d.Logger, now: d.Now,
		crossSite: http.NewCrossOriginProtection(), stopping: d.Stopping, metrics: d.Metrics}
	if h.openAPI, err = openAPIDocument(d.Config.BaseURL.String(), d.Auth.CookieName()); err != nil {
		return nil, err
	}
	for _, origin := range d.Config.CORSAllowedOrigins {
		if err := h.crossSite.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("CORS_ALLOWED_ORIGINS: %w", err)
		}
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Renderer = &renderer{pages: pages}
	e.HTTPErrorHandler = h.handleError
	e.IPExtractor = ipExtractor(d.Config.TrustedProxies)
	h.routes(e)
	return e, nil
}

// ipExtractor believes X-Forwarded-For only from TRUSTED_PROXIES;
// otherwise the client IP is the socket's.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		_, ipNet, err := net.ParseCIDR(p.String())
		if err == nil {
			opts = append(opts, echo.TrustIPRange(ipNet))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
