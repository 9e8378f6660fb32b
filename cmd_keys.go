package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"gatehouse/models"
)

// keysCommand runs "gatehouse keys list | rotate [--alg RS256|EdDSA] | retire KID"
// (contract §8; --alg: the keys of applications' ID tokens, §10).
func keysCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("keys needs a subcommand: list, rotate or retire KID")
	}
	sub, args := args[0], args[1:]
	want := 0
	if sub == "retire" {
		want = 1
	}
	alg := ""
	if sub == "rotate" && len(args) == 2 && args[0] == "--alg" {
		alg, args = args[1], nil
	} else if sub == "rotate" && len(args) == 1 && strings.HasPrefix(args[0], "--alg=") {
		alg, args = strings.TrimPrefix(args[0], "--alg="), nil
	}
	switch {
	case sub != "list" && sub != "rotate" && sub != "retire":
		return fmt.Errorf("unknown keys subcommand %q (list, rotate, retire KID)", printable(sub))
	case len(args) != want && want == 1:
		return errors.New("keys retire takes one kid (see gatehouse keys list)")
	case len(args) != want:
		return fmt.Errorf("keys %s takes no arguments (rotate: --alg RS256 or EdDSA)", sub)
	}
	a, err := openForCLI(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()

	switch sub {
	case "list":
		keys, err := a.auth.SigningKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALGORITHM\tCREATED\tSTATE")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", printable(k.KID), k.Alg, k.CreatedAt.UTC().Format(time.RFC3339), k.State)
		}
		return tw.Flush()
	case "rotate":
		kid, err := a.auth.RotateKey(ctx, alg)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s signs from now on; tokens of the earlier keys stay valid until they expire\n", kid)
	case "retire":
		kid := args[0]
		next, err := a.auth.RetireKey(ctx, kid)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("no signing key with kid %s (see gatehouse keys list)", printable(kid))
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "retired signing key %s: its tokens stop working now\n", printable(kid))
		if next != "" {
			fmt.Fprintf(stdout, "it was the signing key: new signing key %s\n", next)
		}
	}
	return nil
}
