package metrics

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRequestLabels: a route that matched nothing is one series, and a
// method HTTP does not define is "other", so clients cannot mint series.
func TestRequestLabels(t *testing.T) {
	m := New()
	m.Request("GET", "", 404, time.Millisecond)
	m.Request("GET", "", 404, time.Millisecond)
	m.Request("BREW", "/api/me", 405, time.Millisecond)
	m.Request(http.MethodGet, "/api/users/:id", 200, time.Millisecond)
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"GET", Unmatched, "404"}, 2},
		{[]string{"other", "/api/me", "405"}, 1},
		{[]string{"GET", "/api/users/:id", "200"}, 1},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("requests%v = %v, want %v", c.labels, got, c.want)
		}
	}
	var off *Metrics
	off.SweepDeleted("sessions", 3) // metrics off: no panic
}

// BenchmarkRequest is what every request pays for the metrics: a counter
// and a histogram observation.
func BenchmarkRequest(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.Request(http.MethodGet, "/api/me", 200, 300*time.Microsecond)
	}
}
