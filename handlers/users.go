package handlers

import (
	"context"
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
)

// User list paging (GET /api/users?page=&per_page=&after=).
const (
	defaultPerPage = 20
	maxPerPage     = 100
	maxPage        = 1_000_000 // keeps (page-1)*per_page far from overflowing
	// maxPaged is how far page and per_page reach (contract §13: page ×
	// per_page ≤ 10,000): an OFFSET costs as many rows as it skips, so
	// beyond it a client follows next, whose cost per page is constant.
	// The search counts its matches as far (models.CountCap).
	maxPaged = models.CountCap
	maxQuery = models.MaxEmail // the longest email
)

// usersPage is the data of users.html and the body of GET /api/users.
// Total counts the matches up to 10,000 (models.CountCap); TotalExact is
// false when more match. Next is the cursor of the page after this one
// (null on the last).
type usersPage struct {
	Items      []models.UserView `json:"items"`
	Total      int64             `json:"total"`
	TotalExact bool              `json:"total_exact"`
	Page       int               `json:"page"`
	PerPage    int               `json:"per_page"`
	Next       *string           `json:"next"`
	Q          string            `json:"-"`
	PrevURL    string            `json:"-"`
	NextURL    string            `json:"-"`
	FirstURL   string            `json:"-"` // on a page reached by a cursor
}

// userPage is the data of user.html and the body of GET /api/users/{id}:
// the user object (contract §2) with their live sessions and their last
// security events. Choices and Self are for the page's form.
type userPage struct {
	models.UserView
	Sessions []models.SessionView `json:"sessions"`
	Events   []models.EventView   `json:"events"`
	Choices  []scopeChoice        `json:"-"`
	Self     bool                 `json:"-"`
}

// scopeChoice is one scope checkbox on user.html.
type scopeChoice struct {
	Name    string
	Checked bool
}

func scopeChoices(have []string) []scopeChoice {
	out := make([]scopeChoice, 0, len(auth.AllScopes))
	for _, s := range auth.AllScopes {
		out = append(out, scopeChoice{Name: s, Checked: slices.Contains(have, s)})
	}
	return out
}

var (
	errBadPage   = &models.Error{Kind: models.BadRequest, Code: "bad_request", Detail: "page and per_page must be whole numbers."}
	errBadCursor = &models.Error{Kind: models.BadRequest, Code: "bad_request", Detail: "after is not a cursor this server gave out; start again from the first page."}
)

// cursorPrefix starts every cursor: a version, so the format may change.
const cursorPrefix = "u1."

// encodeCursor returns the opaque cursor of the page after the user with
// id: clients pass it back as after, and never look inside.
func encodeCursor(id uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(id, 10)))
}

// decodeCursor reads a cursor encodeCursor made; anything else is 400.
func decodeCursor(cursor string) (uint64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, errBadCursor
	}
	digits, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return 0, errBadCursor
	}
	id, err := strconv.ParseUint(digits, 10, 63)
	if err != nil {
		return 0, errBadCursor
	}
	return id, nil
}

