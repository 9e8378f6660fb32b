package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"gatehouse/config"
	"gatehouse/models"
)

// githubProvider logs in through GitHub: OAuth 2 (with PKCE, which GitHub
// accepts) at GITHUB_URL, then who it is from the REST API at
// GITHUB_API_URL — GET /user for the numeric id and name, GET /user/emails
// for the primary email and whether GitHub verified it.
type githubProvider struct {
	meta   Info
	oauth  *oauth2.Config
	apiURL string
	client *http.Client
}

func newGitHubProvider(meta Info, cfg config.Provider, redirect string, client *http.Client) *githubProvider {
	web := strings.TrimRight(cfg.URL, "/")
	return &githubProvider{
		meta: meta,
		oauth: &oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: redirect,
			Endpoint: oauth2.Endpoint{
				AuthURL:   web + "/login/oauth/authorize",
				TokenURL:  web + "/login/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInParams, // as GitHub documents it
			},
			Scopes: []string{"read:user", "user:email"},
		},
		apiURL: strings.TrimRight(cfg.APIURL, "/"),
		client: client,
	}
}

func (p *githubProvider) Info() Info { return p.meta }

func (p *githubProvider) AuthCodeURL(_ context.Context, st *models.OAuthState, state string) (string, error) {
	return p.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(st.Verifier)), nil
}

// githubUser is the part of GET /user that a login needs.
type githubUser struct {
	ID    int64  `json:"id"`
	Login string `json:"login"`
	Name  string `json:"name"`
	Email string `json:"email"` // the public email, if any: not known to be verified
}

// githubEmail is one entry of GET /user/emails.
type githubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// errGitHubNotFound is GitHub's 404, which /user/emails answers when the
// token lacks the user:email scope.
var errGitHubNotFound = errors.New("github: 404")

func (p *githubProvider) Exchange(ctx context.Context, st *models.OAuthState, code, _ string) (Profile, error) {
	tok, err := p.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.client), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return Profile{}, failed(ctx, "github token exchange", err)
	}
	var u githubUser
	if err := p.get(ctx, tok.AccessToken, "/user", &u); err != nil {
		return Profile{}, failed(ctx, "github /user", err)
	}
	if u.ID <= 0 {
		return Profile{}, fmt.Errorf("github /user: %w (no id)", ErrFailed)
	}
	// Only the primary email, and only if GitHub verified it, may link or
	// create an account; without the list, nothing is known verified.
	email, verified := u.Email, false
	var emails []githubEmail
	switch err := p.get(ctx, tok.AccessToken, "/user/emails", &emails); {
	case errors.Is(err, errGitHubNotFound):
	case err != nil:
		return Profile{}, failed(ctx, "github /user/emails", err)
	}
	for _, e := range emails {
		if e.Primary {
			email, verified = e.Email, e.Verified
		}
	}
	name := u.Name
	if name == "" {
		name = u.Login
	}
	return newProfile(p.meta.Name, strconv.FormatInt(u.ID, 10), email, verified, name), nil
}

// get reads one JSON answer of GitHub's REST API into dst.
func (p *githubProvider) get(ctx context.Context, token, path string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.apiURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return errGitHubNotFound
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("github %s answered %s", path, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(dst); err != nil {
		return fmt.Errorf("github %s: decode: %v", path, err)
	}
	return nil
}
