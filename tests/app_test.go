// Package tests holds Gatehouse's black-box contract tests: the real app
// from handlers.New on an httptest server with a fresh database per test
// (SQLite always; MariaDB too when TEST_DATABASE_URL is set, which CI=true
// requires), driven over HTTP with a cookie jar, plus the built binary.
package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/config"
	"gatehouse/handlers"
	"gatehouse/metrics"
	"gatehouse/models"
	"gatehouse/outbox"

	"gatehouse/internal/testenv"
)

// database names a database kind a test runs on.
type database = string

const (
	sqliteDB database = testenv.SQLite
	mysqlDB  database = testenv.MySQL
	galeraDB database = "galera" // TEST_GALERA_URL's cluster (cluster_test.go); not in eachDB
)

// eachDB runs test once per database, as subtests named after it.
func eachDB(t *testing.T, test func(t *testing.T, db database)) {
	t.Helper()
	testenv.EachDB(t, test)
}

// freshDatabaseURL returns the URL of a new, empty database of kind db,
// dropped when the test ends.
func freshDatabaseURL(t *testing.T, db database) string {
	t.Helper()
	if db == galeraDB {
		return testenv.ClusterDatabaseURL(t, testenv.Cluster(t))
	}
	return testenv.DatabaseURL(t, db, testenv.Binary)
}

// clock is the app's injected time; tests move it instead of sleeping.
type clock = testenv.Clock

// app is a running Gatehouse on a fresh database.
type app struct {
	*httptest.Server
	cfg   config.Config
	store *models.Store
	auth  *auth.Service
	clock *clock
	logs  *syncBuffer
	echo  *echo.Echo   // for its route table
	spec  *openAPISpec // the served /openapi.json, which clients check answers against
	// outbox delivers the app's mail; it runs (every 20 ms) only when an
	// option set SMTP_URL (withMailpit), and tests may call SendDue.
	outbox *outbox.Sender
	// metrics is the app's registry (metrics_test.go reads it).
	metrics *metrics.Metrics
}

// option changes the configuration an app starts with. cfg.BaseURL is
// already the app's own URL when options run, so an option can register
// redirect URIs with a provider.
type option func(*config.Config)

// newApp starts the real application (handlers.New, the same wiring as
// serve) on an httptest server over a fresh database of kind db.
func newApp(t *testing.T, db database, opts ...option) *app {
	t.Helper()
	return newAppOn(t, freshDatabaseURL(t, db), opts...)
}

// newAppOn is newApp on the database dbURL names.
func newAppOn(t *testing.T, dbURL string, opts ...option) *app {
	t.Helper()
	// Unstarted, so its URL is known before the app is built: BASE_URL is
	// the app's own URL, as it is in production (OAuth redirect URIs).
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	cfg := testenv.Config(t, config.Load, "DATABASE_URL="+dbURL) // cheap argon2id, fixed secrets
	cfg.BaseURL = &url.URL{Scheme: "http", Host: srv.Listener.Addr().String()}
	for _, o := range opts {
		o(&cfg)
	}
	store := testenv.Store(t, models.Open, cfg.DatabaseURL, cfg.DBTimeout)
	clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	svc, err := auth.New(store, cfg, clk.Now, log)
	if err != nil {
		t.Fatalf("auth: %v", err)
	}
	m := metrics.New() // as serve builds it with METRICS_ADDR set
	svc.SetMetrics(m)
	if db, err := store.SQLDB(); err == nil {
		m.WatchDB(db, "gatehouse")
	}
	m.WatchMails(store.MailCounts, cfg.DBTimeout)
	e, err := handlers.New(handlers.Deps{Config: cfg, Store: store, Auth: svc, Logger: log, Now: clk.Now, Metrics: m})
	if err != nil {
		t.Fatalf("handlers: %v", err)
	}
	sender, err := outbox.New(store, cfg, clk.Now, log, svc.PrepareMail, outbox.Options{Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("outbox: %v", err)
	}
	if cfg.Mail.SMTPURL != nil {
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { sender.Run(ctx); close(done) }()
		t.Cleanup(func() { stop(); <-done })
	}
	srv.Config.Handler = e
	srv.Start()
	t.Cleanup(srv.Close) // again, so it runs before the store closes (Close is idempotent)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &app{Server: srv, cfg: cfg, store: store, auth: svc, clock: clk, logs: logs,
		echo: e, spec: &openAPISpec{url: srv.URL + "/openapi.json"}, outbox: sender, metrics: m}
}

// syncBuffer is a log sink safe for concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// userOption changes a user createUser makes.
type userOption func(*auth.NewUser, *bool)

var disabled userOption = func(_ *auth.NewUser, d *bool) { *d = true }

func withScopes(scopes ...string) userOption {
	return func(nu *auth.NewUser, _ *bool) { nu.Scopes = scopes }
}

func withName(name string) userOption {
	return func(nu *auth.NewUser, _ *bool) { nu.FullName = name }
}

