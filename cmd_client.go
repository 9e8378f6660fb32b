package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"gatehouse/idp"
)

// stringList is a flag that may be given many times (--redirect-uri).
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// clientCommand runs "gatehouse client add | list | secret ID | remove ID":
// the applications that log their users in through Gatehouse (contract §10).
func clientCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("client needs a subcommand: add, list, secret CLIENT_ID or remove CLIENT_ID")
	}
	sub, args := args[0], args[1:]
	var reg idp.Registration
	fs := flag.NewFlagSet("client "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&reg.Name, "name", "", "the application's name, shown to users")
	fs.Var((*stringList)(&reg.RedirectURIs), "redirect-uri", "a redirect URI (repeat for more)")
	fs.Var((*stringList)(&reg.PostLogoutURIs), "post-logout-uri", "a post-logout redirect URI (repeat for more)")
	fs.BoolVar(&reg.Public, "public", false, "a public client (no secret: single-page and native apps)")
	fs.BoolVar(&reg.FirstParty, "first-party", false, "the team's own application: no consent page")
	fs.StringVar(&reg.Scopes, "scopes", "", "the most it may ask for")
	fs.StringVar(&reg.IDTokenAlg, "id-token-alg", "", "RS256 (default) or EdDSA")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("client %s: %s", printable(sub), printable(err.Error()))
	}
	rest := fs.Args()
	want := map[string]int{"add": 0, "list": 0, "secret": 1, "remove": 1}
	n, ok := want[sub]
	switch {
	case !ok:
		return fmt.Errorf("unknown client subcommand %q (add, list, secret CLIENT_ID, remove CLIENT_ID)", printable(sub))
	case len(rest) != n && n == 1:
		return fmt.Errorf("client %s takes one client id (see gatehouse client list)", sub)
	case len(rest) != n:
		return fmt.Errorf("client %s takes flags only", sub)
	}
	a, err := openForCLI(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()
	p := idp.New(a.store, a.auth, a.cfg, time.Now, a.log)

	switch sub {
	case "add":
		v, err := p.Register(ctx, reg)
		if err != nil {
			return describeApp(err)
		}
		fmt.Fprintf(stdout, "client_id: %s\n", v.ClientID)
		if v.ClientSecret != "" {
			fmt.Fprintf(stdout, "client_secret: %s\n(shown this once: Gatehouse keeps only its hash)\n", v.ClientSecret)
		} else {
			fmt.Fprintln(stdout, "a public client: no secret, PKCE alone")
		}
	case "list":
		apps, err := p.Apps(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tNAME\tKIND\tSCOPES\tREDIRECT URIS")
		for _, v := range apps {
			kind := "confidential"
			if v.Public {
				kind = "public"
			}
			if v.FirstParty {
				kind += ", first-party"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.ClientID, printable(v.Name), kind, strings.Join(v.Scopes, " "), printable(strings.Join(v.RedirectURIs, " ")))
		}
		return tw.Flush()
	case "secret":
		secret, err := p.NewSecret(ctx, rest[0])
		if err != nil {
			return describeApp(err)
		}
		fmt.Fprintf(stdout, "client_secret: %s\n(the old secret has stopped working)\n", secret)
	case "remove":
		if err := p.Remove(ctx, rest[0]); err != nil {
			return describeApp(err)
		}
		fmt.Fprintf(stdout, "removed %s: its sessions and tokens have ended\n", printable(rest[0]))
	}
	return nil
}

// describeApp is describe for the client commands.
func describeApp(err error) error {
	if errors.Is(err, idp.ErrNoSuchApp) {
		return errors.New("no application with that client id (see gatehouse client list)")
	}
	return describe(err)
}
