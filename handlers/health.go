package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// statusOK is what the health probes answer, encoded once.
var statusOK = []byte(`{"status":"ok"}`)

// healthz serves GET /healthz: the process is up.
func (h *handler) healthz(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, statusOK)
}

// readyz serves GET /readyz: 503 unavailable while the database does not answer.
func (h *handler) readyz(c echo.Context) error {
	if err := h.store.Ping(c.Request().Context()); err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, statusOK)
}
