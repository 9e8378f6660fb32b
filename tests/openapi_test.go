package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"gatehouse/auth"
	"gatehouse/config"
)

// openAPISpec is an app's served OpenAPI document, fetched from the app
// and loaded on first use (once per app), with a router that finds each
// request's operation.
type openAPISpec struct {
	url    string
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func (s *openAPISpec) load() (*openapi3.T, routers.Router, error) {
	s.once.Do(func() {
		s.doc, s.router, s.err = fetchOpenAPI(s.url)
	})
	return s.doc, s.router, s.err
}

// fetchOpenAPI gets the document with a plain client (the checking one
// would check its own fetch), loads it and validates it.
func fetchOpenAPI(u string) (*openapi3.T, routers.Router, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET /openapi.json: status %d", resp.StatusCode)
	}
	doc, err := parseOpenAPI(data)
	if err != nil {
		return nil, nil, err
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("route the document: %w", err)
	}
	return doc, router, nil
}

// parseOpenAPI loads a document and validates it (examples included).
func parseOpenAPI(data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	return doc, nil
}

// inOpenAPI reports whether path is one the document describes.
func inOpenAPI(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/api" || path == "/healthz" || path == "/readyz" ||
		strings.HasPrefix(path, "/.well-known/")
}

// check compares one exchange with the document. An answer from a path or
// method the document lacks must be Echo's 404 or 405 in the error shape.
// Otherwise the status must be documented for the operation and the body
// and headers match it; and when the app accepted the request (2xx), the
// document must accept the request too, so its request bodies and
// parameters are no stricter than the server.
func (s *openAPISpec) check(req *http.Request, reqBody []byte, resp *http.Response, body []byte) error {
	doc, router, err := s.load()
	if err != nil {
		return err
	}
	ctx := req.Context()
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(vreq)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		want, code := http.StatusNotFound, "not_found"
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			want, code = http.StatusMethodNotAllowed, "method_not_allowed"
		}
		if resp.StatusCode != want {
			return fmt.Errorf("not in the document, so the answer should be %d %s, got %d", want, code, resp.StatusCode)
		}
		if want == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
			return errors.New("405 without an Allow header")
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("%d body is not JSON: %w", want, err)
		}
		if err := doc.Components.Schemas["Error"].Value.VisitJSON(v); err != nil {
			return fmt.Errorf("%d body is not the error shape: %w", want, err)
		}
		if got := v.(map[string]any)["error"]; got != code {
			return fmt.Errorf("error = %v, want %s", got, code)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("find the operation: %w", err)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true, // an undocumented status is an error
		MultiError:            true,
	}
	// One line per mismatch, not kin-openapi's dump of the whole schema.
	opts.WithCustomSchemaErrorFunc(func(e *openapi3.SchemaError) string {
		return fmt.Sprintf("%s (at /%s)", e.Reason, strings.Join(e.JSONPointer(), "/"))
	})
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("the app accepted the request but the document refuses it: %w", err)
		}
	}
	return openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	})
}

// openAPICheck is the test clients' transport: it checks every answer from
// a documented path against the document (see openAPISpec.check), so each
// contract test is also a test of the document.
type openAPICheck struct {
	t    *testing.T
	spec *openAPISpec
	next http.RoundTripper
}

