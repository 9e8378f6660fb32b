package idp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"gatehouse/auth"
	"gatehouse/config"
	"gatehouse/models"
)

// DefaultAppScopes are the most an app may ask for unless registered
// with --scopes (contract §10).
var DefaultAppScopes = []string{"openid", "profile", "email", "offline_access"}

// Registration is what `gatehouse client add` and POST /api/clients take.
type Registration struct {
	Name           string   `json:"name"`
	RedirectURIs   []string `json:"redirect_uris"`
	PostLogoutURIs []string `json:"post_logout_redirect_uris"`
	Public         bool     `json:"public"`
	FirstParty     bool     `json:"first_party"`
	Scopes         string   `json:"scopes"`
	IDTokenAlg     string   `json:"id_token_alg"`
}

// AppView is an app as the CLI and /api/clients show it; ClientSecret
// only once, when it is made.
type AppView struct {
	ClientID       string   `json:"client_id"`
	ClientSecret   string   `json:"client_secret,omitempty"`
	Name           string   `json:"name"`
	RedirectURIs   []string `json:"redirect_uris"`
	PostLogoutURIs []string `json:"post_logout_redirect_uris"`
	Public         bool     `json:"public"`
	FirstParty     bool     `json:"first_party"`
	Scopes         []string `json:"scopes"`
	IDTokenAlg     string   `json:"id_token_alg"`
	CreatedAt      string   `json:"created_at"`
}

