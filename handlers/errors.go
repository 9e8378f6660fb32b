package handlers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/idp"
	"gatehouse/models"
)

// statusOf maps each domain error Kind to its HTTP status.
var statusOf = map[models.Kind]int{
	models.Invalid:         http.StatusUnprocessableEntity,
	models.BadRequest:      http.StatusBadRequest,
	models.Unauthenticated: http.StatusUnauthorized,
	models.Forbidden:       http.StatusForbidden,
	models.NotFound:        http.StatusNotFound,
	models.Conflict:        http.StatusConflict,
	models.TooManyRequests: http.StatusTooManyRequests,
	models.Unavailable:     http.StatusServiceUnavailable,
	models.BadGateway:      http.StatusBadGateway,
}

// echoErrors words Echo's own errors by status; their Message (which can
// hold Go error text such as "Syntax error: offset=…") never reaches a client.
// A 401 from Echo is auth.ErrNotAuthenticated itself, so it is handled as
// ours is (a page goes to the login page).
var echoErrors = map[int]*models.Error{
	http.StatusBadRequest:            {Code: "bad_request", Detail: "The request could not be read."},
	http.StatusUnauthorized:          auth.ErrNotAuthenticated,
	http.StatusForbidden:             {Code: "forbidden", Detail: "Forbidden"},
	http.StatusNotFound:              {Code: "not_found", Detail: "Not found"},
	http.StatusMethodNotAllowed:      {Code: "method_not_allowed", Detail: "Method not allowed"},
	http.StatusRequestEntityTooLarge: {Code: "payload_too_large", Detail: "The request body is too large: at most 1 MiB, and 64 KiB on the login and sign-up routes."},
	http.StatusUnsupportedMediaType:  {Code: "unsupported_media_type", Detail: "Send JSON, a URL-encoded form or multipart form data."},
	http.StatusTooManyRequests:       {Code: "too_many_requests", Detail: "Too many requests; try again later."},
	http.StatusServiceUnavailable:    {Code: "unavailable", Detail: "The service is unavailable; try again shortly."},
}

var errInternal = models.Error{Code: "internal_error", Detail: "Something went wrong on our side. It has been logged."}

