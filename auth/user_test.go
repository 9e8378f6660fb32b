package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/trustelem/zxcvbn"

	"gatehouse/models"
)

func TestValidateEmail(t *testing.T) {
	const plain = "Type the address in ordinary characters, without full-width letters or ligatures."
	cases := []struct{ name, email, want string }{
		{"an ordinary address is taken", "ada@example.com", ""},
		{"capitals and spaces around are taken (canonicalised)", "  Ada@Example.COM ", ""},
		{"an accented address is taken", "josé@example.com", ""},
		{"a dotted capital I is taken, as another address than i", "ALİCE@example.com", ""},
		{"nothing", "  ", "Enter your email."},
		{"no at sign", "not-an-email", "Enter a valid email address."},
		{"a zero-width space", "ada\u200b@example.com", models.MsgInvisible},
		{"a right-to-left override", "ada\u202e@example.com", models.MsgInvisible},
		{"a NUL", "ada\x00@example.com", models.MsgInvisible},
		{"an ESC", "ada\x1b@example.com", models.MsgInvisible},
		{"a newline inside", "ada\n@example.com", models.MsgInvisible},
		{"bytes that are not UTF-8", "ada\xff@example.com", models.MsgInvalidUTF8},
		{"a full-width letter", "\uff41da@example.com", plain},
		{"a full-width at sign", "ada\uff20example.com", plain},
		{"a ligature", "\ufb01nn@example.com", plain},
		{"a Kelvin sign", "\u212Aate@example.com", plain},
		{"a superscript digit", "ada\u00b2@example.com", plain},
		{"a decomposed accent (NFD)", "jose\u0301@example.com", plain},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidateEmail(tc.email); got != tc.want {
				t.Errorf("ValidateEmail(%q): got %q, want %q", tc.email, got, tc.want)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	cases := []struct{ name, full, want string }{
		{"a plain name is taken", "Ada Lovelace", ""},
		{"accents and emoji are taken", "Zoë 😀", ""},
		{"200 characters are taken", strings.Repeat("é", 200), ""},
		{"201 characters are refused", strings.Repeat("n", 201), "Use at most 200 characters."},
		{"nothing is refused", "", "Enter a name."},
		{"a newline inside is refused", "Ada\nLovelace", models.MsgInvisible},
		{"a tab inside is refused", "Ada\tLovelace", models.MsgInvisible},
		{"ESC is refused", "Ada\x1b[2J", models.MsgInvisible},
		{"a right-to-left override is refused", "Ada\u202e", models.MsgInvisible},
		{"a zero-width joiner is refused", "Ada\u200d", models.MsgInvisible},
		{"bytes that are not UTF-8 are refused", "Ada\xff", models.MsgInvalidUTF8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := validateName(tc.full); got != tc.want {
				t.Errorf("validateName(%q): got %q, want %q", tc.full, got, tc.want)
			}
		})
	}
}

func TestValidateNewPassword(t *testing.T) {
	const email, name = "ada.lovelace@example.com", "Ada Lovelace"
	cases := []struct{ name, password, want string }{
		{"a passphrase is taken", "correct horse battery", ""},
		{"a random 8 characters are taken", "Tq7#mZ2p", ""},
		{"7 characters are refused", "Tq7#mZ2", "Use at least 8 characters."},
		{"257 characters are refused before zxcvbn runs", strings.Repeat("x", 257), "Use at most 256 characters."},
		{"the email is refused", "ADA.LOVELACE@example.com", "Your password must not be your email."},
		{"password is too easy", "password", msgTooEasy},
		{"12345678 is too easy", "12345678", msgTooEasy},
		{"a keyboard row is too easy", "qwertyuiop", msgTooEasy},
		{"a repeated letter is too easy", strings.Repeat("p", 256), msgTooEasy},
		{"the local part inside a long password is refused", "xx-ada.lovelace-correct-horse", msgTooEasy},
		{"the local part in capitals is refused", "ADA.LOVELACEstaple42!", msgTooEasy},
		{"the name and a year are too easy", "lovelace1815", msgTooEasy},
		{"256 characters of passphrase are taken", strings.Repeat("Tr0ub4dor&3 correct horse battery staple ", 7)[:256], ""},
		{"a password easy in its first 64 characters is refused however it ends", strings.Repeat("p", 64) + "Tr0ub4dor&3 correct horse", msgTooEasy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := validateNewPassword(tc.password, email, name); got != tc.want {
				t.Errorf("validateNewPassword(%q): got %q, want %q", tc.password, got, tc.want)
			}
		})
	}
	t.Run("a local part under 3 characters is not looked for", func(t *testing.T) {
		if got := validateNewPassword("abcorrect horse battery", "ab@example.com", "A B"); got != "" {
			t.Errorf("got %q, want it taken", got)
		}
	})
}

