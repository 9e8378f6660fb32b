package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"gatehouse/config"
	"gatehouse/handlers"
	"gatehouse/metrics"
)

// newLogger makes the process's logger: text lines, or one JSON object a
// line (LOG_FORMAT=json) for a log collector.
func newLogger(out io.Writer, format string) *slog.Logger {
	if format == config.LogJSON {
		return slog.New(slog.NewJSONHandler(out, nil))
	}
	return slog.New(slog.NewTextHandler(out, nil))
}

// startMetrics, when METRICS_ADDR is set, builds the registry, hands it to
// auth and to the handlers (deps), and serves GET /metrics on a listener
// of its own, so it is never reachable through the public address.
func (a *app) startMetrics(deps *handlers.Deps) (*http.Server, error) {
	if a.cfg.Ops.MetricsAddr == "" {
		return nil, nil
	}
	m := metrics.New()
	a.metrics = m
	a.auth.SetMetrics(m)
	deps.Metrics = m
	if db, err := a.store.SQLDB(); err == nil {
		m.WatchDB(db, "gatehouse")
	}
	m.WatchMails(a.store.MailCounts, a.cfg.DBTimeout)
	ln, err := net.Listen("tcp", a.cfg.Ops.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics listener failed", "err", err)
		}
	}()
	a.log.Info("serving metrics", "addr", ln.Addr().String())
	return srv, nil
}

// stop is the graceful stop (contract §12), once a signal has come:
// /readyz answers 503 at once while everything else is still served for
// SHUTDOWN_DELAY (a load balancer takes the instance out); then the
// listener closes, requests in flight get up to SHUTDOWN_TIMEOUT to
// finish, and the mail sender finishes the pass it is in. Requests still
// running at the deadline are cut off and logged; the stop is still a
// clean exit.
func (a *app) stop(stopping *atomic.Bool, srv, metricsSrv *http.Server, errc <-chan error, stopSender func(), senderDone <-chan struct{}) error {
	stopping.Store(true)
	a.log.Info("stopping", "delay", a.cfg.Ops.ShutdownDelay, "timeout", a.cfg.Ops.ShutdownTimeout)
	if a.flushLog != nil {
		_ = a.flushLog()
	}
	time.Sleep(a.cfg.Ops.ShutdownDelay)
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Ops.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		a.log.Warn("requests still in flight at SHUTDOWN_TIMEOUT were cut off", "err", err)
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	stopSender()
	select {
	case <-senderDone:
	case <-ctx.Done():
		a.log.Warn("the mail sender did not finish by SHUTDOWN_TIMEOUT; its mails are sent again after their lease")
	}
	if metricsSrv != nil {
		_ = metricsSrv.Close() // last, so a final scrape sees the stop
	}
	a.log.Info("stopped")
	return nil
}

// healthcheck is `gatehouse healthcheck`: exit 0 when GET /readyz on ADDR
// answers 200 within healthTimeout, else one line on stderr and exit 1.
// An unspecified listen address (0.0.0.0, [::]) is reached on loopback.
func healthcheck(ctx context.Context, args []string, getenv func(string) string) error {
	addr, err := config.LoadAddr(getenv, args)
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(addr)
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}

// healthTimeout bounds `gatehouse healthcheck`.
const healthTimeout = 2 * time.Second
