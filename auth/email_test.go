package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
)

// TestForgotPasswordDoesTheSameWork checks that a forgot-password request
// for an address with an account and one without leave the same rows
// behind — two throttle rows and one outbox row, bound to no account — so
// neither answers sooner than the other (contract §6: the same status,
// body and time). The account is looked up only at delivery.
func TestForgotPasswordDoesTheSameWork(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createUser(t, "ada@example.com")
	ctx := context.Background()
	type rows struct{ failures, mails int }
	count := func(email string) rows {
		t.Helper()
		n, _, err := f.store.CountFailures(ctx, "forgot:"+hashToken(email), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := f.store.CountFailures(ctx, "forgot-ip:"+client.IP, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		mails, err := f.store.MailsTo(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		resets := 0
		for _, mail := range mails {
			if mail.Kind != models.MailPasswordReset {
				continue // the account's verification mail
			}
			resets++
			if mail.UserID != 0 {
				t.Errorf("%s: the outbox row names account %d at request time", email, mail.UserID)
			}
		}
		return rows{int(n + m), resets}
	}
	var got []rows
	for _, email := range []string{"nobody@example.com", "ada@example.com"} {
		before := count(email)
		if err := f.svc.ForgotPassword(ctx, email, client); err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		after := count(email)
		got = append(got, rows{after.failures - before.failures, after.mails - before.mails})
	}
	if got[0] != got[1] {
		t.Errorf("rows written: unknown %+v, known %+v; want the same", got[0], got[1])
	}
	if got[1] != (rows{failures: 2, mails: 1}) {
		t.Errorf("a request wrote %+v, want 2 throttle rows and 1 mail", got[1])
	}
}

// TestPrepareMail checks what delivery adds: a reset mail gets a link
// only for an enabled account, a newer link replaces the older one, and
// the stored row never holds the token.
func TestPrepareMail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	ada := f.createUser(t, "ada@example.com")
	f.createUser(t, "off@example.com")
	if err := f.svc.SetDisabled(ctx, "off@example.com", true); err != nil {
		t.Fatal(err)
	}
	prepare := func(email string) (models.MailData, bool) {
		t.Helper()
		m := models.NewMail(models.MailPasswordReset, 0, email, models.MailData{Email: email}, f.clock.Now())
		d, send, err := f.svc.PrepareMail(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.Data, "token") {
			t.Errorf("the outbox row holds a token: %s", m.Data)
		}
		return d, send
	}
	for _, email := range []string{"nobody@example.com", "off@example.com"} {
		if _, send := prepare(email); send {
			t.Errorf("%s: a reset mail would be sent", email)
		}
	}
	first, send := prepare("ada@example.com")
	if !send || !strings.Contains(first.Link, "/auth/reset?token=") || first.Name != "Test User" {
		t.Fatalf("ada: send %v, data %+v; want a reset link", send, first)
	}
	second, _ := prepare("ada@example.com")
	tokenOf := func(link string) string { return link[strings.Index(link, "token=")+len("token="):] }
	if err := f.svc.CheckLink(ctx, tokenOf(first.Link), models.LinkReset); !errors.Is(err, ErrInvalidLink) {
		t.Errorf("the older link: %v, want invalid_link (replaced)", err)
	}
	if err := f.svc.CheckLink(ctx, tokenOf(second.Link), models.LinkReset); err != nil {
		t.Errorf("the newer link: %v, want live", err)
	}
	if err := f.svc.CheckLink(ctx, tokenOf(second.Link), models.LinkVerify); !errors.Is(err, ErrInvalidLink) {
		t.Errorf("a reset link used to verify: %v, want invalid_link", err)
	}
	events, _ := f.store.EventsByUser(ctx, ada.ID, 10)
	if len(events) == 0 || events[0].Kind != models.EventPasswordResetRequested {
		t.Errorf("security log: %+v, want password_reset_requested", events)
	}
}
