package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"gatehouse/config"
	"gatehouse/models"
)

// migrateCommand is `gatehouse migrate` (apply what is pending) and
// `gatehouse migrate status` (each migration, applied or pending).
func migrateCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	status := len(args) > 0 && args[0] == "status"
	if status {
		args = args[1:]
	}
	cfg, err := config.Load(getenv, args)
	if err != nil {
		return err
	}
	store, err := models.Open(cfg.DatabaseURL, cfg.DBTimeout)
	if err != nil {
		return err
	}
	defer store.Close()
	if !status {
		applied, err := store.MigrateCounting(ctx)
		if err != nil {
			return fmt.Errorf("DATABASE_URL: %w", err)
		}
		version, err := schemaVersion(ctx, store)
		if err != nil {
			return err
		}
		if applied > 0 {
			fmt.Fprintf(stdout, "applied %d migration(s): the database is up to date at version %d\n", applied, version)
		} else {
			fmt.Fprintf(stdout, "the database is up to date at version %d\n", version)
		}
		return nil
	}
	list, err := store.Migrations(ctx)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tSTATE\tAPPLIED AT (UTC)\tMIGRATION")
	for _, m := range list {
		state, at := "pending", "-"
		if m.Applied {
			state, at = "applied", m.AppliedAt.Format(time.DateTime)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", m.Version, state, at, m.Name)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	var newer *models.SchemaNewerError
	if err := store.CheckSchema(ctx); errors.As(err, &newer) {
		fmt.Fprintln(stdout, newer.Error()) // versions this binary does not list
	}
	return nil
}

// schemaVersion is the highest version applied.
func schemaVersion(ctx context.Context, store *models.Store) (int64, error) {
	list, err := store.Migrations(ctx)
	if err != nil {
		return 0, fmt.Errorf("DATABASE_URL: %w", err)
	}
	var v int64
	for _, m := range list {
		if m.Applied {
			v = max(v, m.Version)
		}
	}
	return v, nil
}

// readySchema brings the schema to this binary's version before anything
// else uses the database: it applies what is pending (MIGRATE_ON_START,
// the default), or refuses to go on while anything is (false). A schema
// newer than this binary stops either way.
func readySchema(ctx context.Context, store *models.Store, migrate bool, log *slog.Logger) error {
	var err error
	if migrate {
		var applied int
		applied, err = store.MigrateCounting(ctx)
		if applied > 0 {
			log.Info("migrated the database", "applied", applied)
		}
	} else {
		err = store.CheckSchema(ctx)
	}
	var pending *models.PendingError
	if errors.As(err, &pending) {
		return fmt.Errorf("%w, and MIGRATE_ON_START is false: run `gatehouse migrate` first", err)
	}
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	return nil
}