func viewOf(a *models.App, secret string) AppView {
	return AppView{ClientID: a.ClientID, ClientSecret: secret, Name: a.Name, RedirectURIs: orEmpty(a.Redirects()),
		PostLogoutURIs: orEmpty(a.PostLogouts()), Public: a.Public, FirstParty: a.FirstParty,
		Scopes: auth.SplitScopes(a.Scopes), IDTokenAlg: a.IDTokenAlg, CreatedAt: a.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// secretBytes is a client secret's randomness: 256 bits.
const secretBytes = 32

// Register checks reg and registers the app: its view, with the secret
// of a confidential app (shown this once; only its hash is kept).
func (p *Provider) Register(ctx context.Context, reg Registration) (AppView, error) {
	fields := map[string]string{}
	name := strings.TrimSpace(reg.Name)
	switch {
	case name == "":
		fields["name"] = "Name the application (people see it on the consent page)."
	case utf8.RuneCountInString(name) > 100:
		fields["name"] = "At most 100 characters."
	default:
		if msg := models.ValidateLine(name); msg != "" {
			fields["name"] = msg
		}
	}
	if len(reg.RedirectURIs) == 0 {
		fields["redirect_uris"] = "Give at least one redirect URI."
	}
	for _, u := range reg.RedirectURIs {
		if msg := p.checkRegisteredURI(u); msg != "" {
			fields["redirect_uris"] = fmt.Sprintf("%q: %s", truncate(u), msg)
			break
		}
	}
	for _, u := range reg.PostLogoutURIs {
		if msg := p.checkRegisteredURI(u); msg != "" {
			fields["post_logout_redirect_uris"] = fmt.Sprintf("%q: %s", truncate(u), msg)
			break
		}
	}
	scopes := DefaultAppScopes
	if strings.TrimSpace(reg.Scopes) != "" {
		scopes = auth.SplitScopes(reg.Scopes)
		for _, sc := range scopes {
			if !slices.Contains(auth.OIDCScopes, sc) && !slices.Contains(auth.AllScopes, sc) {
				fields["scopes"] = fmt.Sprintf("Unknown scope %q; choose from %s.", truncate(sc),
					strings.Join(append(slices.Clone(auth.OIDCScopes), auth.AllScopes...), ", "))
				break
			}
		}
	}
	alg := reg.IDTokenAlg
	if alg == "" {
		alg = config.JWTAlgRS256
	}
	if alg != config.JWTAlgRS256 && alg != config.JWTAlgEdDSA {
		fields["id_token_alg"] = "Use RS256 or EdDSA."
	}
	if len(strings.Join(reg.RedirectURIs, "\n")) > 8192 || len(strings.Join(reg.PostLogoutURIs, "\n")) > 8192 {
		fields["redirect_uris"] = "At most 8 KiB of URIs."
	}
	if len(fields) > 0 {
		return AppView{}, models.InvalidFields(fields)
	}
	a := &models.App{ClientID: randomValue(16), Name: name, Public: reg.Public, FirstParty: reg.FirstParty,
		RedirectURIs: strings.Join(reg.RedirectURIs, "\n"), PostLogoutURIs: strings.Join(reg.PostLogoutURIs, "\n"),
		Scopes: strings.Join(scopes, " "), IDTokenAlg: alg, CreatedAt: p.now().UTC()}
	secret := ""
	if !reg.Public {
		secret = randomValue(secretBytes)
		a.SecretHash = digest(secret)
	}
	if err := p.store.CreateApp(ctx, a); err != nil {
		return AppView{}, err
	}
	return viewOf(a, secret), nil
}

func truncate(s string) string { return models.Truncate(s, 80) }

// checkRegisteredURI says what is wrong with a redirect URI offered for
// registration, or "": absolute, no fragment; https, loopback http, or a
// private-use scheme of a native app (RFC 8252 §7.1: a reversed domain,
// with a dot); plain http elsewhere only outside production.
func (p *Provider) checkRegisteredURI(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || len(raw) > 2000 || strings.ContainsAny(raw, " \t\r\n"):
		return "not an absolute URI"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "a redirect URI has no fragment (#)"
	case u.Scheme == "https":
		if u.Host == "" {
			return "no host"
		}
	case u.Scheme == "http":
		if u.Host == "" {
			return "no host"
		}
		if !isLoopback(u) && p.cfg.AppEnv == "production" {
			return "plain http is only for loopback addresses (127.0.0.1, [::1]) in production; use https"
		}
	case u.Scheme == "javascript" || u.Scheme == "data" || u.Scheme == "file" || u.Scheme == "vbscript":
		return "not a scheme a browser may be sent to"
	case !strings.Contains(u.Scheme, "."):
		return "a native app's scheme is a reversed domain name, such as com.example.app"
	}
	return ""
}

// isLoopback reports whether u is http on a loopback IP literal (RFC 8252
// §7.3; "localhost" is not one, §8.3).
func isLoopback(u *url.URL) bool {
	if u.Scheme != "http" {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// redirectMatches reports whether the redirect URI a request sends is one
// registered for the app: character for character, except that a
// registered loopback URI matches any port (RFC 8252 §7.3).
func redirectMatches(registered []string, sent string) bool {
	if slices.Contains(registered, sent) {
		return true
	}
	s, err := url.Parse(sent)
	if err != nil || !isLoopback(s) {
		return false
	}
	for _, r := range registered {
		ru, err := url.Parse(r)
		if err != nil || !isLoopback(ru) {
			continue
		}
		if ru.Hostname() == s.Hostname() && ru.Path == s.Path && ru.RawQuery == s.RawQuery &&
			ru.User == nil && s.User == nil && s.Fragment == "" && s.Port() != "" {
			return true
		}
	}
	return false
}

// Apps lists every registered app.
func (p *Provider) Apps(ctx context.Context) ([]AppView, error) {
	apps, err := p.store.Apps(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AppView, 0, len(apps))
	for i := range apps {
		out = append(out, viewOf(&apps[i], ""))
	}
	return out, nil
}

// ErrNoSuchApp is a client id that names no app.
var ErrNoSuchApp = &models.Error{Kind: models.NotFound, Code: "not_found", Detail: "There is no application with that client id."}

// NewSecret gives a confidential app a new secret; the old one stops at
// once. A public app has none: 409.
func (p *Provider) NewSecret(ctx context.Context, clientID string) (string, error) {
	a, err := p.store.AppByClientID(ctx, clientID)
	if errors.Is(err, models.ErrNotFound) {
		return "", ErrNoSuchApp
	}
	if err != nil {
		return "", err
	}
	if a.Public {
		return "", &models.Error{Kind: models.Conflict, Code: "public_client", Detail: "A public client has no secret."}
	}
	secret := randomValue(secretBytes)
	if err := p.store.SetAppSecret(ctx, clientID, digest(secret)); err != nil {
		return "", err
	}
	return secret, nil
}

// Remove unregisters an app, ending every session and token it holds.
func (p *Provider) Remove(ctx context.Context, clientID string) error {
	err := p.store.DeleteApp(ctx, clientID)
	if errors.Is(err, models.ErrNotFound) {
		return ErrNoSuchApp
	}
	return err
}

// ClientCredentials are what a request to the token or revocation
// endpoint authenticates with: HTTP Basic (Basic set) or the form.
type ClientCredentials struct {
	ID, Secret string
	Basic      bool
}

// authenticate finds the app cc names and checks its secret: a
// confidential app must send the right one, a public app none. Every
// failure is ErrInvalidClient.
func (p *Provider) authenticate(ctx context.Context, cc ClientCredentials) (*models.App, error) {
	if cc.ID == "" || len(cc.ID) > 64 {
		return nil, ErrInvalidClient
	}
	a, err := p.store.AppByClientID(ctx, cc.ID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidClient
	}
	if err != nil {
		return nil, err
	}
	if a.Public {
		if cc.Secret != "" {
			return nil, ErrInvalidClient
		}
		return a, nil
	}
	if cc.Secret == "" || subtle.ConstantTimeCompare([]byte(digest(cc.Secret)), []byte(a.SecretHash)) != 1 {
		return nil, ErrInvalidClient
	}
	return a, nil
}
