package idp

import (
	"context"
	"errors"
	"net/url"
	"slices"

	"gatehouse/auth"
	"gatehouse/models"
)

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0, contract
// §10): an app sends the browser to end its Gatehouse session. With a
// valid id_token_hint of the browser's session the session ends at once;
// without one, Gatehouse asks first, so a bare link logs nobody out.
// Logging out of Gatehouse ends no app's grant, and the other way round.

// LogoutRequest is what /oauth2/logout reads.
type LogoutRequest struct {
	IDTokenHint string
	ClientID    string
	PostLogout  string // post_logout_redirect_uri
	State       string
}

// LogoutRequestOf reads form's parameters.
func LogoutRequestOf(form url.Values) LogoutRequest {
	return LogoutRequest{IDTokenHint: form.Get("id_token_hint"), ClientID: form.Get("client_id"),
		PostLogout: form.Get("post_logout_redirect_uri"), State: form.Get("state")}
}

// Form is the request as the confirmation page posts it back.
func (r LogoutRequest) Form() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"client_id": r.ClientID, "post_logout_redirect_uri": r.PostLogout, "state": r.State} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// LogoutOutcome says what a logout request did: Ended the browser's
// session or not (Confirm: ask first), and where the browser goes next
// (Redirect: the app's registered post-logout URI; empty: Gatehouse's own
// page).
type LogoutOutcome struct {
	Ended    bool
	Confirm  bool
	Redirect string
	AppName  string
	// FormTarget is the origin the confirmation's form may end at: the
	// registered post-logout URI's (for the page's form-action).
	FormTarget string
}

// Logout decides a logout request from the browser of caller (nil: no
// session). confirmed is the confirmation page's "Log out".
func (p *Provider) Logout(ctx context.Context, in LogoutRequest, caller *auth.Caller, confirmed bool, client auth.Client) (LogoutOutcome, error) {
	clientID, sid := in.ClientID, ""
	if in.IDTokenHint != "" && len(in.IDTokenHint) < 16384 {
		if claims, err := p.auth.VerifyIDToken(ctx, in.IDTokenHint); err == nil {
			aud, _ := claims.GetAudience()
			if len(aud) == 1 && (clientID == "" || clientID == aud[0]) {
				clientID = aud[0]
				sid, _ = claims["sid"].(string)
			}
		}
	}
	var out LogoutOutcome
	var app *models.App
	if clientID != "" && len(clientID) <= 64 {
		a, err := p.store.AppByClientID(ctx, clientID)
		switch {
		case err == nil:
			app, out.AppName = a, a.Name
		case !errors.Is(err, models.ErrNotFound):
			return LogoutOutcome{}, err
		}
	}
	if app != nil && in.PostLogout != "" && slices.Contains(app.PostLogouts(), in.PostLogout) {
		q := url.Values{}
		if in.State != "" {
			q.Set("state", in.State)
		}
		out.Redirect, out.FormTarget = in.PostLogout, originOf(in.PostLogout)
		if len(q) > 0 {
			if u, err := url.Parse(in.PostLogout); err == nil {
				uq := u.Query()
				uq.Set("state", in.State)
				u.RawQuery = uq.Encode()
				out.Redirect = u.String()
			}
		}
	}
	hinted := sid != "" && caller != nil && !caller.Bearer && caller.Session.PublicID == sid
	switch {
	case caller == nil || caller.Bearer:
		// Nobody is logged in here: nothing to end, nothing to ask.
	case hinted || confirmed:
		err := p.auth.EndBrowserSession(ctx, caller.Session.PublicID, caller.User.ID, client)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return LogoutOutcome{}, err
		}
		out.Ended = true
	default:
		out.Confirm = true
	}
	return out, nil
}
