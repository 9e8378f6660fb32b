package idp

import (
	"context"
	"errors"
	"time"

	"gatehouse/auth"
	"gatehouse/auth/token"
	"gatehouse/models"
)

// Metadata is the OpenID Connect discovery document (OpenID Connect
// Discovery 1.0 §3), which is also RFC 8414's server metadata: one server,
// one description.
type Metadata struct {
	Issuer                  string   `json:"issuer"`
	AuthorizationEndpoint   string   `json:"authorization_endpoint"`
	TokenEndpoint           string   `json:"token_endpoint"`
	UserInfoEndpoint        string   `json:"userinfo_endpoint"`
	JWKSURI                 string   `json:"jwks_uri"`
	RevocationEndpoint      string   `json:"revocation_endpoint"`
	EndSessionEndpoint      string   `json:"end_session_endpoint"`
	ResponseTypes           []string `json:"response_types_supported"`
	ResponseModes           []string `json:"response_modes_supported"`
	GrantTypes              []string `json:"grant_types_supported"`
	SubjectTypes            []string `json:"subject_types_supported"`
	IDTokenAlgs             []string `json:"id_token_signing_alg_values_supported"`
	TokenAuthMethods        []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuthMethods   []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethods    []string `json:"code_challenge_methods_supported"`
	Scopes                  []string `json:"scopes_supported"`
	Claims                  []string `json:"claims_supported"`
	Prompts                 []string `json:"prompt_values_supported"`
	IssParameterSupported   bool     `json:"authorization_response_iss_parameter_supported"`
	RequestParameter        bool     `json:"request_parameter_supported"`
	RequestURIParameter     bool     `json:"request_uri_parameter_supported"`
	ClaimsParameter         bool     `json:"claims_parameter_supported"`
	FrontchannelLogout      bool     `json:"frontchannel_logout_supported"`
	BackchannelLogout       bool     `json:"backchannel_logout_supported"`
	UserInfoSigningRequired bool     `json:"-"`
}

// Discovery describes the provider; jwksPath is where the keys are.
func (p *Provider) Discovery(jwksPath string) Metadata {
	base := p.issuer
	return Metadata{
		Issuer:                base,
		AuthorizationEndpoint: base + AuthorizePath,
		TokenEndpoint:         base + TokenPath,
		UserInfoEndpoint:      base + UserInfoPath,
		JWKSURI:               base + jwksPath,
		RevocationEndpoint:    base + RevokePath,
		EndSessionEndpoint:    base + LogoutPath,
		ResponseTypes:         []string{"code"},
		ResponseModes:         []string{"query"},
		GrantTypes:            []string{"authorization_code", "refresh_token", "password"},
		SubjectTypes:          []string{"public"},
		IDTokenAlgs:           token.IDTokenAlgs,
		TokenAuthMethods:      []string{"client_secret_basic", "client_secret_post", "none"},
		RevocationAuthMethods: []string{"client_secret_basic", "client_secret_post", "none"},
		CodeChallengeMethods:  []string{"S256"},
		Scopes:                append(append([]string{}, auth.OIDCScopes...), auth.AllScopes...),
		Claims: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "at_hash", "azp",
			"email", "email_verified", "name"},
		Prompts:               []string{"none", "login", "consent"},
		IssParameterSupported: true,
	}
}

// ConnectedApp is one of a user's connected apps (contract §10).
type ConnectedApp struct {
	ClientID   string     `json:"client_id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	GrantedAt  time.Time  `json:"granted_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// ConnectedApps lists the apps userID allowed or is logged in to.
func (p *Provider) ConnectedApps(ctx context.Context, userID uint64) ([]ConnectedApp, error) {
	rows, err := p.store.ConnectedApps(ctx, userID, p.now(), p.cfg.SessionIdleTimeout)
	if err != nil {
		return nil, err
	}
	out := make([]ConnectedApp, 0, len(rows))
	for _, r := range rows {
		a := ConnectedApp{ClientID: r.ClientID, Name: r.Name, Scopes: auth.SplitScopes(r.Scopes), GrantedAt: r.GrantedAt.UTC()}
		if r.LastUsedAt != nil {
			t := r.LastUsedAt.UTC()
			a.LastUsedAt = &t
		}
		if a.Scopes == nil {
			a.Scopes = []string{}
		}
		out = append(out, a)
	}
	return out, nil
}

// Disconnect ends c's grants of the app clientID and forgets the consent
// (ErrNotFound when there was none).
func (p *Provider) Disconnect(ctx context.Context, c *auth.Caller, clientID string, client auth.Client) error {
	if clientID == "" || len(clientID) > 64 {
		return models.ErrNotFound
	}
	found, err := p.store.DisconnectApp(ctx, c.User.ID, clientID)
	if err != nil {
		return err
	}
	if !found {
		return models.ErrNotFound
	}
	name := clientID
	if a, err := p.store.AppByClientID(ctx, clientID); err == nil {
		name = a.Name
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	p.auth.Record(ctx, c.User.ID, models.EventAppRevoked, client, models.Truncate(name, 255))
	return nil
}
