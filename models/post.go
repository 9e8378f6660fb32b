package models

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Post is a user's post: the example of a protected resource that only its
// author ever sees.
type Post struct {
	ID        uint64    `gorm:"primaryKey"`
	UserID    uint64    `gorm:"not null;index"`
	Title     string    `gorm:"size:200;not null"`
	Body      string    `gorm:"type:text;not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// Post limits, in characters (contract §2; issue 4).
const (
	MaxPostTitle = 200
	MaxPostBody  = 10000
)

// PostView is the contract's post object (§2).
type PostView struct {
	ID        uint64    `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// View returns the post as the contract shows it.
func (p *Post) View() PostView {
	return PostView{ID: p.ID, Title: p.Title, Body: p.Body, CreatedAt: p.CreatedAt.UTC()}
}

// CreatePost validates a post by userID and stores it: the title is
// trimmed and must be 1–200 characters on one line (ValidateLine), the
// body at most 10,000 (ValidateBody: newlines and tabs, no other control
// character) and is kept exactly as written. Bad fields are a 422 naming
// each one.
func (s *Store) CreatePost(ctx context.Context, userID uint64, title, body string, at time.Time) (*Post, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	title = strings.TrimSpace(title)
	fields := map[string]string{}
	switch msg := ValidateLine(title); {
	case title == "":
		fields["title"] = "Give your post a title."
	case msg != "":
		fields["title"] = msg
	case utf8.RuneCountInString(title) > MaxPostTitle:
		fields["title"] = "Use at most 200 characters."
	}
	switch msg := ValidateBody(body); {
	case msg != "":
		fields["body"] = msg
	case utf8.RuneCountInString(body) > MaxPostBody:
		fields["body"] = "Use at most 10,000 characters."
	}
	if len(fields) > 0 {
		return nil, InvalidFields(fields)
	}
	p := &Post{UserID: userID, Title: title, Body: body, CreatedAt: at.UTC()}
	if err := s.write(ctx, func(db *gorm.DB) error { return db.Create(p).Error }); err != nil {
		return nil, failed("create post", err)
	}
	return p, nil
}

// PostsByUser lists a user's posts, newest first (the id breaks ties
// between posts made within the same second).
func (s *Store) PostsByUser(ctx context.Context, userID uint64) ([]Post, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var out []Post
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at DESC, id DESC").Find(&out).Error
	return out, failed("list posts", err)
}
