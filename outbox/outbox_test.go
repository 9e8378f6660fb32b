package outbox

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/config"
	"gatehouse/internal/testenv"
	"gatehouse/models"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("after failure %d: got %v, want %v", i+1, got, w)
		}
	}
}

func TestWords(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{30 * time.Minute: "30 minutes", time.Hour: "1 hour",
		24 * time.Hour: "24 hours", 90 * time.Second: "1m30s"} {
		if got := words(d); got != want {
			t.Errorf("words(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestRetryThenGiveUp sends to an SMTP port where nothing listens: the
// mail is retried with backoff, and marked failed once the next try would
// fall more than 24 hours after it was written.
func TestRetryThenGiveUp(t *testing.T) {
	t.Parallel()
	testenv.EachDB(t, func(t *testing.T, db string) {
		store := testenv.Store(t, models.Open, testenv.DatabaseURL(t, db, testenv.Binary), 0)
		ctx := context.Background()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := l.Addr().String()
		l.Close()
		smtp, _ := url.Parse("smtp://" + closed)
		base, _ := url.Parse("http://127.0.0.1:8000")
		cfg := config.Config{BaseURL: base, Mail: config.Mail{SMTPURL: smtp, From: "Gatehouse <no-reply@example.com>",
			PasswordResetTTL: 30 * time.Minute, EmailLinkTTL: 24 * time.Hour}}
		clk := testenv.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		prepare := func(_ context.Context, m *models.Mail) (models.MailData, bool, error) { return m.Content(), true, nil }
		s, err := New(store, cfg, clk.Now, slog.New(slog.DiscardHandler), prepare, Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := models.NewMail(models.MailPasswordChanged, 1, "ada@example.com", models.MailData{Name: "Ada"}, clk.Now())
		if err := store.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
		row := func() models.Mail {
			rows, err := store.MailsTo(ctx, "ada@example.com")
			if err != nil || len(rows) != 1 {
				t.Fatalf("rows %v, err %v", rows, err)
			}
			return rows[0]
		}
		if _, err := s.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		r := row()
		if r.State != models.MailPending || !r.DueAt.Equal(clk.Now().Add(30*time.Second)) || r.LastError == "" {
			t.Fatalf("after the first failure: %+v, want pending, due in 30 s, with the error", r)
		}
		if n, _ := s.SendDue(ctx); n != 0 || row().Attempts != 1 {
			t.Errorf("a mail not yet due was tried again")
		}
		clk.Advance(23*time.Hour + 59*time.Minute + 30*time.Second) // the next try (1 min on) would fall past 24 h
		if _, err := s.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		if r := row(); r.State != models.MailFailed || r.Attempts != 2 || r.Data != "{}" {
			t.Errorf("near 24 h: %+v, want failed after 2 attempts, data cleared", r)
		}
		if !strings.Contains(row().LastError, "connect") && !strings.Contains(row().LastError, "dial") {
			t.Logf("last error: %s", row().LastError)
		}
	})
}
