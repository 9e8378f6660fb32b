package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
	"gatehouse/templates"
)

func TestStatusOfEveryKind(t *testing.T) {
	t.Parallel()
	for _, k := range models.Kinds {
		status, ok := statusOf[k]
		if !ok {
			t.Errorf("Kind %d: got no status in statusOf, want one", k)
			continue
		}
		if status < 400 || status > 599 {
			t.Errorf("Kind %d: got status %d, want a 4xx or 5xx", k, status)
		}
	}
	if got, want := len(statusOf), len(models.Kinds); got != want {
		t.Errorf("statusOf entries: got %v, want %v (one per Kind)", got, want)
	}
}

// bindError binds body (of the given content type) into auth.Credentials
// the way the login handler does, and returns Echo's error.
func bindError(t *testing.T, contentType, body string) error {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/login", strings.NewReader(body))
	req.Header.Set(echo.HeaderContentType, contentType)
	c := echo.New().NewContext(req, httptest.NewRecorder())
	var in auth.Credentials
	err := bind(c, &in)
	if err == nil {
		t.Fatalf("bind(%q): got no error, want one", body)
	}
	return err
}

func TestProblemFor(t *testing.T) {
	t.Parallel()
	const leak = "pq: relation users does not exist at 10.0.0.3:5432"
	cases := []struct {
		name           string
		err            error
		wantStatus     int
		wantCode       string
		wantDetail     string
		wantRetryAfter int
		mustNotSay     []string // Go, SQL or driver text that must not reach a client
	}{
		{"malformed JSON is a bad request in our words", bindError(t, "application/json", `{"username": "ada@`),
			400, "bad_request", "The request could not be read.", 0, []string{"Syntax", "offset", "unexpected", "EOF"}},
		{"a JSON value of the wrong type is a bad request in our words", bindError(t, "application/json", `{"username": 5}`),
			400, "bad_request", "The request could not be read.", 0, []string{"Unmarshal", "type", "string", "field"}},
		{"JSON that is not an object", bindError(t, "application/json", `[1, 2]`),
			400, "bad_request", "The request could not be read.", 0, []string{"Unmarshal", "array"}},
		{"a JSON value followed by more is a bad request", bindError(t, "application/json", `{"username": "ada@example.com"} xyz`),
			400, "bad_request", "The request body must be exactly one JSON value.", 0, []string{"invalid character"}},
		{"two JSON values are a bad request", bindError(t, "application/json", `{"username": "a"}{"username": "b"}`),
			400, "bad_request", "The request body must be exactly one JSON value.", 0, nil},
		{"an unsupported body type", bindError(t, "application/xml", `<login/>`),
			415, "unsupported_media_type", "Send JSON, a URL-encoded form or multipart form data.", 0, nil},
		{"an unknown error is a 500 that says nothing", errors.New(leak),
			500, "internal_error", "Something went wrong on our side. It has been logged.", 0, []string{"relation", "10.0.0.3"}},
		{"a wrapped unknown error is a 500 that says nothing", fmt.Errorf("list users: %w", errors.New(leak)),
			500, "internal_error", "Something went wrong on our side. It has been logged.", 0, []string{"list users", "relation"}},
		{"a domain error keeps its kind", auth.ErrInactiveUser,
			403, "inactive_user", "Inactive user", 0, nil},
		{"a wrapped domain error keeps its kind", fmt.Errorf("login: %w", auth.ErrInvalidCredentials),
			401, "invalid_credentials", "Incorrect username or password", 0, []string{"login:"}},
		{"a domain error behind withPage keeps its kind", withPage(fmt.Errorf("login: %w", auth.ErrInactiveUser), "login.html", nil),
			403, "inactive_user", "Inactive user", 0, nil},
		{"the last administrator is 422 with its own code", withPage(models.ErrLastAdmin, "user.html", nil),
			422, "last_admin", models.ErrLastAdmin.Detail, 0, nil},
		{"a storage failure is 503 with the cause kept out", fmt.Errorf("user by id: %w: %v", models.ErrUnavailable, leak),
			503, "unavailable", models.ErrUnavailable.Detail, 5, []string{"relation", "user by id"}},
		{"busy rounds Retry-After up to whole seconds", &models.Error{Kind: models.Unavailable, Code: "busy", Detail: "Busy.", RetryAfter: 1500 * time.Millisecond},
			503, "busy", "Busy.", 2, nil},
		{"too many attempts carries Retry-After", &models.Error{Kind: models.TooManyRequests, Code: "too_many_attempts", Detail: "Later.", RetryAfter: 10 * time.Minute},
			429, "too_many_attempts", "Later.", 600, nil},
		{"a cancelled request is 503", fmt.Errorf("count users: %w", context.Canceled),
			503, "unavailable", "The service is unavailable; try again shortly.", 1, []string{"canceled"}},
		{"Echo's 404 in our words", echo.ErrNotFound,
			404, "not_found", "Not found", 0, nil},
		{"Echo's 405 in our words", echo.NewHTTPError(http.StatusMethodNotAllowed, "method not allowed: GET only"),
			405, "method_not_allowed", "Method not allowed", 0, []string{"GET only"}},
		{"Echo's 413 in our words", echo.ErrStatusRequestEntityTooLarge,
			413, "payload_too_large", "The request body is too large: at most 1 MiB, and 64 KiB on the login and sign-up routes.", 0, nil},
		{"an unlisted Echo 4xx is a bad request without its message", echo.NewHTTPError(http.StatusTeapot, "internal detail"),
			418, "bad_request", "I'm a teapot", 0, []string{"internal detail"}},
		{"an Echo 5xx is an internal error without its message", echo.NewHTTPError(http.StatusInternalServerError, "panic: runtime error"),
			500, "internal_error", "Something went wrong on our side. It has been logged.", 0, []string{"panic"}},
		{"a validation error keeps its fields", models.InvalidFields(map[string]string{"email": "Enter your email."}),
			422, "invalid_input", "Some fields are not valid.", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := problemFor(tc.err)
			if p.Status != tc.wantStatus {
				t.Errorf("status: got %v, want %v", p.Status, tc.wantStatus)
			}
			if p.Code != tc.wantCode {
				t.Errorf("code: got %v, want %v", p.Code, tc.wantCode)
			}
			if p.Detail != tc.wantDetail {
				t.Errorf("detail: got %q, want %q", p.Detail, tc.wantDetail)
			}
			if p.retryAfter != tc.wantRetryAfter {
				t.Errorf("Retry-After: got %v, want %v", p.retryAfter, tc.wantRetryAfter)
			}
			if p.Title != pageTitle(tc.wantStatus) || p.Title == "" {
				t.Errorf("title: got %q, want %q", p.Title, pageTitle(tc.wantStatus))
			}
			body, err := json.Marshal(p)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			for _, s := range tc.mustNotSay {
				if strings.Contains(string(body), s) {
					t.Errorf("JSON body: got %s, want it without %q", body, s)
				}
			}
		})
	}
}

