package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"gatehouse/auth"
	"gatehouse/config"
	"gatehouse/handlers"
	"gatehouse/internal/testenv"
	"gatehouse/models"
)

// BenchmarkMe measures GET /api/me and GET /admin/me through the whole app
// (handlers.New: middleware, authentication, the handler, JSON or the
// template) on SQLite, by bearer token and by session cookie.
func BenchmarkMe(b *testing.B) {
	cfg := testenv.Config(b, config.Load, "DATABASE_URL="+testenv.DatabaseURL(b, testenv.SQLite, ""))
	ctx := context.Background()
	store := testenv.Store(b, models.Open, cfg.DatabaseURL, cfg.DBTimeout)
	// The request log line is formatted as serve formats it; where it goes
	// (serve buffers it, see logWriter) is not the handlers' cost.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := auth.New(store, cfg, time.Now, log)
	if err != nil {
		b.Fatal(err)
	}
	e, err := handlers.New(handlers.Deps{Config: cfg, Store: store, Auth: svc, Logger: log, Now: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "ada@example.com", FullName: "Ada", Password: "correct horse battery"}); err != nil {
		b.Fatal(err)
	}
	caller, err := svc.Login(ctx, auth.Credentials{Username: "ada@example.com", Password: "correct horse battery"}, auth.Client{IP: "192.0.2.1"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := svc.IssueToken(context.Background(), caller)
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := svc.SaveCookie(rec, httptest.NewRequest(http.MethodPost, "/auth/token", nil), caller); err != nil {
		b.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]

	cases := []struct {
		name, path string
		prepare    func(*http.Request)
	}{
		{"bearer JSON", "/api/me", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.AccessToken) }},
		{"cookie JSON", "/api/me", func(r *http.Request) { r.AddCookie(cookie) }},
		{"cookie HTML", "/admin/me", func(r *http.Request) { r.AddCookie(cookie) }},
		{"healthz", "/healthz", func(*http.Request) {}}, // the middleware chain alone
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, tc.path, nil)
				tc.prepare(r)
				w := httptest.NewRecorder()
				e.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s: got status %v, want %v; body %.200s", tc.path, w.Code, http.StatusOK, w.Body)
				}
			}
		})
	}
}