func TestFirstRunes(t *testing.T) {
	cases := []struct {
		name, s string
		n       int
		want    string
	}{
		{"a shorter string is kept", "abc", 5, "abc"},
		{"a string of exactly n is kept", "abc", 3, "abc"},
		{"a longer string is cut", "abcdef", 3, "abc"},
		{"multi-byte characters count once", "ééééé", 2, "éé"},
		{"nothing is kept for n = 0", "abc", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstRunes(tc.s, tc.n); got != tc.want {
				t.Errorf("firstRunes(%q, %d): got %q, want %q", tc.s, tc.n, got, tc.want)
			}
		})
	}
}

// TestPasswordRulesByPath checks who applies which password rules: sign-up
// and change refuse easy passwords; the CLI's user add and user passwd
// (CreateUser, ResetPassword) apply the length rules only (contract §9).
func TestPasswordRulesByPath(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	invalid := func(err error) map[string]string {
		var e *models.Error
		if !errors.As(err, &e) {
			return nil
		}
		return e.Fields
	}

	_, err := f.svc.Register(ctx, NewUser{Email: "ada@example.com", FullName: "Ada", Password: "12345678"}, client)
	if diff := cmp.Diff(map[string]string{"password": msgTooEasy}, invalid(err)); diff != "" {
		t.Errorf("sign-up with 12345678 (-want +got):\n%s", diff)
	}
	_, err = f.svc.Register(ctx, NewUser{Email: "ada@example.com", FullName: "Ada", Password: "ada@example.com!"}, client)
	if diff := cmp.Diff(map[string]string{"password": msgTooEasy}, invalid(err)); diff != "" {
		t.Errorf("sign-up with the email inside (-want +got):\n%s", diff)
	}
	if _, err := f.svc.CreateUser(ctx, NewUser{Email: "cli@example.com", FullName: "CLI", Password: "12345678"}); err != nil {
		t.Errorf("the CLI's user add with 12345678: got %v, want it taken", err)
	}
	if err := f.svc.ResetPassword(ctx, "cli@example.com", "cli@example.com"); err != nil {
		t.Errorf("the CLI's user passwd with the email: got %v, want it taken", err)
	}
	err = f.svc.ResetPassword(ctx, "cli@example.com", "short")
	if diff := cmp.Diff(map[string]string{"password": "Use at least 8 characters."}, invalid(err)); diff != "" {
		t.Errorf("the CLI's user passwd with 5 characters (-want +got):\n%s", diff)
	}

	f.createUser(t, "bob@example.com")
	c := f.login(t, "bob@example.com")
	_, _, err = f.svc.ChangePassword(ctx, c, PasswordChange{CurrentPassword: password, NewPassword: "password"}, client)
	if diff := cmp.Diff(map[string]string{"new_password": msgTooEasy}, invalid(err)); diff != "" {
		t.Errorf("change to password (-want +got):\n%s", diff)
	}
	if _, _, err := f.svc.ChangePassword(ctx, c, PasswordChange{CurrentPassword: password, NewPassword: "a brand new passphrase"}, client); err != nil {
		t.Errorf("change to a passphrase: got %v, want it taken", err)
	}
}

