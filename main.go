// Command gatehouse serves Gatehouse and administers its users:
//
//	gatehouse [serve] [--addr A] [--base-url U] [--database-url D]
//	gatehouse migrate [status]
//	gatehouse healthcheck [--addr A]
//	gatehouse user add --email E --name N [--scopes "user:read user:write"] [--admin] --password-stdin
//	gatehouse user list | disable E | enable E | passwd E --password-stdin
//	gatehouse user scopes E "SCOPES"
//	gatehouse user reset-2fa E
//	gatehouse user import FILE|- [--dry-run] | export
//	gatehouse keys list | rotate | retire KID
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/trustelem/zxcvbn/frequency"

	"gatehouse/auth"
	"gatehouse/config"
	"gatehouse/handlers"
	"gatehouse/metrics"
	"gatehouse/models"
	"gatehouse/outbox"
)

// The garbage collector's settings for serve, unless GOGC or GOMEMLIMIT
// set others. Gatehouse's live heap is small (a few MiB) and its requests
// allocate briskly, so Go's default (collect when the heap doubles)
// collected thousands of times a second under load: gcPercent lets the
// heap grow to five times the live one first, which costs a few MiB and
// saves a tenth to a fifth of a request's CPU (BenchmarkMe). The memory
// limit caps that and login floods (500 concurrent logins within 150 MiB
// resident, bench/run): heapBudget for everything but password hashing,
// plus the hashing slots' work areas (auth.Service.HashingMemory: 2 × 19
// MiB by default), which stay allocated and are reused — when each hash
// allocated its 19 MiB afresh under a fixed 100 MiB limit, the runtime
// handed that memory back to the kernel and faulted it in again on every
// login, a third of the login throughput (issue 18,
// docs/performance-login.md). The limit grows with ARGON2_MEMORY_KIB, so
// a raised cost does not put the hashing alone over it.
const (
	gcPercent  = 400
	heapBudget = 64 << 20
)

// tuneGC sets serve's garbage collector (see gcPercent) unless the
// environment sets GOGC or GOMEMLIMIT, which the runtime reads itself.
func tuneGC(getenv func(string) string, hashing int64) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(heapBudget + hashing)
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	getenv, err := config.Getenv(os.LookupEnv, ".env")
	if err == nil {
		err = run(ctx, os.Args[1:], getenv, os.Stdin, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", err) // one line, never a stack trace
		os.Exit(1)
	}
}