// createUser adds a user with a password, as the CLI would.
func (a *app) createUser(t *testing.T, email, password string, opts ...userOption) *models.User {
	t.Helper()
	nu := auth.NewUser{Email: email, FullName: "Test " + strings.Split(email, "@")[0], Password: password, EmailVerified: true}
	off := false
	for _, o := range opts {
		o(&nu, &off)
	}
	ctx := context.Background()
	u, err := a.auth.CreateUser(ctx, nu)
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	if off {
		if err := a.auth.SetDisabled(ctx, email, true); err != nil {
			t.Fatalf("disable %s: %v", email, err)
		}
		u.Disabled = true
	}
	return u
}

// client is one browser or API client: its own cookie jar, and it never
// follows redirects, so tests see every 303. Every answer from /api (and
// the probes) is checked against the OpenAPI document (see openAPICheck).
type client struct {
	t    *testing.T
	app  *app
	http *http.Client
}

func (a *app) client(t *testing.T) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &client{t: t, app: a, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
		Transport:     &openAPICheck{t: t, spec: a.spec, next: http.DefaultTransport},
	}}
}

// header is one request header; asJSON and asHTML are the two formats.
type header struct{ name, value string }

var (
	asJSON = header{"Accept", "application/json"}
	asHTML = header{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
)

func bearer(token string) header { return header{"Authorization", "Bearer " + token} }

// response is a read response.
type response struct {
	*http.Response
	Body []byte
}

// do sends a request. body may be nil, url.Values (a form), a string (raw
// JSON) or any other value (encoded as JSON).
func (c *client) do(method, path string, body any, headers ...header) *response {
	c.t.Helper()
	var (
		reader      io.Reader
		contentType string
	)
	switch b := body.(type) {
	case nil:
	case url.Values:
		reader, contentType = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		reader, contentType = strings.NewReader(b), "application/json"
	case multipartBody:
		reader, contentType = b.reader, b.contentType
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("encode body: %v", err)
		}
		reader, contentType = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, c.app.URL+path, reader)
	if err != nil {
		c.t.Fatalf("request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, h := range headers {
		req.Header.Set(h.name, h.value)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read body: %v", err)
	}
	return &response{Response: resp, Body: data}
}

func (c *client) get(path string, headers ...header) *response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, headers...)
}

func (c *client) post(path string, body any, headers ...header) *response {
	c.t.Helper()
	return c.do(http.MethodPost, path, body, headers...)
}

// multipartBody is a multipart/form-data body.
type multipartBody struct {
	reader      io.Reader
	contentType string
}

func multipartForm(fields map[string]string) multipartBody {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	_ = w.Close()
	return multipartBody{reader: &buf, contentType: w.FormDataContentType()}
}

// problemBody is the contract's JSON error shape.
type problemBody struct {
	Error  string            `json:"error"`
	Detail string            `json:"detail"`
	Fields map[string]string `json:"fields"`
}

// problem decodes a JSON error body, failing the test if it is not one.
func (r *response) problem(t *testing.T) problemBody {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON; body %.300s", ct, r.Body)
	}
	var p problemBody
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("error body %.300s: %v", r.Body, err)
	}
	if p.Error == "" || p.Detail == "" {
		t.Fatalf("error body %s lacks error or detail", r.Body)
	}
	return p
}

// decode decodes a JSON body into v.
func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON; body %.300s", ct, r.Body)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %.300s: %v", r.Body, err)
	}
}

// doc parses an HTML body.
func (r *response) doc(t *testing.T) *goquery.Document {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type = %q, want HTML; body %.300s", ct, r.Body)
	}
	d, err := goquery.NewDocumentFromReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return d
}

// wantStatus fails the test unless the response has status want.
func (r *response) wantStatus(t *testing.T, want int) *response {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status = %d, want %d; body %.500s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.Body)
	}
	return r
}

// wantRedirect fails the test unless the response is a 303 to location.
func (r *response) wantRedirect(t *testing.T, location string) {
	t.Helper()
	r.wantStatus(t, http.StatusSeeOther)
	if got := r.Header.Get("Location"); got != location {
		t.Fatalf("Location = %q, want %q", got, location)
	}
}

// token is a decoded token response.
type token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	// RefreshToken is in the answers to a login and to a refresh (§7).
	RefreshToken string `json:"refresh_token"`
}

// loginAPI logs in through /api/login and returns the token response.
func (c *client) loginAPI(email, password string, scope ...string) token {
	c.t.Helper()
	form := url.Values{"username": {email}, "password": {password}}
	if len(scope) > 0 {
		form.Set("scope", strings.Join(scope, " "))
	}
	var tok token
	c.post("/api/login", form).wantStatus(c.t, http.StatusOK).decode(c.t, &tok)
	return tok
}

// loginForm logs a browser in through the form.
func (c *client) loginForm(email, password string) {
	c.t.Helper()
	c.post("/auth/token", url.Values{"username": {email}, "password": {password}}, asHTML).
		wantRedirect(c.t, "/auth/home")
}

// formOf builds a form from name, value pairs.
func formOf(pairs ...string) url.Values {
	form := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		form.Add(pairs[i], pairs[i+1])
	}
	return form
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
