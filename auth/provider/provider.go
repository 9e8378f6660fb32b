// Package provider logs people in through someone else: Google, GitHub or
// any OpenID Connect provider, over the authorization-code flow with PKCE
// (x/oauth2, go-oidc). A Provider says who logged in (a Profile); what
// that person may do here — link, create, refuse — is auth's to decide.
// It imports models and config only, never auth.
package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"gatehouse/config"
	"gatehouse/models"
)

// Timeout bounds every call to a provider (discovery, token, keys,
// userinfo, GitHub's API): a provider that is down or slow costs a user at
// most this long per call, then 502 provider_unavailable.
const Timeout = 10 * time.Second

// Info names a provider: Name in routes (google, github, oidc), Display
// on buttons (Google, GitHub, OIDC_NAME).
type Info struct {
	Name    string
	Display string
}

// Profile is what a provider vouches for about who logged in, as it
// said it (auth puts the email in canonical form and checks it).
type Profile struct {
	Provider      string
	Subject       string // the provider's immutable id: OIDC sub, GitHub's numeric id
	Email         string // as the provider gave it; "" when none
	EmailVerified bool
	Name          string
}

// Provider is one way to log in through someone else.
type Provider interface {
	Info() Info
	// AuthCodeURL is where to send the browser for a login with st,
	// whose raw state value is state.
	AuthCodeURL(ctx context.Context, st *models.OAuthState, state string) (string, error)
	// Exchange redeems the code the provider sent back (with iss, when it
	// sent one) and says who logged in.
	Exchange(ctx context.Context, st *models.OAuthState, code, iss string) (Profile, error)
}

// Set is the switched-on providers, by route name, in button order.
type Set struct {
	byName map[string]Provider
	order  []Info
}

// New builds a provider for each one configured (client id and
// secret set). Nothing is fetched here: OIDC discovery happens at first
// use, so a provider that is down cannot stop Gatehouse from starting.
func New(cfg config.Config, now func() time.Time) *Set {
	client := &http.Client{Timeout: Timeout, Transport: outageTransport{base: http.DefaultTransport}}
	ps := &Set{byName: map[string]Provider{}}
	add := func(p Provider) {
		ps.byName[p.Info().Name] = p
		ps.order = append(ps.order, p.Info())
	}
	for _, p := range cfg.Providers() {
		if !p.Enabled() {
			continue
		}
		info := Info{p.Key, p.Name}
		if p.Key == "github" { // GitHub speaks OAuth 2.0 only; the others OpenID Connect
			add(newGitHubProvider(info, p.Provider, redirectURL(cfg, p), client))
		} else {
			add(newOIDCProvider(info, p.Provider, redirectURL(cfg, p), client, now))
		}
	}
	return ps
}

// redirectURL is where the provider sends the browser back:
// {PROVIDER}_REDIRECT_URL when set (a single-page app's own page, which
// then calls the JSON callback), else BASE_URL/auth/oauth/{name}/callback.
func redirectURL(cfg config.Config, p config.NamedProvider) string {
	if p.RedirectURL != "" {
		return p.RedirectURL
	}
	return cfg.BaseURL.String() + strings.Replace(CallbackRoute, ":provider", p.Key, 1)
}

// CallbackRoute is the route a provider sends the browser back to, with
// the provider's name for :provider; the route table serves it.
const CallbackRoute = "/auth/oauth/:provider/callback"

// Get returns the switched-on provider called name; an unknown or
// switched-off one is 404, like any route that does not exist.
func (ps *Set) Get(name string) (Provider, error) {
	if p, ok := ps.byName[name]; ok {
		return p, nil
	}
	return nil, models.ErrNotFound
}

// Enabled reports whether name is a switched-on provider.
func (ps *Set) Enabled(name string) bool {
	_, ok := ps.byName[name]
	return ok
}

// Order lists the switched-on providers, in button order.
func (ps *Set) Order() []Info { return slices.Clone(ps.order) }

// Failures of a provider (contract §5).
var (
	// ErrFailed is an answer from the provider that does not verify, or a
	// refused code.
	ErrFailed = &models.Error{Kind: models.Unauthenticated, Code: "oauth_failed",
		Detail: "The provider's answer could not be verified. Please try again."}
	// ErrUnavailable is a provider that is down or too slow.
	ErrUnavailable = &models.Error{Kind: models.BadGateway, Code: "provider_unavailable",
		Detail: "The login provider is not answering. Please try again in a moment."}
)

// outageKey is the context key of an *outage.
type outageKey struct{}

// outage records that a provider call failed below the protocol: no
// connection, a timeout, or a 5xx answer. x/oauth2 flattens transport
// errors into text ("cannot fetch token: %v"), so the error alone cannot
// tell "provider down" (502) from "answer refused" (401); the transport
// can.
type outage struct{ seen atomic.Bool }

// outageTransport marks the request's outage, if any, when a call fails.
type outageTransport struct{ base http.RoundTripper }

func (t outageTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode >= 500 {
		if o, ok := r.Context().Value(outageKey{}).(*outage); ok {
			o.seen.Store(true)
		}
	}
	return resp, err
}

// WatchOutage returns ctx carrying a fresh outage record, which
// outageTransport marks and failed reads: a call to a provider made with
// it can tell a provider that is down from an answer that is refused.
func WatchOutage(ctx context.Context) context.Context {
	return context.WithValue(ctx, outageKey{}, &outage{})
}

// failed classifies err from a call to a provider: the provider
// down or slow is ErrUnavailable (502); anything else — a refused
// code, a token that does not verify — is ErrFailed (401). what says
// which call failed, for the log; it never holds codes or tokens.
func failed(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err()) // the client went away: nobody to answer
	}
	var (
		retrieve *oauth2.RetrieveError
		urlErr   *url.Error
		netErr   net.Error
	)
	cause := err.Error()
	if errors.As(err, &retrieve) {
		// Its text quotes the provider's whole answer; the status and the
		// error code are what an operator needs.
		status := 0
		if retrieve.Response != nil {
			status = retrieve.Response.StatusCode
		}
		cause = fmt.Sprintf("token endpoint answered %d %q", status, retrieve.ErrorCode)
	}
	o, _ := ctx.Value(outageKey{}).(*outage)
	if (o != nil && o.seen.Load()) || errors.As(err, &urlErr) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w (%s)", what, ErrUnavailable, cause)
	}
	return fmt.Errorf("%s: %w (%s)", what, ErrFailed, cause)
}