// run dispatches a command line. Settings come from getenv; flags after
// the command may override them.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := config.Load(getenv, args)
		if err != nil {
			return err
		}
		logOut := newLogWriter(stderr)
		defer logOut.Close()
		app, err := open(ctx, cfg, logOut)
		if err != nil {
			return err
		}
		defer app.store.Close()
		app.flushLog = logOut.Flush
		tuneGC(getenv, app.auth.HashingMemory())
		return app.serve(ctx, stdout)
	case "migrate":
		return migrateCommand(ctx, args, getenv, stdout)
	case "healthcheck":
		return healthcheck(ctx, args, getenv)
	case "user":
		return userCommand(ctx, args, getenv, stdin, stdout, stderr)
	case "keys":
		return keysCommand(ctx, args, getenv, stdout, stderr)
	case "client":
		return clientCommand(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

const usage = `usage: gatehouse [serve] [--addr A] [--base-url U] [--database-url D]
       gatehouse migrate [status] | healthcheck [--addr A]   (healthcheck: exit 0 when /readyz answers 200)
       gatehouse user add --email E --name N [--scopes "user:read user:write"] [--admin] --password-stdin
       gatehouse user list | export | import FILE|- [--dry-run]   (export, import: JSON Lines, docs/import.md)
       gatehouse user disable E | enable E | reset-2fa E   (reset-2fa: two-factor off, sessions ended)
       gatehouse user passwd E --password-stdin | scopes E "SCOPES"   (scopes: spaces or commas, e.g. "user:read,admin:write")
       gatehouse keys list | rotate [--alg RS256|EdDSA] | retire KID   (signing keys: retire ends a key's tokens at once)
       gatehouse client add --name N --redirect-uri U [...] | list | secret ID | remove ID   (applications: docs/apps.md)`

// app is the opened, migrated application.
type app struct {
	cfg      config.Config
	store    *models.Store
	auth     *auth.Service
	log      *slog.Logger
	flushLog func() error     // writes out the buffered log at once (see logWriter)
	metrics  *metrics.Metrics // nil unless METRICS_ADDR
}

// openForCLI opens the application for a CLI command (user …, keys …):
// settings from the environment alone, logs unbuffered to stderr.
func openForCLI(ctx context.Context, getenv func(string) string, stderr io.Writer) (*app, error) {
	cfg, err := config.Load(getenv, nil)
	if err != nil {
		return nil, err
	}
	return open(ctx, cfg, stderr)
}

func open(ctx context.Context, cfg config.Config, logOut io.Writer) (*app, error) {
	log := newLogger(logOut, cfg.Ops.LogFormat)
	store, err := models.Open(cfg.DatabaseURL, cfg.DBTimeout)
	if err != nil {
		return nil, err
	}
	if err := readySchema(ctx, store, cfg.Ops.MigrateOnStart, log); err != nil {
		store.Close()
		return nil, err
	}
	svc, err := auth.New(store, cfg, time.Now, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &app{cfg: cfg, store: store, auth: svc, log: log}, nil
}

// dropWordLists frees zxcvbn's source word lists (1.5 MiB): it builds its
// ranked dictionaries from them when the program starts and never reads
// them again. TestDropWordLists checks that passwords are still judged
// the same without them, so a version of zxcvbn that did read them
// would fail there.
func dropWordLists() { frequency.FrequencyLists = nil }

// serve runs the HTTP server until ctx ends, then stops gracefully (stop).
func (a *app) serve(ctx context.Context, stdout io.Writer) error {
	password, err := a.auth.EnsureAdmin(ctx)
	if err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}
	if password != "" {
		fmt.Fprintf(stdout, "Created the administrator admin@example.com with password %s\n(shown once: change it with `gatehouse user passwd admin@example.com --password-stdin`)\n", password)
	}
	dropWordLists()
	// Start-up hashed a dummy password (and maybe the administrator's):
	// tens of MiB of argon2id memory that is garbage now. Give it back
	// before serving rather than whenever the scavenger gets to it.
	debug.FreeOSMemory()
	stopping := new(atomic.Bool)
	deps := handlers.Deps{Config: a.cfg, Store: a.store, Auth: a.auth, Logger: a.log, Now: time.Now, Stopping: stopping}
	metricsSrv, err := a.startMetrics(&deps)
	if err != nil {
		return err
	}
	e, err := handlers.New(deps)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("ADDR: %w", err)
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	// The outbox sender: every instance runs one; they share the table
	// without sending a mail twice (outbox, models.Store.ClaimMails).
	sender, err := outbox.New(a.store, a.cfg, time.Now, a.log, a.auth.PrepareMail, outbox.Options{})
	if err != nil {
		return err
	}
	senderCtx, stopSender := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSender()
	senderDone := make(chan struct{})
	go func() { defer close(senderDone); sender.Run(senderCtx) }()
	if a.cfg.Mail.SMTPURL == nil && a.cfg.Production() {
		a.log.Warn("SMTP_URL is not set: mails are written to this log instead of being sent")
	}
	if !a.auth.PasskeysOn() {
		a.log.Info("passkeys are off: WebAuthn binds passkeys to a domain name and BASE_URL's host is an IP address; " +
			"to turn them on, use a name (BASE_URL=http://localhost:8000) or set WEBAUTHN_RP_ID")
	}
	a.log.Info("serving", "addr", ln.Addr().String(), "config", a.cfg.String())
	if a.flushLog != nil {
		_ = a.flushLog() // scripts wait for this line
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go a.sweep(ctx, firstSweepAfter)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return a.stop(stopping, srv, metricsSrv, errc, stopSender, senderDone)
}

// firstSweepAfter is how long a server serves before its first sweep:
// the sweep starts after the server is ready (contract §13), so a
// backlog of dead rows never delays a start, and instances restarted
// together do not all sweep at the same moment as they come up.
const firstSweepAfter = 10 * time.Second

// sweep runs the sweep (auth.Service.Sweep) first after first, then
// every ten minutes, logging what each table gave up and which failed.
func (a *app) sweep(ctx context.Context, first time.Duration) {
	wait := time.NewTimer(first)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wait.C:
		}
		for _, t := range a.auth.Sweep(ctx) {
			a.metrics.SweepDeleted(t.Table, t.Deleted)
			switch {
			case t.Err != nil && ctx.Err() == nil:
				a.log.Warn("sweep failed", "table", t.Table, "deleted", t.Deleted, "took", t.Took.Round(time.Millisecond), "err", t.Err)
			case t.Deleted > 0:
				a.log.Info("sweep", "table", t.Table, "deleted", t.Deleted, "took", t.Took.Round(time.Millisecond))
			}
		}
		wait.Reset(sweepEvery)
	}
}

// sweepEvery is the time between two sweeps.
const sweepEvery = 10 * time.Minute
