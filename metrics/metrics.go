// Package metrics keeps Gatehouse's Prometheus metrics (contract §12) in
// a registry of its own, built by main and handed to the handlers and to
// auth: no package-level state, nothing registered globally. Labels are
// route patterns, methods, status codes and fixed words — never a path,
// an email, an id or an address.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Unmatched is the route label of a request that matched no route, so
// probes for random paths make one series, not one each.
const Unmatched = "unmatched"

// Metrics is the registry and the families Gatehouse updates.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	logins       *prometheus.CounterVec
	hashWaiting  prometheus.Gauge
	hashSeconds  prometheus.Histogram
	sweepDeleted *prometheus.CounterVec
	codes        [600]string // status codes as label values, made once
}

// New makes the registry with the Go and process collectors and
// Gatehouse's own families.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests answered, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_http_request_duration_seconds", Help: "How long HTTP requests took, by method and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_logins_total", Help: "Login attempts, by method (password, passkey, refresh, a provider's name) and result (success, failure, throttled, mfa_required, disabled).",
		}, []string{"method", "result"}),
		hashWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_password_hash_waiting", Help: "Password hashes waiting for a free hashing slot.",
		}),
		hashSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gatehouse_password_hash_seconds", Help: "How long one argon2id hash or check took.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		sweepDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_sweep_deleted_total", Help: "Rows the background sweep deleted, by table.",
		}, []string{"table"}),
	}
	for i := range m.codes {
		m.codes[i] = strconv.Itoa(i)
	}
	m.reg.MustRegister(m.requests, m.duration, m.logins, m.hashWaiting, m.hashSeconds, m.sweepDeleted,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry, for tests and further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// WatchDB adds the pool statistics of db (go_sql_* with db_name).
func (m *Metrics) WatchDB(db *sql.DB, name string) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// WatchMails adds gatehouse_mails{state}, counted by count at each
// scrape (within timeout), so every instance reports the shared outbox
// as it is.
func (m *Metrics) WatchMails(count func(context.Context) (map[string]int64, error), timeout time.Duration) {
	m.reg.MustRegister(&mailsCollector{count: count, timeout: timeout,
		desc: prometheus.NewDesc("gatehouse_mails", "Mails in the outbox, by state.", []string{"state"}, nil)})
}

// Request counts one answered request. route is Echo's route pattern
// ("" when none matched).
func (m *Metrics) Request(method, route string, code int, took time.Duration) {
	method = methodLabel(method)
	if route == "" {
		route = Unmatched
	}
	c := "other"
	if code >= 0 && code < len(m.codes) {
		c = m.codes[code]
	}
	m.requests.WithLabelValues(method, route, c).Inc()
	m.duration.WithLabelValues(method, route).Observe(took.Seconds())
}

// Login counts one login attempt.
func (m *Metrics) Login(method, result string) { m.logins.WithLabelValues(method, result).Inc() }

// HashWaiting moves the count of hashes waiting for a slot by delta.
func (m *Metrics) HashWaiting(delta float64) { m.hashWaiting.Add(delta) }

// HashSeconds records how long one hash or check took.
func (m *Metrics) HashSeconds(took time.Duration) { m.hashSeconds.Observe(took.Seconds()) }

// SweepDeleted counts rows the sweep deleted from table; on a nil
// Metrics (metrics off) it does nothing.
func (m *Metrics) SweepDeleted(table string, n int64) {
	if m != nil && n > 0 {
		m.sweepDeleted.WithLabelValues(table).Add(float64(n))
	}
}

// methodLabel keeps the method label to the methods HTTP defines: any
// other word a client sends is "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// mailsCollector reads the outbox's counts when scraped.
type mailsCollector struct {
	count   func(context.Context) (map[string]int64, error)
	timeout time.Duration
	desc    *prometheus.Desc
}

func (c *mailsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *mailsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
}