// paging reads page, per_page and after: defaults 1, 20 and none; a
// value that is not a number, or a cursor this server did not make, is
// 400 bad_request; one out of range (page < 1, per_page outside 1–100,
// page × per_page over 10,000, a page other than 1 with a cursor) is 422
// naming the field. Out-of-range values are refused rather than clamped,
// so a client never mistakes a page it did not ask for for the one it did.
func paging(c echo.Context) (page, perPage int, after uint64, err error) {
	page, perPage = 1, defaultPerPage
	if raw := c.QueryParam("after"); raw != "" {
		if after, err = decodeCursor(raw); err != nil {
			return 0, 0, 0, err
		}
	}
	fields := map[string]string{}
	for _, p := range []struct {
		name string
		dst  *int
		ok   func(int) bool
		msg  string
	}{
		{"page", &page, func(n int) bool { return n >= 1 && n <= maxPage }, "Use a page number from 1 to 1000000."},
		{"per_page", &perPage, func(n int) bool { return n >= 1 && n <= maxPerPage }, "Use a number from 1 to 100."},
	} {
		raw := c.QueryParam(p.name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			return 0, 0, 0, errBadPage
		}
		if !p.ok(n) {
			fields[p.name] = p.msg
		}
		*p.dst = n
	}
	switch {
	case fields["page"] != "" || fields["per_page"] != "":
	case page > 1 && c.QueryParam("after") != "":
		fields["page"] = "Use either page or after, not both."
	case page*perPage > maxPaged:
		fields["page"] = "Pages reach the first 10,000 results; beyond them, follow next."
	}
	if q := c.QueryParam("q"); len(q) > maxQuery {
		fields["q"] = "Use at most 254 characters."
	}
	if len(fields) > 0 {
		return 0, 0, 0, models.InvalidFields(fields)
	}
	return page, perPage, after, nil
}

// listUsers serves GET /admin/users and GET /api/users to a caller with
// admin:read: one page of the users q matches (contract §13: an email
// that starts with q, a name with a word that starts with q, or the id q;
// every user when q is empty), in id order, with the total that match
// (counted up to 10,000: total_exact says whether more do) and next, the
// cursor of the following page (after=…), which the page's "Next" link
// follows too.
func (h *handler) listUsers(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	page, perPage, after, err := paging(c)
	if err != nil {
		return withPage(err, "users.html", data(usersPage{Q: q, Page: 1, PerPage: defaultPerPage}))
	}
	res, err := h.auth.ListUsers(c.Request().Context(),
		models.UserQuery{Q: q, After: after, Offset: (page - 1) * perPage, Limit: perPage})
	if err != nil {
		return err
	}
	data := usersPage{Items: make([]models.UserView, 0, len(res.Users)), Total: res.Total, TotalExact: res.TotalExact,
		Page: page, PerPage: perPage, Q: q}
	for i := range res.Users {
		data.Items = append(data.Items, res.Users[i].View())
	}
	link := func(set string, value string) string {
		v := url.Values{}
		if set != "" {
			v.Set(set, value)
		}
		if q != "" {
			v.Set("q", q)
		}
		if perPage != defaultPerPage {
			v.Set("per_page", strconv.Itoa(perPage))
		}
		if len(v) == 0 {
			return "/admin/users"
		}
		return "/admin/users?" + v.Encode()
	}
	switch {
	case after != 0:
		data.FirstURL = link("", "")
	case page > 1:
		data.PrevURL = link("page", strconv.Itoa(page-1))
	}
	if res.Next != 0 {
		next := encodeCursor(res.Next)
		data.Next = &next
		data.NextURL = link("after", next)
	}
	return respond(c, http.StatusOK, "users.html", data)
}

// userID reads the {id} path parameter; anything but a user id is 404.
func userID(c echo.Context) (uint64, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 63) // ids fit a signed BIGINT; a larger one names no user
	if err != nil || id == 0 {
		return 0, models.ErrNotFound
	}
	return id, nil
}

func (h *handler) newUserPage(ctx context.Context, caller *auth.Caller, id uint64) (userPage, error) {
	u, err := h.auth.User(ctx, id)
	if err != nil {
		return userPage{}, err
	}
	sessions, err := h.auth.Sessions(ctx, u.ID, caller.Session.PublicID)
	if err != nil {
		return userPage{}, err
	}
	events, err := h.auth.Events(ctx, u.ID, eventsShown)
	if err != nil {
		return userPage{}, err
	}
	v := u.View()
	return userPage{UserView: v, Sessions: sessions, Events: events, Choices: scopeChoices(v.Scopes),
		Self: caller.User.ID == u.ID}, nil
}

