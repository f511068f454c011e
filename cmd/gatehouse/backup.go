package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/gatehouse/gatehouse/store/docdb/sqlite"
)

// backup writes a consistent copy of the embedded store to a new file
// while gateways keep serving from it.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := &config{}
	var to string
	err := parseFlags("backup", args, getenv, stderr, func(fs *flag.FlagSet, env envBinder) {
		cfg.storeFlags(fs, env)
		fs.StringVar(&to, "to", "", "the file to write (it must not exist)")
	})
	if err != nil {
		return err
	}
	if to == "" {
		return fmt.Errorf("backup needs --to")
	}
	if cfg.MongoURI != "" {
		return fmt.Errorf("backup copies the embedded store; for MongoDB use mongodump (docs/operations.md)")
	}
	// A mistyped --data would otherwise be created, and backed up, empty.
	if err := requireData(cfg.DataDir, cfg.Database, "--data"); err != nil {
		return err
	}
	db, err := openHeld(ctx, cfg.storeConfig(), holdData)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	file := db.(heldDB).DB.(*sqlite.DB)
	if err := file.Backup(ctx, to); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", file.Path(), to)
	return nil
}