func TestProblemForFields(t *testing.T) {
	t.Parallel()
	p := problemFor(fmt.Errorf("register: %w", models.InvalidFields(map[string]string{"email": "Enter your email."})))
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	want := `{"error":"invalid_input","detail":"Some fields are not valid.","fields":{"email":"Enter your email."}}`
	if string(body) != want {
		t.Errorf("JSON: got %s, want %s", body, want)
	}
	p = problemFor(auth.ErrInvalidCredentials)
	if body, _ := json.Marshal(p); strings.Contains(string(body), "fields") {
		t.Errorf("JSON without fields: got %s, want no fields key", body)
	}
}

// TestErrorPageData checks that a withPage error builds its page's data
// only when a page is drawn, and that a failure while building it does not
// replace the error being answered.
func TestErrorPageData(t *testing.T) {
	t.Parallel()
	set, err := templates.Parse()
	if err != nil {
		t.Fatalf("templates: %v", err)
	}
	cases := []struct {
		name       string
		json       bool
		buildErr   error
		wantBuilds int
		wantStatus int
		wantText   string
	}{
		{"a JSON client costs no page data", true, nil, 0, 422, `"error":"last_admin"`},
		{"a page is redrawn with its data", false, nil, 1, 422, models.ErrLastAdmin.Detail},
		{"a page whose data fails still answers the real error", false, models.ErrUnavailable, 1, 422, models.ErrLastAdmin.Detail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &handler{log: slog.New(slog.DiscardHandler)}
			e := echo.New()
			e.Renderer = &renderer{pages: set}
			req := httptest.NewRequest(http.MethodPost, "/admin/users/1", nil)
			if tc.json {
				req.Header.Set("x-expected-format", "application/json")
			}
			rec := httptest.NewRecorder()
			builds := 0
			h.handleError(withPage(models.ErrLastAdmin, "user.html", func() (any, error) {
				builds++
				return userPage{}, tc.buildErr
			}), e.NewContext(req, rec))
			if builds != tc.wantBuilds {
				t.Errorf("page data built: got %d times, want %d", builds, tc.wantBuilds)
			}
			if rec.Code != tc.wantStatus {
				t.Errorf("status: got %v, want %v", rec.Code, tc.wantStatus)
			}
			if body := rec.Body.String(); !strings.Contains(body, tc.wantText) {
				t.Errorf("body: got %s, want it to contain %q", body, tc.wantText)
			}
		})
	}
}

