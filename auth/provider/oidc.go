package provider

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"gatehouse/config"
	"gatehouse/models"
)

// oidcProvider logs in through an OpenID Connect issuer: Google, or any
// other (Keycloak, Dex, Auth0, Zitadel …) shown as OIDC_NAME. Its
// endpoints and keys come from discovery at first use, cached once it
// succeeds; until then every login tries again.
type oidcProvider struct {
	meta        Info
	issuer      string
	clientID    string
	secret      string
	redirectURL string
	client      *http.Client
	now         func() time.Time

	mu    sync.Mutex
	found *discovered // nil until discovery succeeds
}

// discovered is what discovery taught about an issuer.
type discovered struct {
	provider *oidc.Provider
	oauth    *oauth2.Config // one per issuer: it caches how the token endpoint wants the secret
	verifier *oidc.IDTokenVerifier
}

func newOIDCProvider(meta Info, cfg config.Provider, redirect string, client *http.Client, now func() time.Time) *oidcProvider {
	return &oidcProvider{meta: meta, issuer: cfg.Issuer, clientID: cfg.ClientID, secret: cfg.ClientSecret,
		redirectURL: redirect, client: client, now: now}
}

func (p *oidcProvider) Info() Info { return p.meta }

// discover returns the issuer's configuration, fetching it the first time.
// Concurrent first logins each fetch rather than queue behind one slow
// provider; the first success is kept.
func (p *oidcProvider) discover(ctx context.Context) (*discovered, error) {
	p.mu.Lock()
	found := p.found
	p.mu.Unlock()
	if found != nil {
		return found, nil
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.issuer)
	if err == nil && op.Endpoint().AuthURL == "" {
		err = errors.New("discovery names no authorization endpoint")
	}
	if err != nil {
		// No answer, an error page or another issuer's document: this
		// provider cannot be used now (502), and the next login retries.
		return nil, fmt.Errorf("discover %s: %w (%s)", p.issuer, ErrUnavailable, models.Truncate(err.Error(), 300))
	}
	d := &discovered{
		provider: op,
		oauth: &oauth2.Config{ClientID: p.clientID, ClientSecret: p.secret, Endpoint: op.Endpoint(),
			RedirectURL: p.redirectURL, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}},
		// Signature against the issuer's keys, iss, aud and exp; the
		// nonce is checked by exchange.
		verifier: op.Verifier(&oidc.Config{ClientID: p.clientID, Now: p.now}),
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.found == nil {
		p.found = d
	}
	return p.found, nil
}

func (p *oidcProvider) AuthCodeURL(ctx context.Context, st *models.OAuthState, state string) (string, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	return d.oauth.AuthCodeURL(state, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), nil
}

// exchange redeems code with the PKCE verifier, verifies the ID token and
// its nonce, and reads email and email_verified from the ID token or,
// when it lacks either, from /userinfo (whose sub must be the token's).
func (p *oidcProvider) Exchange(ctx context.Context, st *models.OAuthState, code, iss string) (Profile, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return Profile{}, err
	}
	if iss != "" && iss != p.issuer {
		// RFC 9207: an authorization response from another issuer (mix-up).
		return Profile{}, fmt.Errorf("%s callback: %w (iss parameter names another issuer)", p.meta.Name, ErrFailed)
	}
	tok, err := d.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.client), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return Profile{}, failed(ctx, p.meta.Name+" token exchange", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Profile{}, fmt.Errorf("%s token exchange: %w (no id_token)", p.meta.Name, ErrFailed)
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return Profile{}, failed(ctx, p.meta.Name+" id token", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return Profile{}, fmt.Errorf("%s id token: %w (nonce does not match)", p.meta.Name, ErrFailed)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return Profile{}, fmt.Errorf("%s id token: %w (at_hash does not match)", p.meta.Name, ErrFailed)
		}
	}
	if idt.Subject == "" || len(idt.Subject) > 255 {
		return Profile{}, fmt.Errorf("%s id token: %w (sub empty or longer than 255)", p.meta.Name, ErrFailed)
	}
	var c oidcClaims
	if err := idt.Claims(&c); err != nil {
		return Profile{}, fmt.Errorf("%s id token: %w (claims: %v)", p.meta.Name, ErrFailed, err)
	}
	email, verified := c.Email, c.EmailVerified != nil && bool(*c.EmailVerified)
	if (c.Email == "" || c.EmailVerified == nil) && d.provider.UserInfoEndpoint() != "" {
		ui, err := d.provider.UserInfo(oidc.ClientContext(ctx, p.client), oauth2.StaticTokenSource(tok))
		if err != nil {
			return Profile{}, failed(ctx, p.meta.Name+" userinfo", err)
		}
		if ui.Subject != idt.Subject {
			return Profile{}, fmt.Errorf("%s userinfo: %w (sub differs from the id token's)", p.meta.Name, ErrFailed)
		}
		// email and email_verified are taken as a pair from one source.
		// go-oidc reads a missing email_verified as false: unverified.
		email, verified = ui.Email, ui.EmailVerified
		var more oidcClaims
		if ui.Claims(&more) == nil && c.name() == "" {
			c = more
		}
	}
	return newProfile(p.meta.Name, idt.Subject, email, verified, c.name()), nil
}

// oidcClaims are the claims Gatehouse reads from an ID token or /userinfo.
type oidcClaims struct {
	Email         string    `json:"email"`
	EmailVerified *flexBool `json:"email_verified"` // nil: not said
	Name          string    `json:"name"`
	GivenName     string    `json:"given_name"`
	FamilyName    string    `json:"family_name"`
}

func (c oidcClaims) name() string {
	if c.Name != "" {
		return c.Name
	}
	return strings.TrimSpace(c.GivenName + " " + c.FamilyName)
}

// flexBool reads a JSON boolean that some providers send as a string
// ("true"). Anything but true is false: unverified.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	*b = flexBool(string(data) == "true" || string(data) == `"true"`)
	return nil
}

// newProfile is a Profile as the provider said it; auth puts the email in
// canonical form and drops one that is not an address (usableProfile).
func newProfile(provider, subject, email string, verified bool, name string) Profile {
	return Profile{Provider: provider, Subject: subject, Email: email, EmailVerified: verified, Name: strings.TrimSpace(name)}
}
