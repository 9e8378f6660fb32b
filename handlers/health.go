package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/models"
)

// statusOK is what the health probes answer, encoded once.
var statusOK = []byte(`{"status":"ok"}`)

// healthz serves GET /healthz: the process is up.
func (h *handler) healthz(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, statusOK)
}

// errStopping is /readyz's answer once the server is stopping, so a load
// balancer takes it out while it still serves (SHUTDOWN_DELAY).
var errStopping = &models.Error{Kind: models.Unavailable, Code: "stopping", Detail: "The server is stopping."}

// readyz serves GET /readyz: 503 unavailable while the database does not
// answer, and from the moment the server begins to stop.
func (h *handler) readyz(c echo.Context) error {
	if h.stopping.Load() {
		return errStopping
	}
	if err := h.store.Ping(c.Request().Context()); err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, statusOK)
}
