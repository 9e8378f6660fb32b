package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"gatehouse/auth"
	"gatehouse/config"
	"gatehouse/models"
)

// userCommand runs "gatehouse user …".
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("user needs a subcommand: add, list, disable, enable or passwd")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "email")
	name := fs.String("name", "", "full name")
	scopes := fs.String("scopes", "", "scopes, separated by spaces or commas")
	admin := fs.Bool("admin", false, "all four scopes")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	// Flags may come before or after the email argument.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return fmt.Errorf("user %s: %w", sub, err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	cfg, err := config.Load(getenv, nil)
	if err != nil {
		return err
	}
	a, err := open(ctx, cfg, stderr)
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
				return fmt.Errorf("--scopes: %w", err)
			}
		}
		u, err := a.auth.CreateUser(ctx, nu)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "created user %d %s (%s)\n", u.ID, u.Email, u.Scopes)
	case "list":
		users, err := a.auth.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tSCOPES\tDISABLED")
		for _, u := range users {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%t\n", u.ID, u.Email, u.FullName, u.Scopes, u.Disabled)
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
		fmt.Fprintf(stdout, "%sd %s\n", sub, models.CanonicalEmail(e))
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
		fmt.Fprintf(stdout, "password changed for %s; their sessions have ended\n", models.CanonicalEmail(e))
	default:
		return fmt.Errorf("unknown user subcommand %q (add, list, disable, enable, passwd)", sub)
	}
	return nil
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
	return errors.New(msg)
}