// BenchmarkPasswordStrength measures the strength check on a typical
// password and on the longest one the rules let through (256 characters,
// mixed so that zxcvbn finds no single repeat), and zxcvbn on all 256
// characters, which validateNewPassword avoids (zxcvbnMaxInput).
func BenchmarkPasswordStrength(b *testing.B) {
	const email, name = "ada.lovelace@example.com", "Ada Lovelace"
	long := strings.Repeat("Tr0ub4dor&3 correct horse battery staple ", 7)[:256]
	for _, bc := range []struct{ name, password string }{
		{"21 characters", "correct horse battery"},
		{"256 characters", long},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if msg := validateNewPassword(bc.password, email, name); msg != "" {
					b.Fatal(msg)
				}
			}
		})
	}
	b.Run("zxcvbn on all 256 characters", func(b *testing.B) {
		hints := passwordHints(email, "ada.lovelace", name)
		for b.Loop() {
			zxcvbn.PasswordStrength(long, hints)
		}
	})
}

// TestCLIAndWebShareTheirPaths checks that the CLI's password reset and
// disable end sessions as the web's change and an administrator's do.
func TestCLIAndWebShareTheirPaths(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.createUser(t, "ada@example.com")
	first, second := f.login(t, "ada@example.com"), f.login(t, "ada@example.com")
	if err := f.svc.ResetPassword(ctx, "ada@example.com", "another long passphrase"); err != nil {
		t.Fatalf("reset: %v", err)
	}
	for _, c := range []*Caller{first, second} {
		_, err := f.svc.Authenticate(request(f.cookieFor(t, c), ""))
		wantError(t, err, ErrSessionEnded)
	}
	if sessions, err := f.svc.Sessions(ctx, first.User.ID, ""); err != nil || len(sessions) != 0 {
		t.Errorf("sessions after the reset: got %v (%v), want none", sessions, err)
	}
	events, err := f.svc.Events(ctx, first.User.ID, 1)
	if err != nil || len(events) != 1 || events[0].Kind != models.EventPasswordChanged || events[0].Detail != "2 sessions ended (by the CLI)" {
		t.Errorf("last event: got %+v (%v), want password_changed, 2 sessions ended (by the CLI)", events, err)
	}

	f.createUser(t, "bob@example.com")
	bob := f.login(t, "bob@example.com")
	if err := f.svc.SetDisabled(ctx, "bob@example.com", true); err != nil {
		t.Fatalf("disable: %v", err)
	}
	_, err = f.svc.Authenticate(request(f.cookieFor(t, bob), ""))
	wantError(t, err, ErrSessionEnded)
	events, err = f.svc.Events(ctx, bob.User.ID, 1)
	if err != nil || len(events) != 1 || events[0].Kind != models.EventAdminChangedUser || events[0].Detail != "disabled (by the CLI)" {
		t.Errorf("last event: got %+v (%v), want admin_changed_user, disabled (by the CLI)", events, err)
	}
}

// TestErrorIdentity checks that an ended session is told apart from no
// session although both are not_authenticated.
func TestErrorIdentity(t *testing.T) {
	if errors.Is(ErrNotAuthenticated, ErrSessionEnded) {
		t.Errorf("errors.Is(ErrNotAuthenticated, ErrSessionEnded): got true, want false")
	}
	if !errors.Is(ErrSessionEnded, ErrNotAuthenticated) {
		t.Errorf("errors.Is(ErrSessionEnded, ErrNotAuthenticated): got false, want true")
	}
	if !errors.Is(MissingScope(ScopeAdminRead), ErrInsufficientScope) {
		t.Errorf("errors.Is(MissingScope(admin:read), ErrInsufficientScope): got false, want true")
	}
	if e, ok := models.AsError(MissingScope(ScopeAdminRead)); !ok || e.Scope != ScopeAdminRead || e.Detail != "This needs the admin:read scope" {
		t.Errorf("MissingScope(admin:read): got %+v, want the scope named", e)
	}
}
