package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"gatehouse/auth"
	"gatehouse/models"
)

// userCommand runs "gatehouse user …".
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("user needs a subcommand: add, list, disable, enable, passwd, scopes, reset-2fa, import or export")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "email")
	name := fs.String("name", "", "full name")
	scopes := fs.String("scopes", "", "scopes, separated by spaces or commas")
	admin := fs.Bool("admin", false, "all four scopes")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	dryRun := fs.Bool("dry-run", false, "import: check every line, write nothing")
	// Flags may come before or after the email argument.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return fmt.Errorf("user %s: %s", printable(sub), printable(err.Error()))
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	a, err := openForCLI(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()

	target := func() (string, error) {
		if len(positional) != 1 {
			return "", fmt.Errorf("user %s takes one email", sub)
		}
		return positional[0], nil
	}
	switch sub {
	case "add":
		if !*fromStdin {
			return errors.New("user add: give the password on standard input with --password-stdin (never in argv)")
		}
		password, err := readPassword(stdin)
		if err != nil {
			return err
		}
		nu := auth.NewUser{Email: *email, FullName: *name, Password: password, EmailVerified: true} // an administrator vouches for it
		if *admin {
			nu.Scopes = auth.AllScopes
		} else if *scopes != "" {
			if nu.Scopes, err = auth.ParseScopes(*scopes); err != nil {
				return describe(err)
			}
		}
		u, err := a.auth.CreateUser(ctx, nu)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "created user %d %s (%s)\n", u.ID, printable(u.Email), printable(u.Scopes))
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tSCOPES\tDISABLED")
		err := a.auth.EachUser(ctx, func(u *models.User) error {
			_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%t\n", u.ID, printable(u.Email), printable(u.FullName), printable(u.Scopes), u.Disabled)
			return err
		})
		if err != nil {
			return err
		}
		return tw.Flush()
	case "disable", "enable":
		e, err := target()
		if err != nil {
			return err
		}
		if err := a.auth.SetDisabled(ctx, e, sub == "disable"); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%sd %s\n", sub, printable(models.CanonicalEmail(e)))
	case "passwd":
		e, err := target()
		if err != nil {
			return err
		}
		if !*fromStdin {
			return errors.New("user passwd: give the password on standard input with --password-stdin (never in argv)")
		}
		password, err := readPassword(stdin)
		if err != nil {
			return err
		}
		if err := a.auth.ResetPassword(ctx, e, password); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "password changed for %s; their sessions have ended\n", printable(models.CanonicalEmail(e)))
	case "scopes":
		if len(positional) != 2 {
			return errors.New(`user scopes takes an email and the scopes, e.g. user scopes ada@example.com "user:read admin:write"`)
		}
		u, err := a.auth.SetScopes(ctx, positional[0], positional[1])
		if err != nil {
			return describe(err)
		}
		shown := u.Scopes
		if shown == "" {
			shown = "none"
		}
		fmt.Fprintf(stdout, "scopes of %s: %s\n", printable(u.Email), printable(shown))
	case "reset-2fa":
		e, err := target()
		if err != nil {
			return err
		}
		ended, err := a.auth.ResetMFAByEmail(ctx, e)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "two-factor authentication of %s is off; %d sessions ended\n", printable(models.CanonicalEmail(e)), ended)
	case "import":
		if len(positional) != 1 {
			return errors.New("user import takes one file of JSON Lines, or - for standard input")
		}
		return importUsers(ctx, a, positional[0], *dryRun, stdin, stdout, stderr)
	case "export":
		if len(positional) != 0 {
			return errors.New("user export takes no arguments; it writes to standard output")
		}
		n, err := a.auth.ExportUsers(ctx, stdout)
		if err != nil {
			return fmt.Errorf("user export: %w", err)
		}
		fmt.Fprintf(stderr, "exported %d users\n", n)
	default:
		return fmt.Errorf("unknown user subcommand %q (add, list, disable, enable, passwd, scopes, reset-2fa, import, export)", sub)
	}
	return nil
}

// importUsers runs "gatehouse user import FILE|-" (contract §12): each
// skipped line is reported on stderr with its number and why, and the
// counts on stdout.
func importUsers(ctx context.Context, a *app, name string, dryRun bool, stdin io.Reader, stdout, stderr io.Writer) error {
	in := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("user import: %w", err)
		}
		defer f.Close()
		in = f
	}
	report := bufio.NewWriter(stderr)
	defer report.Flush()
	res, err := a.auth.ImportUsers(ctx, in, dryRun, func(line int, why string) {
		fmt.Fprintf(report, "line %d: skipped: %s\n", line, printable(why))
	})
	report.Flush()
	if dryRun {
		fmt.Fprintf(stdout, "dry run: would import %d users, skip %d; nothing was written\n", res.Imported, res.Skipped)
	} else {
		fmt.Fprintf(stdout, "imported %d users, skipped %d\n", res.Imported, res.Skipped)
	}
	if err != nil {
		return fmt.Errorf("user import stopped: %w", err)
	}
	return nil
}

// printable returns text from a user or the database as it may be written
// to a terminal (contract §9: never a control character raw). Control and
// format characters (models.IsInvisible: ESC, CR, LF, tab, bidi overrides,
// zero-width spaces …) become Go escapes such as \x1b, \t or \u202e, and
// bytes that are not UTF-8 become \xNN (a stray 0x9b is CSI to some
// terminals); everything else, accents and emoji included, is kept as it
// is. Escaping tabs also keeps a name inside its column of "user list".
func printable(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, models.IsInvisible) < 0 {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case models.IsInvisible(r):
			q := strconv.QuoteRune(r) // '\x1b', '\t', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// readPassword reads one line and drops only its line ending.
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

// describe words a domain error for the terminal, with its fields.
func describe(err error) error {
	e, ok := models.AsError(err)
	if !ok {
		return err
	}
	if errors.Is(err, models.ErrNotFound) {
		return errors.New("no such user")
	}
	msg := e.Detail
	for field, m := range e.Fields {
		msg += fmt.Sprintf(" %s: %s", field, m)
	}
	return errors.New(printable(msg)) // a message may quote what was typed
}
