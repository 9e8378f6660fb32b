package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"gatehouse/config"
	"gatehouse/models"
)

// providerTimeout bounds every call to a provider (discovery, token, keys,
// userinfo, GitHub's API): a provider that is down or slow costs a user at
// most this long per call, then 502 provider_unavailable.
const providerTimeout = 10 * time.Second

// ProviderInfo names a provider: Name in routes (google, github, oidc),
// Display on buttons (Google, GitHub, OIDC_NAME).
type ProviderInfo struct {
	Name    string
	Display string
}

// profile is what a provider vouches for about who logged in.
type profile struct {
	Provider      string
	Subject       string // the provider's immutable id: OIDC sub, GitHub's numeric id
	Email         string // canonical; "" when the provider gave none that is usable
	EmailVerified bool
	Name          string
}

// provider is one way to log in through someone else.
type provider interface {
	info() ProviderInfo
	// authCodeURL is where to send the browser for a login with st,
	// whose raw state value is state.
	authCodeURL(ctx context.Context, st *models.OAuthState, state string) (string, error)
	// exchange redeems the code the provider sent back (with iss, when it
	// sent one) and says who logged in.
	exchange(ctx context.Context, st *models.OAuthState, code, iss string) (profile, error)
}

// providers are the switched-on providers, by route name, in button order.
type providers struct {
	byName map[string]provider
	order  []ProviderInfo
}

// newProviders builds a provider for each one configured (client id and
// secret set). Nothing is fetched here: OIDC discovery happens at first
// use, so a provider that is down cannot stop Gatehouse from starting.
func newProviders(cfg config.Config, now func() time.Time) *providers {
	client := &http.Client{Timeout: providerTimeout, Transport: outageTransport{base: http.DefaultTransport}}
	ps := &providers{byName: map[string]provider{}}
	add := func(p provider) {
		ps.byName[p.info().Name] = p
		ps.order = append(ps.order, p.info())
	}
	for _, p := range cfg.Providers() {
		if !p.Enabled() {
			continue
		}
		info := ProviderInfo{p.Key, p.Name}
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
	return cfg.BaseURL.String() + "/auth/oauth/" + p.Key + "/callback"
}

// get returns the switched-on provider called name; an unknown or
// switched-off one is 404, like any route that does not exist.
func (ps *providers) get(name string) (provider, error) {
	if p, ok := ps.byName[name]; ok {
		return p, nil
	}
	return nil, models.ErrNotFound
}

// enabled reports whether name is a switched-on provider.
func (ps *providers) enabled(name string) bool {
	_, ok := ps.byName[name]
	return ok
}

// Providers lists the switched-on providers, in button order.
func (s *Service) Providers() []ProviderInfo {
	return slices.Clone(s.providers.order)
}

// ProviderDisplay is the name a person knows a provider by, also for one
// that is switched off now (an account may still be linked to it).
func (s *Service) ProviderDisplay(name string) string {
	for _, p := range s.providers.order {
		if p.Name == name {
			return p.Display
		}
	}
	for _, p := range s.cfg.Providers() {
		if p.Key == name {
			return p.Name
		}
	}
	return name
}

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

// watchOutage returns ctx carrying a fresh outage record, which
// outageTransport marks and providerFailed reads.
func watchOutage(ctx context.Context) context.Context {
	return context.WithValue(ctx, outageKey{}, &outage{})
}

// providerFailed classifies err from a call to a provider: the provider
// down or slow is ErrProviderUnavailable (502); anything else — a refused
// code, a token that does not verify — is ErrOAuthFailed (401). what says
// which call failed, for the log; it never holds codes or tokens.
func providerFailed(ctx context.Context, what string, err error) error {
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
		return fmt.Errorf("%s: %w (%s)", what, ErrProviderUnavailable, cause)
	}
	return fmt.Errorf("%s: %w (%s)", what, ErrOAuthFailed, cause)
}
