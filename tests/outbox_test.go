package tests

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gatehouse/auth"
	"gatehouse/internal/testenv"
	"gatehouse/models"
	"gatehouse/outbox"
)

// TestOutboxTwoInstances runs two instances' senders on one database —
// each with its own connection pool, as two processes would have — and
// checks that every mail arrives exactly once; then that a mail claimed
// by an instance that died mid-send is delivered once its lease ends.
func TestOutboxTwoInstances(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		mp := testenv.StartMailpit(t)
		app := newApp(t, db, withMailpit(mp))
		other, err := models.Open(app.cfg.DatabaseURL, app.cfg.DBTimeout)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		log := slog.New(slog.NewTextHandler(app.logs, nil))
		second, err := outbox.New(other, app.cfg, app.clock.Now, log, app.auth.PrepareMail, outbox.Options{Poll: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { second.Run(ctx); close(done) }()
		t.Cleanup(func() { stop(); <-done })

		const n = 40
		users := make([]*models.User, n)
		for i := range users {
			users[i] = &models.User{ID: uint64(1000 + i), Email: fmt.Sprintf("u%d-%s@example.com", i, db), FullName: "U"}
		}
		testenv.FanOut(n, func(i int) {
			if err := app.store.Enqueue(context.Background(), app.auth.Notice(users[i], models.MailNewLogin, auth.Client{IP: "192.0.2.7"})); err != nil {
				t.Error(err)
			}
		})
		deadline := time.Now().Add(30 * time.Second)
		for len(mp.Messages(t)) < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		seen := map[string]int{}
		for _, m := range mp.Messages(t) {
			for _, to := range m.To {
				seen[to.Address]++
			}
		}
		for _, u := range users {
			if seen[u.Email] != 1 {
				t.Errorf("%s got %d mails, want exactly 1", u.Email, seen[u.Email])
			}
		}
		if got := len(mp.Messages(t)); got != n {
			t.Errorf("Mailpit holds %d mails, want %d", got, n)
		}
		// Each was claimed once: a second delivery would need a second claim.
		// A sender records "sent" just after Mailpit accepted the mail, so
		// the last rows may still be on their way.
		for _, u := range users {
			var rows []models.Mail
			for wait := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if rows, err = app.store.MailsTo(context.Background(), u.Email); err != nil {
					t.Fatal(err)
				}
				if len(rows) != 1 || rows[0].State != models.MailPending || time.Now().After(wait) {
					break
				}
			}
			if len(rows) != 1 || rows[0].State != models.MailSent || rows[0].Attempts != 1 {
				t.Errorf("%s: outbox %+v, want one row sent at its first claim", u.Email, rows)
			}
		}

		// An instance claims a mail and dies before sending it.
		stop()
		<-done
		dead := &models.User{ID: 9999, Email: "dead-" + db + "@example.com", FullName: "D"}
		if err := app.store.Enqueue(context.Background(), app.auth.Notice(dead, models.MailPasswordChanged, auth.Client{})); err != nil {
			t.Fatal(err)
		}
		claimed, err := other.ClaimMails(context.Background(), app.clock.Now(), 2*time.Minute, 100)
		if err != nil || len(claimed) == 0 {
			// The running sender may have won the race: then it was sent, once.
			mp.WaitForMail(t, dead.Email, 1)
			return
		}
		app.clock.Advance(time.Minute)
		if sent, err := app.outbox.SendDue(context.Background()); err != nil || sent != 0 {
			t.Fatalf("within the lease: another instance sent %d (err %v), want 0", sent, err)
		}
		app.clock.Advance(2 * time.Minute)
		mp.WaitForMail(t, dead.Email, 1)
		// As above: "sent" is recorded just after Mailpit accepted it.
		var rows []models.Mail
		for wait := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if rows, err = app.store.MailsTo(context.Background(), dead.Email); err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].State != models.MailPending || time.Now().After(wait) {
				break
			}
		}
		if len(rows) != 1 || rows[0].State != models.MailSent || rows[0].Attempts != 2 {
			t.Errorf("after the lease: %+v, want one row, sent at the second attempt", rows)
		}
	})
}

// TestNewLoginNotice: a login from a browser and IP the account has not
// used in 90 days is told to its owner — but not the account's first
// login, and not a login from a known browser.
func TestNewLoginNotice(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		mp := testenv.StartMailpit(t)
		app := newApp(t, db, withMailpit(mp))
		email := "eve-" + db + "@example.com"
		app.createUser(t, email, "correct horse battery")
		const chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
		app.client(t).loginBrowser(email, "correct horse battery", firefoxUA) // the first login: nothing to compare with
		app.client(t).loginBrowser(email, "correct horse battery", firefoxUA) // known
		app.client(t).loginBrowser(email, "correct horse battery", chromeUA)  // new
		msg := mp.WaitForMail(t, email, 1)[0]
		if msg.Subject != "A new login to your Gatehouse account" {
			t.Errorf("subject %q", msg.Subject)
		}
		if !containsAll(msg.Text, "Chrome", "127.0.0.1") {
			t.Errorf("the notice does not name the browser and IP:\n%s", msg.Text)
		}
		app.client(t).loginBrowser(email, "correct horse battery", chromeUA) // known now
		app.clock.Advance(91 * 24 * time.Hour)
		app.client(t).loginBrowser(email, "correct horse battery", chromeUA)  // first in 90 days: nothing to compare with
		app.client(t).loginBrowser(email, "correct horse battery", firefoxUA) // forgotten: new again
		mp.WaitForMail(t, email, 2)
		rows, err := app.store.MailsTo(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Errorf("got %d notices in the outbox, want 2", len(rows))
		}
	})
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestNewLoginNoticeSecondStep: a browser login that finishes on the
// two-factor page (/auth/2fa) is a login like any other for the
// new-browser notice.
func TestNewLoginNoticeSecondStep(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		mp := testenv.StartMailpit(t)
		app := newApp(t, db, withMailpit(mp))
		email := "kim-" + db + "@example.com"
		app.createUser(t, email, goodPassword)
		owner := app.client(t)
		owner.loginAPI(email, goodPassword) // the first login: nothing to compare with
		secret, _ := owner.enableMFA()

		const chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
		ua := header{"User-Agent", chromeUA}
		c := app.client(t)
		c.post("/auth/token", formOf("username", email, "password", goodPassword), asHTML, ua).wantRedirect(t, "/auth/2fa")
		c.post("/auth/2fa", formOf("code", totpCode(t, secret, app.clock.Now())), asHTML, ua).wantRedirect(t, "/auth/home")
		var notices []string
		for _, msg := range mp.WaitForSubjects(t, email, "A new login to your Gatehouse account", 1) {
			notices = append(notices, msg.Text)
		}
		if len(notices) != 1 || !strings.Contains(notices[0], "Chrome") {
			t.Errorf("new-login notices %q, want one naming Chrome", notices)
		}
	})
}
