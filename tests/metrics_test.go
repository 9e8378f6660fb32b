package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// TestMetrics (contract §12): the families exist with their types, and a
// login, a failed login, a throttled one and a request to a route with a
// parameter move them by exactly what they did, labelled by the route's
// pattern and never by the path, an email or an address.
func TestMetrics(t *testing.T) {
	app := newApp(t, sqliteDB, trustProxy("127.0.0.1/32"))
	admin := app.createUser(t, "ada@example.com", "correct horse battery", withScopes("user:read", "admin:read"))
	c := app.client(t)
	before := scrape(t, app)

	tok := c.loginAPI("ada@example.com", "correct horse battery")
	c.post("/api/login", formOf("username", "ada@example.com", "password", "guess"), from("203.0.113.9")).wantStatus(t, http.StatusUnauthorized)
	for i := 0; i < 4; i++ { // the fifth failure for this account and IP …
		c.post("/api/login", formOf("username", "ada@example.com", "password", "guess"), from("203.0.113.9")).wantStatus(t, http.StatusUnauthorized)
	}
	// … so the next try is throttled.
	c.post("/api/login", formOf("username", "ada@example.com", "password", "guess"), from("203.0.113.9")).wantStatus(t, http.StatusTooManyRequests)
	c.get(fmt.Sprintf("/api/users/%d", admin.ID), bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
	c.get("/no/such/path/123").wantStatus(t, http.StatusNotFound)

	after := scrape(t, app)
	types := map[string]dto.MetricType{
		"gatehouse_http_requests_total":           dto.MetricType_COUNTER,
		"gatehouse_http_request_duration_seconds": dto.MetricType_HISTOGRAM,
		"gatehouse_logins_total":                  dto.MetricType_COUNTER,
		"gatehouse_password_hash_waiting":         dto.MetricType_GAUGE,
		"gatehouse_password_hash_seconds":         dto.MetricType_HISTOGRAM,
		"gatehouse_mails":                         dto.MetricType_GAUGE,
		"gatehouse_sweep_deleted_total":           dto.MetricType_COUNTER,
		"go_sql_open_connections":                 dto.MetricType_GAUGE,
		"go_goroutines":                           dto.MetricType_GAUGE,
		"process_resident_memory_bytes":           dto.MetricType_GAUGE,
	}
	for name, want := range types {
		if name == "gatehouse_sweep_deleted_total" || name == "gatehouse_mails" {
			continue // a vector shows once it has a series: below
		}
		f, ok := after[name]
		if !ok {
			t.Errorf("family %s missing", name)
			continue
		}
		if f.GetType() != want {
			t.Errorf("%s: type %v, want %v", name, f.GetType(), want)
		}
	}

	moved := []struct {
		name   string
		labels string
		want   float64
	}{
		{"gatehouse_logins_total", "method=password,result=success", 1},
		{"gatehouse_logins_total", "method=password,result=failure", 5},
		{"gatehouse_logins_total", "method=password,result=throttled", 1},
		{"gatehouse_http_requests_total", "code=200,method=POST,route=/api/login", 1},
		{"gatehouse_http_requests_total", "code=401,method=POST,route=/api/login", 5},
		{"gatehouse_http_requests_total", "code=429,method=POST,route=/api/login", 1},
		{"gatehouse_http_requests_total", "code=200,method=GET,route=/api/users/:id", 1},
		{"gatehouse_http_requests_total", "code=404,method=GET,route=unmatched", 1},
		{"gatehouse_http_request_duration_seconds", "method=GET,route=/api/users/:id", 1}, // its count
		{"gatehouse_password_hash_seconds", "", 6},                                        // one check per counted login (the throttled one is not hashed)
	}
	for _, m := range moved {
		if got := value(after, m.name, m.labels) - value(before, m.name, m.labels); got != m.want {
			t.Errorf("%s{%s} moved by %v, want %v", m.name, m.labels, got, m.want)
		}
	}
	if got := value(after, "gatehouse_password_hash_waiting", ""); got != 0 {
		t.Errorf("gatehouse_password_hash_waiting = %v at rest, want 0", got)
	}

	// Nothing personal in any label, and no raw path.
	for name, f := range after {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if strings.Contains(v, "@") || strings.Contains(v, "203.0.113.9") || strings.Contains(v, fmt.Sprint(admin.ID)) && strings.HasPrefix(v, "/") || strings.Contains(v, "/no/such") {
					t.Errorf("%s has label %s=%q", name, l.GetName(), v)
				}
			}
		}
	}
}

// scrape gathers the app's registry, by family name.
func scrape(t *testing.T, app *app) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := app.metrics.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// value is the series of family name whose labels, written
// "k=v,k=v" in name order, are labels: a counter's or gauge's value, a
// histogram's count. Absent: 0.
func value(fams map[string]*dto.MetricFamily, name, labels string) float64 {
	f, ok := fams[name]
	if !ok {
		return 0
	}
	for _, m := range f.GetMetric() {
		var parts []string
		for _, l := range m.GetLabel() {
			parts = append(parts, l.GetName()+"="+l.GetValue())
		}
		if strings.Join(parts, ",") != labels {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}