// showUser serves GET /admin/users/{id} and GET /api/users/{id} to a
// caller with admin:read: the user with their live sessions, linked
// providers and last 20 security events. An unknown or non-numeric id is 404.
func (h *handler) showUser(c echo.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	page, err := h.newUserPage(c.Request().Context(), callerOf(c), id)
	if err != nil {
		return err
	}
	return respond(c, http.StatusOK, "user.html", page)
}

// userUpdateBody is PATCH /api/users/{id}'s JSON (contract §2): any
// subset; absent (or null) fields stay as they are.
type userUpdateBody struct {
	FullName *string   `json:"full_name"`
	Disabled *bool     `json:"disabled"`
	Scopes   *[]string `json:"scopes"`
}

// bindUserUpdate reads a user update. From JSON, as userUpdateBody. From a
// form (user.html, or curl -d), a field changes only when its name is
// sent at all: the page sends a hidden disabled=false before its
// checkbox (disabled=true when ticked) and a hidden empty scopes before
// its scope checkboxes, so unticking everything still says "none".
func bindUserUpdate(c echo.Context) (auth.UserUpdate, error) {
	mediaType, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mediaType != echo.MIMEApplicationForm && mediaType != echo.MIMEMultipartForm {
		var body userUpdateBody
		if err := bind(c, &body); err != nil {
			return auth.UserUpdate{}, err
		}
		return auth.UserUpdate(body), nil
	}
	form, err := c.FormParams()
	if err != nil {
		return auth.UserUpdate{}, echo.ErrBadRequest
	}
	var in auth.UserUpdate
	if v, ok := form["full_name"]; ok {
		in.FullName = &v[0]
	}
	if v, ok := form["disabled"]; ok {
		d := slices.Contains(v, "true") || slices.Contains(v, "on")
		in.Disabled = &d
	}
	if v, ok := form["scopes"]; ok {
		scopes := []string{}
		for _, s := range v {
			scopes = append(scopes, auth.SplitScopes(s)...)
		}
		in.Scopes = &scopes
	}
	return in, nil
}

// updateUser serves POST /admin/users/{id} (the user page's form) and
// PATCH /api/users/{id} to a caller with admin:write: it changes the
// user's name, disabled flag and scopes. Disabling ends their sessions at
// once. Administrators cannot disable themselves or remove their own
// admin:write (422 on the field), and no change may leave the system
// without an enabled admin:write holder (422 last_admin, contract §9). An
// API client gets the user object; a browser goes back to the user page
// (303), or sees the form again with what it sent and the messages.
func (h *handler) updateUser(c echo.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	in, err := bindUserUpdate(c)
	if err != nil {
		return err
	}
	caller := callerOf(c)
	ctx := c.Request().Context()
	u, err := h.auth.UpdateUser(ctx, caller, id, in, clientOf(c))
	if err != nil {
		return withPage(err, "user.html", func() (any, error) {
			page, err := h.newUserPage(ctx, caller, id)
			if err != nil {
				return nil, err
			}
			if in.FullName != nil {
				page.FullName = *in.FullName
			}
			if in.Disabled != nil {
				page.Disabled = *in.Disabled
			}
			if in.Scopes != nil {
				page.Choices = scopeChoices(*in.Scopes)
			}
			return page, nil
		})
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, u.View())
	}
	return seeOther(c, "/admin/users/"+strconv.FormatUint(id, 10), "saved")
}

// revokeUserSessions serves POST /admin/users/{id}/revoke-sessions and
// POST /api/users/{id}/revoke-sessions to a caller with admin:write: it
// ends every session of the user, with the tokens bound to them, and says
// how many. An administrator aiming it at themselves keeps the session
// they act from.
func (h *handler) revokeUserSessions(c echo.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	n, err := h.auth.EndUserSessions(c.Request().Context(), callerOf(c), id, clientOf(c))
	if err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, ended{Detail: outcomes["user_sessions_ended"].Detail, Ended: n})
	}
	return seeOther(c, "/admin/users/"+strconv.FormatUint(id, 10), "user_sessions_ended")
}