// TestErrorPageSessionEnded checks that only an ended session sends a page
// to the login page with state 5, although it shares its code with
// ErrNotAuthenticated.
func TestErrorPageSessionEnded(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"no session", auth.ErrNotAuthenticated, "/auth/login?next=%2Fadmin%2Fme&state=2"},
		{"an ended session", auth.ErrSessionEnded, "/auth/login?next=%2Fadmin%2Fme&state=5"},
		{"an ended session behind withPage", withPage(fmt.Errorf("change password: %w", auth.ErrSessionEnded), "me.html", nil), "/auth/login?next=%2Fadmin%2Fme&state=5"},
		{"Echo's 401", echo.ErrUnauthorized, "/auth/login?next=%2Fadmin%2Fme&state=2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &handler{log: slog.New(slog.DiscardHandler)}
			rec := httptest.NewRecorder()
			h.handleError(tc.err, echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/admin/me", nil), rec))
			if got := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || got != tc.want {
				t.Errorf("answer: got %d to %q, want 303 to %q", rec.Code, got, tc.want)
			}
		})
	}
}

// TestPageMessage: what an error page says where the JSON detail is
// written for a program: a scope in words, when to try again, a 404 that
// does not repeat its heading; anything else says its detail.
func TestPageMessage(t *testing.T) {
	t.Parallel()
	tooMany := func(detail string, wait time.Duration) error {
		return &models.Error{Kind: models.TooManyRequests, Code: "too_many_attempts", Detail: detail, RetryAfter: wait}
	}
	cases := []struct {
		name  string
		err   error
		title string
		want  string
	}{
		{"a missing scope in words", auth.MissingScope(auth.ScopeAdminRead), "Not allowed",
			"Your account may not see other people's accounts. An administrator can allow it."},
		{"Retry-After in minutes, rounded up", tooMany("Too many failed logins; try again later.", 11*time.Minute+30*time.Second), "Too many attempts",
			"Too many failed logins. Try again in 12 minutes."},
		{"one minute", tooMany("Too many requests for mail; try again later.", time.Minute), "Too many attempts",
			"Too many requests for mail. Try again in 1 minute."},
		{"seconds", tooMany("Slow down.", 40*time.Second), "Too many attempts", "Slow down. Try again in 40 seconds."},
		{"two minutes", tooMany("Slow down.", 61*time.Second), "Too many attempts", "Slow down. Try again in 2 minutes."},
		{"hours", tooMany("Slow down.", 150*time.Minute), "Too many attempts", "Slow down. Try again in 3 hours."},
		{"a 404 does not repeat its heading", echo.ErrNotFound, "Page not found", "There is nothing at this address, or it is not yours to see."},
		{"a 404 of our own does not either", models.ErrNotFound, "Page not found", "There is nothing at this address, or it is not yours to see."},
		{"other errors say their detail", auth.ErrInactiveUser, "Not allowed", "Inactive user"},
		{"a page may word an error its own way", sayOnPage(auth.ErrInvalidCredentials, "Incorrect password."), "Not logged in", "Incorrect password."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := problemFor(tc.err)
			if p.Title != tc.title || p.Message != tc.want {
				t.Errorf("title and message: got %q, %q; want %q, %q", p.Title, p.Message, tc.title, tc.want)
			}
			body, _ := json.Marshal(p)
			if strings.Contains(string(body), p.Message) && p.Message != p.Detail {
				t.Errorf("JSON body %s carries the page's words", body)
			}
		})
	}
}