func (o *openAPICheck) RoundTrip(req *http.Request) (*http.Response, error) {
	if !inOpenAPI(req.URL.Path) {
		return o.next.RoundTrip(req)
	}
	var reqBody []byte
	if req.GetBody != nil { // set by http.NewRequest for the in-memory bodies the client sends
		rc, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		reqBody, err = io.ReadAll(rc)
		if err != nil {
			return nil, err
		}
	}
	resp, err := o.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := o.spec.check(req, reqBody, resp, body); err != nil {
		o.t.Errorf("OpenAPI: %s %s → %d does not match /openapi.json: %v\nbody: %.500s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

// echoPath turns Echo's ":id" parameters into OpenAPI's "{id}".
var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIRoutes keeps the document and the route table in step: every
// /api route (and probe) that Echo serves is documented, with the same
// method and parameter names, and every documented operation is served.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	// notYetRegistered lists documented operations whose routes are built
	// on other branches, as "METHOD /path": "issue N". The test fails when
	// one of them IS registered, so whoever merges that branch deletes its
	// line here. Issues 3 and 4 have landed: it is empty.
	notYetRegistered := map[string]string{}

	app := newApp(t, sqliteDB)
	doc, _, err := app.spec.load()
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, r := range app.echo.Routes() {
		if !inOpenAPI(r.Path) || strings.Contains(r.Path, "*") { // "*": catch-alls of groups with middleware
			continue
		}
		registered[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}

	for _, route := range sortedKeys(registered) {
		if !documented[route] {
			t.Errorf("%s is served but not in handlers/openapi.json", route)
		}
	}
	for _, op := range sortedKeys(documented) {
		issue, pending := notYetRegistered[op]
		switch {
		case pending && registered[op]:
			t.Errorf("%s is served now (%s has landed): delete it from notYetRegistered", op, issue)
		case !pending && !registered[op]:
			t.Errorf("%s is in handlers/openapi.json but no route serves it", op)
		}
	}
	for op := range notYetRegistered {
		if !documented[op] {
			t.Errorf("notYetRegistered lists %s, which handlers/openapi.json does not document", op)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestOpenAPIDocument checks the served document: it validates, /docs gives
// the same document to a JSON client, its first server is the relative "/"
// (so Swagger UI stays on its own origin and cookie) and then BASE_URL, and
// the cookie scheme names the real cookie under http and https.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, baseURL, cookie string
	}{
		{"http", "http://127.0.0.1:8000", "session"},
		{"https", "https://gatehouse.example", "__Host-session"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := newApp(t, sqliteDB, func(c *config.Config) { c.BaseURL, _ = url.Parse(tc.baseURL) })
			c := app.client(t)
			resp := c.get("/openapi.json", asHTML).wantStatus(t, http.StatusOK) // a browser opening it gets JSON too
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type = %q, want JSON", ct)
			}
			if !bytes.HasPrefix(resp.Body, []byte(`{"openapi":"3.0.3","info":`)) {
				t.Errorf("the document does not start with its version and info: %.60s", resp.Body)
			}
			doc, err := parseOpenAPI(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			twin := c.get("/docs", asJSON).wantStatus(t, http.StatusOK)
			if !bytes.Equal(twin.Body, resp.Body) {
				t.Errorf("GET /docs as JSON is not the document")
			}
			var servers []string
			for _, s := range doc.Servers {
				servers = append(servers, s.URL)
			}
			if want := []string{"/", tc.baseURL}; !slices.Equal(servers, want) {
				t.Errorf("servers = %v, want %v", servers, want)
			}
			if got := doc.Components.SecuritySchemes["session"].Value.Name; got != tc.cookie {
				t.Errorf("cookie scheme name = %q, want %q", got, tc.cookie)
			}
			flow := doc.Components.SecuritySchemes["password"].Value.Flows.Password
			if flow == nil || flow.TokenURL != "/api/login" {
				t.Errorf("the OAuth2 password flow's tokenUrl is not /api/login: %+v", flow)
			}
		})
	}
}

// TestOpenAPIScopes checks each operation's documented scope against what
// the server enforces: a token with every other scope gets 403
// insufficient_scope naming it, and no credentials get 401. Operations
// documented without security answer without credentials.
func TestOpenAPIScopes(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB, withPasskeys) // its routes answer 404 to everyone while off
	app.createUser(t, "root@example.com", "correct horse battery", withScopes(auth.AllScopes...))
	doc, _, err := app.spec.load()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range app.echo.Routes() {
		served[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	tokens := map[string]string{} // scope → a token with every scope but that one
	without := func(scope string) string {
		if tokens[scope] == "" {
			var others []string
			for _, s := range auth.AllScopes {
				if s != scope {
					others = append(others, s)
				}
			}
			tokens[scope] = app.client(t).loginAPI("root@example.com", "correct horse battery", others...).AccessToken
		}
		return tokens[scope]
	}

	checked := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !served[method+" "+path] {
				continue // not built on this branch yet; TestOpenAPIRoutes lists them
			}
			t.Run(method+" "+path, func(t *testing.T) {
				target := examplePath(path, item, op)
				c := app.client(t)
				anonymous := c.do(method, target, nil)
				if op.Security == nil || len(*op.Security) == 0 {
					if anonymous.StatusCode == http.StatusUnauthorized && anonymous.problem(t).Error == "not_authenticated" {
						t.Errorf("documented without security, but it answers 401 not_authenticated")
					}
					return
				}
				anonymous.wantStatus(t, http.StatusUnauthorized)
				var scope string
				for _, req := range *op.Security {
					if scopes, ok := req["password"]; ok && len(scopes) > 0 {
						scope = scopes[0]
					}
				}
				if scope == "" {
					return // any login will do (logout)
				}
				resp := c.do(method, target, nil, bearer(without(scope))).wantStatus(t, http.StatusForbidden)
				if got := resp.problem(t).Error; got != "insufficient_scope" {
					t.Errorf("error = %q, want insufficient_scope", got)
				}
				if got, want := resp.Header.Get("WWW-Authenticate"), fmt.Sprintf("scope=%q", scope); !strings.Contains(got, want) {
					t.Errorf("WWW-Authenticate = %q, want it to name %s", got, want)
				}
			})
			checked++
		}
	}
	if checked < 5 {
		t.Errorf("checked %d operations; the document or the route table is missing routes", checked)
	}
}

// examplePath fills a path's parameters with values of the right type.
func examplePath(path string, item *openapi3.PathItem, op *openapi3.Operation) string {
	params := append(openapi3.Parameters{}, item.Parameters...)
	params = append(params, op.Parameters...)
	for _, p := range params {
		if p.Value == nil || p.Value.In != openapi3.ParameterInPath {
			continue
		}
		value := "x"
		if s := p.Value.Schema; s != nil && s.Value != nil {
			switch {
			case len(s.Value.Enum) > 0:
				value = fmt.Sprint(s.Value.Enum[0])
			case s.Value.Type.Is("integer"):
				value = "1"
			}
		}
		path = strings.ReplaceAll(path, "{"+p.Value.Name+"}", value)
	}
	return path
}

// TestOpenAPIResponses drives the main flows and their failures so that the
// checking client compares each real answer with the document: every
// login body format, me by token and by cookie, logout, and the errors
// 400, 401 (three ways), 403 (three ways), 404, 405, 413, 415, 422 and 429.
func TestOpenAPIResponses(t *testing.T) {
	eachDB(t, func(t *testing.T, db database) {
		app := newApp(t, db)
		app.createUser(t, "ada@example.com", "correct horse battery")
		app.createUser(t, "off@example.com", "correct horse battery", disabled)
		good := url.Values{"username": {"ada@example.com"}, "password": {"correct horse battery"}}

		c := app.client(t)
		for name, body := range map[string]any{
			"form":      url.Values{"username": {"ada@example.com"}, "password": {"correct horse battery"}, "grant_type": {"password"}, "scope": {"user:read"}},
			"multipart": multipartForm(map[string]string{"username": "ada@example.com", "password": "correct horse battery"}),
			"JSON":      map[string]string{"username": "ada@example.com", "password": "correct horse battery", "scope": "user:read user:write"},
		} {
			if resp := c.post("/api/login", body); resp.StatusCode != http.StatusOK {
				t.Errorf("%s login: status %d", name, resp.StatusCode)
			}
		}
		tok := c.loginAPI("ada@example.com", "correct horse battery")
		c.get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
		c.get("/api/me").wantStatus(t, http.StatusOK) // the cookie the login set
		c.get("/healthz").wantStatus(t, http.StatusOK)
		c.get("/readyz").wantStatus(t, http.StatusOK)

		readOnly := app.client(t).loginAPI("ada@example.com", "correct horse battery", "user:write")
		cases := []struct {
			name       string
			method     string
			path       string
			body       any
			headers    []header
			wantStatus int
			wantCode   string
		}{
			{"wrong password", "POST", "/api/login", url.Values{"username": {"ada@example.com"}, "password": {"wrong"}}, nil, 401, "invalid_credentials"},
			{"disabled user", "POST", "/api/login", url.Values{"username": {"off@example.com"}, "password": {"correct horse battery"}}, nil, 403, "inactive_user"},
			{"empty password", "POST", "/api/login", url.Values{"username": {"ada@example.com"}}, nil, 422, "invalid_input"},
			{"malformed JSON", "POST", "/api/login", `{"username":`, nil, 400, "bad_request"},
			{"a body type login does not read", "POST", "/api/login", "username=ada", []header{{"Content-Type", "text/plain"}}, 415, "unsupported_media_type"},
			{"a body over 1 MiB", "POST", "/api/login", `"` + strings.Repeat("a", 1<<20) + `"`, nil, 413, "payload_too_large"},
			{"a login from another site", "POST", "/api/login", good, []header{{"Sec-Fetch-Site", "cross-site"}}, 403, "cross_site_request"},
			{"me without credentials", "GET", "/api/me", nil, nil, 401, "not_authenticated"},
			{"me with a garbled token", "GET", "/api/me", nil, []header{bearer("not-a-jwt")}, 401, "invalid_token"},
			{"me without user:read", "GET", "/api/me", nil, []header{bearer(readOnly.AccessToken)}, 403, "insufficient_scope"},
			{"logout without credentials", "POST", "/api/logout", nil, nil, 401, "not_authenticated"},
			{"an unknown /api path", "GET", "/api/nothing-here", nil, nil, 404, "not_found"},
			{"a method login does not take", "GET", "/api/login", nil, nil, 405, "method_not_allowed"},
			{"a method me does not take", "DELETE", "/api/me", nil, nil, 405, "method_not_allowed"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := app.client(t).do(tc.method, tc.path, tc.body, tc.headers...).wantStatus(t, tc.wantStatus)
				if got := resp.problem(t).Error; got != tc.wantCode {
					t.Errorf("error = %q, want %q", got, tc.wantCode)
				}
			})
		}

		t.Run("throttled login", func(t *testing.T) {
			tc := app.client(t)
			app.createUser(t, "bob@example.com", "correct horse battery")
			wrong := url.Values{"username": {"bob@example.com"}, "password": {"wrong"}}
			for range app.cfg.LoginMaxFailures {
				tc.post("/api/login", wrong).wantStatus(t, http.StatusUnauthorized)
			}
			resp := tc.post("/api/login", wrong).wantStatus(t, http.StatusTooManyRequests)
			if got := resp.problem(t).Error; got != "too_many_attempts" {
				t.Errorf("error = %q, want too_many_attempts", got)
			}
		})

		t.Run("logout, then the token is dead", func(t *testing.T) {
			lc := app.client(t)
			tok := lc.loginAPI("ada@example.com", "correct horse battery")
			lc.post("/api/logout", nil, bearer(tok.AccessToken)).wantStatus(t, http.StatusOK)
			resp := app.client(t).get("/api/me", bearer(tok.AccessToken)).wantStatus(t, http.StatusUnauthorized)
			if got := resp.problem(t).Error; got != "invalid_token" {
				t.Errorf("error = %q, want invalid_token", got)
			}
		})
	})
}

// TestOpenAPICheckCatchesDrift makes sure the check the clients run can
// fail: answers that differ from the document in each way it looks at.
func TestOpenAPICheckCatchesDrift(t *testing.T) {
	t.Parallel()
	app := newApp(t, sqliteDB)
	user := `{"id":1,"email":"ada@example.com","full_name":"Ada","scopes":["user:read"],"disabled":false,"created_at":"2026-01-02T03:04:05Z","providers":["password"],"email_verified":true,"mfa":false}`
	cases := []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		wantOK             bool
	}{
		{"the user object as documented", "GET", "/api/me", 200, nil, user, true},
		{"a missing field", "GET", "/api/me", 200, nil, `{"id":1,"email":"ada@example.com"}`, false},
		{"an undocumented field", "GET", "/api/me", 200, nil, strings.Replace(user, `"id":1`, `"id":1,"password_hash":"x"`, 1), false},
		{"an id of the wrong type", "GET", "/api/me", 200, nil, strings.Replace(user, `"id":1`, `"id":"1"`, 1), false},
		{"an undocumented status", "GET", "/api/me", 418, nil, `{"error":"not_found","detail":"x"}`, false},
		{"an error code the contract lacks", "GET", "/api/me", 401, http.Header{"Www-Authenticate": {"Bearer"}}, `{"error":"nope","detail":"x"}`, false},
		{"a 401 without WWW-Authenticate", "GET", "/api/me", 401, nil, `{"error":"not_authenticated","detail":"Not authenticated"}`, false},
		{"an unknown path answering 200", "GET", "/api/nothing-here", 200, nil, `{}`, false},
		{"an unknown path's 404 in the error shape", "GET", "/api/nothing-here", 404, nil, `{"error":"not_found","detail":"Not found"}`, true},
		{"a 405 without Allow", "DELETE", "/api/me", 405, nil, `{"error":"method_not_allowed","detail":"Method not allowed"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, app.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			header := http.Header{"Content-Type": {"application/json"}}
			for k, v := range tc.header {
				header[k] = v
			}
			resp := &http.Response{StatusCode: tc.status, Header: header}
			err = app.spec.check(req, nil, resp, []byte(tc.body))
			if (err == nil) != tc.wantOK {
				t.Errorf("check = %v, want ok %t", err, tc.wantOK)
			}
		})
	}
}
