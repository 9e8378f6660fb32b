package handlers

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/models"
)

// postsPage is the data of posts.html and the body of GET /api/posts.
// Title and Body redraw the form after an error.
type postsPage struct {
	Items []models.PostView `json:"items"`
	Title string            `json:"-"`
	Body  string            `json:"-"`
}

// postInput is a new post, as JSON or form fields.
type postInput struct {
	Title string `json:"title" form:"title"`
	Body  string `json:"body" form:"body"`
}

func (h *handler) postViews(ctx context.Context, userID uint64) ([]models.PostView, error) {
	posts, err := h.store.PostsByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	views := make([]models.PostView, 0, len(posts))
	for i := range posts {
		views = append(views, posts[i].View())
	}
	return views, nil
}

// listPosts serves GET /posts and GET /api/posts to a caller with
// user:read: the caller's own posts, newest first. Nobody sees anyone
// else's posts, administrators included.
func (h *handler) listPosts(c echo.Context) error {
	items, err := h.postViews(c.Request().Context(), callerOf(c).User.ID)
	if err != nil {
		return err
	}
	return respond(c, http.StatusOK, "posts.html", postsPage{Items: items})
}

// createPost serves POST /posts and POST /api/posts to a caller with
// user:write: title 1–200 characters, body up to 10,000 (422 with fields
// otherwise, the form redrawn with what was typed). An API client gets 201
// and the post; a browser goes back to the list (303).
func (h *handler) createPost(c echo.Context) error {
	var in postInput
	if err := bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	userID := callerOf(c).User.ID
	p, err := h.store.CreatePost(ctx, userID, in.Title, in.Body, h.now())
	if err != nil {
		return withPage(err, "posts.html", func() (any, error) {
			items, err := h.postViews(ctx, userID)
			return postsPage{Items: items, Title: in.Title, Body: in.Body}, err
		})
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusCreated, p.View())
	}
	return seeOther(c, "/posts", "posted")
}
