package auth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"gatehouse/models"
)

// Metrics receives what auth counts (contract §12); main hands it the
// Prometheus side (package metrics), tests may hand it their own. Every
// label is a fixed word: a login method ("password", "refresh", a
// provider's key) and a result, never who.
type Metrics interface {
	Login(method, result string)
	HashWaiting(delta float64)
	HashSeconds(took time.Duration)
}

// noMetrics counts nothing: the default, so no call site checks for nil.
type noMetrics struct{}

func (noMetrics) Login(string, string)      {}
func (noMetrics) HashWaiting(float64)       {}
func (noMetrics) HashSeconds(time.Duration) {}

// SetMetrics makes m receive the counts; call it before serving.
func (s *Service) SetMetrics(m Metrics) {
	if m == nil {
		m = noMetrics{}
	}
	s.metrics = m
	s.hasher.metrics = m
}

// The results of a login attempt, as gatehouse_logins_total counts them.
const (
	LoginSuccess     = "success"
	LoginFailure     = "failure"
	LoginThrottled   = "throttled"
	LoginMFARequired = "mfa_required"
	LoginDisabled    = "disabled"
)

// loginResult names the result of a login that answered err: the one
// place that sorts outcomes for the metrics. Anything that is not
// success, a second factor asked for, throttling or a disabled account
// is a failure (a wrong password or code, a spent token, bad input).
func loginResult(err error) string {
	var e *models.Error
	switch {
	case err == nil:
		return LoginSuccess
	case errors.Is(err, ErrMFARequired):
		return LoginMFARequired
	case errors.Is(err, ErrInactiveUser):
		return LoginDisabled
	case errors.As(err, &e) && e.Kind == models.TooManyRequests:
		return LoginThrottled
	}
	return LoginFailure
}

// Login checks a password and opens a new session (login), counted.
func (s *Service) Login(ctx context.Context, in Credentials, client Client, replacing *Caller) (*Caller, error) {
	c, err := s.login(ctx, in, client, replacing)
	s.metrics.Login("password", loginResult(err))
	return c, err
}

// Refresh trades a refresh token for new tokens (refresh), counted.
func (s *Service) Refresh(ctx context.Context, in RefreshRequest, client Client) (TokenResponse, error) {
	t, _, err := s.refresh(ctx, in, "", client)
	s.metrics.Login("refresh", loginResult(err))
	return t, err
}

// CompletePendingLogin finishes a password login with its second factor
// (completePendingLogin), counted as a password login.
func (s *Service) CompletePendingLogin(w http.ResponseWriter, r *http.Request, in SecondStep, client Client, replacing *Caller) (*Caller, string, error) {
	c, next, err := s.completePendingLogin(w, r, in, client, replacing)
	s.metrics.Login("password", loginResult(err))
	return c, next, err
}

// FinishOAuth finishes a provider's login or link (finishOAuth); a
// login is counted under the provider's key (a link is no login).
func (s *Service) FinishOAuth(r *http.Request, name string, reply OAuthReply, client Client, caller *Caller) (*OAuthResult, error) {
	res, err := s.finishOAuth(r, name, reply, client, caller)
	if res == nil || !res.Linked {
		if _, known := s.providers.Get(name); known == nil {
			s.metrics.Login(name, loginResult(err))
		}
	}
	return res, err
}
