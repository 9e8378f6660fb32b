package models

import (
	"errors"
	"time"
)

// Kind classifies an Error; the HTTP layer maps each Kind to one status code.
type Kind int

// The kinds of failure a client can act on.
const (
	Invalid         Kind = iota + 1 // 422: a field failed validation
	BadRequest                      // 400: a body or parameter that cannot be read
	Unauthenticated                 // 401
	Forbidden                       // 403
	NotFound                        // 404
	Conflict                        // 409
	TooManyRequests                 // 429
	Unavailable                     // 503: busy, or the database is unreachable
	BadGateway                      // 502: an upstream provider failed
)

// Kinds lists every Kind, so the HTTP layer can prove it maps each one.
var Kinds = []Kind{Invalid, BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, TooManyRequests, Unavailable, BadGateway}

// Error is a failure the client can act on. Handlers map Kind to an HTTP
// status; Code and Detail reach the client as "error" and "detail".
type Error struct {
	Kind       Kind
	Code       string            // the contract's snake_case name, e.g. "invalid_credentials"
	Detail     string            // one sentence for a person
	Fields     map[string]string // per-field messages when Kind is Invalid
	RetryAfter time.Duration     // when to try again, for TooManyRequests and Unavailable
	Scope      string            // the missing scope, for insufficient_scope
}

func (e *Error) Error() string { return e.Code + ": " + e.Detail }

// Is makes errors.Is match two Errors by Code alone, so a copy with its
// own RetryAfter, Detail or Scope still matches its sentinel. Errors that
// share a Code but must be told apart are different sentinels of their
// own (auth.ErrSessionEnded wraps a not_authenticated Error).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// InvalidFields returns a 422 error naming each bad field.
func InvalidFields(fields map[string]string) *Error {
	return &Error{Kind: Invalid, Code: "invalid_input", Detail: "Some fields are not valid.", Fields: fields}
}

// Errors every layer may return.
var (
	ErrNotFound    = &Error{Kind: NotFound, Code: "not_found", Detail: "Not found"}
	ErrUnavailable = &Error{Kind: Unavailable, Code: "unavailable", Detail: "The service is unavailable; try again shortly.", RetryAfter: 5 * time.Second}
	ErrEmailTaken  = &Error{Kind: Conflict, Code: "email_taken", Detail: "An account with this email already exists.",
		Fields: map[string]string{"email": "An account with this email already exists."}}
)