// problem is an error as the client sees it, in either format. Title and
// Message are the page's words (see pageTitle and pageMessage); JSON
// clients get Code and Detail.
type problem struct {
	Status  int    `json:"-"`
	Title   string `json:"-"`
	Message string `json:"-"`
	Code    string `json:"error"`
	Detail  string `json:"detail"`
	// Description repeats Detail as RFC 6749 §5.2's error_description on
	// the OpenID Connect provider's routes (contract §10).
	Description string            `json:"error_description,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
	retryAfter  int
	scope       string
	// cause is the error being answered: the one handed to handleError,
	// or, for one of Echo's, its entry in echoErrors. Decisions about the
	// answer are made on it with errors.Is, never on Code.
	cause error
}

// problemFor classifies err: a domain error by its Kind, Echo's errors by
// status with our wording, anything else as a 500 that says nothing of
// internals.
func problemFor(err error) problem {
	p := problem{cause: err}
	var (
		domain  *models.Error
		httpErr *echo.HTTPError
	)
	switch {
	case errors.As(err, &domain):
		p.Status = statusOf[domain.Kind]
		p.Code, p.Detail, p.Fields, p.scope = domain.Code, domain.Detail, domain.Fields, domain.Scope
		if domain.RetryAfter > 0 {
			p.retryAfter = int(math.Ceil(domain.RetryAfter.Seconds()))
		}
	case errors.As(err, &httpErr):
		p.Status = httpErr.Code
		known, ok := echoErrors[httpErr.Code]
		switch {
		case ok:
			p.Code, p.Detail, p.cause = known.Code, known.Detail, known
		case httpErr.Code >= 400 && httpErr.Code < 500:
			p.Code, p.Detail = "bad_request", http.StatusText(httpErr.Code)
		default:
			p.Status, p.Code, p.Detail = http.StatusInternalServerError, errInternal.Code, errInternal.Detail
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		p.Status, p.Code, p.Detail = http.StatusServiceUnavailable, "unavailable", echoErrors[http.StatusServiceUnavailable].Detail
		p.retryAfter = 1
	default:
		p.Status, p.Code, p.Detail = http.StatusInternalServerError, errInternal.Code, errInternal.Detail
	}
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if p.Status == http.StatusServiceUnavailable && p.retryAfter == 0 {
		p.retryAfter = 5
	}
	p.Title = pageTitle(p.Status)
	p.Message = pageMessage(p)
	var words *pageWords
	if errors.As(err, &words) {
		p.Message = words.words
	}
	return p
}

// pageTitles name an error page (its heading, and the first words of the
// window's title over a page redrawn with the error) in a person's words;
// other statuses keep their HTTP reason phrase.
var pageTitles = map[int]string{
	http.StatusUnauthorized:        "Not logged in",
	http.StatusForbidden:           "Not allowed",
	http.StatusNotFound:            "Page not found",
	http.StatusUnprocessableEntity: "Not accepted",
	http.StatusTooManyRequests:     "Too many attempts",
	http.StatusInternalServerError: "Something went wrong",
	http.StatusBadGateway:          "The provider did not answer",
	http.StatusServiceUnavailable:  "Unavailable for a moment",
}

func pageTitle(status int) string {
	if t, ok := pageTitles[status]; ok {
		return t
	}
	return http.StatusText(status)
}

// scopeWords say what each scope lets an account do, for a page that
// refuses it: a person is not told "the admin:read scope".
var scopeWords = map[string]string{
	auth.ScopeUserRead:   "see its own details",
	auth.ScopeUserWrite:  "change its own details",
	auth.ScopeAdminRead:  "see other people's accounts",
	auth.ScopeAdminWrite: "change other people's accounts",
}

// pageMessage is what a page says of p: its Detail, except where the
// Detail is written for a program or says less than the page can — a
// missing scope in words, when to try again (from Retry-After) — or would
// only repeat the 404 page's heading.
func pageMessage(p problem) string {
	switch {
	case errors.Is(p.cause, auth.ErrInsufficientScope):
		what, ok := scopeWords[p.scope]
		if !ok {
			what = "do this"
		}
		return "Your account may not " + what + ". An administrator can allow it."
	case p.Status == http.StatusTooManyRequests && p.retryAfter > 0:
		detail, _, _ := strings.Cut(p.Detail, "; try again later")
		return strings.TrimSuffix(detail, ".") + ". Try again " + inTime(p.retryAfter) + "."
	case p.Status == http.StatusNotFound && p.Detail == models.ErrNotFound.Detail:
		return "There is nothing at this address, or it is not yours to see."
	}
	return p.Detail
}

// inTime says when seconds from now is, rounded up: "in 40 seconds",
// "in 1 minute", "in 12 minutes", "in 2 hours".
func inTime(seconds int) string {
	n, unit := seconds, "second"
	switch {
	case seconds >= 2*60*60:
		n, unit = (seconds+3599)/3600, "hour"
	case seconds >= 60:
		n, unit = (seconds+59)/60, "minute"
	}
	if n != 1 {
		unit += "s"
	}
	return "in " + strconv.Itoa(n) + " " + unit
}

// pageWords is an error that a page words otherwise than its Detail (see
// sayOnPage); JSON clients still get the error's own detail.
type pageWords struct {
	err   error
	words string
}

func (w *pageWords) Error() string { return w.err.Error() }
func (w *pageWords) Unwrap() error { return w.err }

// sayOnPage makes a page say words for err instead of its Detail, where
// the page gives the Detail's words another sense (the re-authentication
// page asks no username).
func sayOnPage(err error, words string) error {
	return &pageWords{err: err, words: words}
}

// handleError is the only echo.HTTPErrorHandler: every failure, ours or
// Echo's, becomes the JSON error shape or a page, with the same status.
func (h *handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	req := c.Request()
	p := problemFor(err)
	switch {
	case p.Status >= 500 && req.Context().Err() != nil:
		// The client went away mid-request (a closed tab, a load test
		// stopping): nothing failed on our side.
		h.log.Info("client went away", "method", req.Method, "route", c.Path(),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	case p.Status >= 500:
		h.log.Error("request failed", "method", req.Method, "route", c.Path(), "status", p.Status,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
	}
	header := c.Response().Header()
	switch {
	case errors.Is(p.cause, idp.ErrInvalidClient):
		header.Set("WWW-Authenticate", `Basic realm="gatehouse", error="invalid_client"`)
	case errors.Is(p.cause, auth.ErrInvalidToken):
		header.Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token is invalid or has expired"`)
	case p.Status == http.StatusUnauthorized:
		header.Set("WWW-Authenticate", "Bearer")
	case errors.Is(p.cause, auth.ErrInsufficientScope):
		header.Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope=%q`, p.scope))
	}
	if p.retryAfter > 0 {
		header.Set("Retry-After", strconv.Itoa(p.retryAfter))
	}

	if wantsJSON(req) {
		if oauthAPI(req.URL.Path) {
			p.Description = p.Detail
		}
		err = c.JSON(p.Status, p)
	} else {
		err = h.errorPage(c, p)
	}
	if err != nil {
		h.log.Error("writing the error response failed", "err", err)
	}
}

// errorPage shows p to a browser: an unauthenticated page request goes to
// the login page (state 2, or 5 when its session ended) and comes back
// afterwards; a withPage error redraws its page, whose data is built only
// now; anything else is error.html. A page whose data cannot be built (a
// read failed) gives way to error.html with the same problem: the error
// being answered is never replaced by the one met while drawing it.
func (h *handler) errorPage(c echo.Context, p problem) error {
	req := c.Request()
	if errors.Is(p.cause, auth.ErrNotAuthenticated) {
		q := url.Values{"state": {"2"}}
		if errors.Is(p.cause, auth.ErrSessionEnded) {
			q.Set("state", "5")
		}
		if req.Method == http.MethodGet {
			q.Set("next", req.URL.RequestURI())
		}
		return c.Redirect(http.StatusSeeOther, "/auth/login?"+q.Encode())
	}
	if errors.Is(p.cause, auth.ErrReauthRequired) {
		// A sensitive action asks the user to confirm who they are, then
		// goes back: to the page asked for, or, after a form, to the page
		// the form names (its hidden next).
		next := req.URL.RequestURI()
		if req.Method != http.MethodGet {
			next = localPathOr(c.FormValue("next"), "/admin/me")
		}
		return c.Redirect(http.StatusSeeOther, "/auth/reauth?"+url.Values{"next": {next}}.Encode())
	}
	var pe *pageError
	if errors.As(p.cause, &pe) {
		data, err := pe.build()
		if err == nil {
			return c.Render(p.Status, pe.page, view{Page: data, Problem: &p})
		}
		h.log.Warn("redrawing the page of an error failed", "page", pe.page, "status", p.Status,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
	}
	return c.Render(p.Status, "error.html", view{Problem: &p})
}
