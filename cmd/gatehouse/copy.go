package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// copyCommand copies every collection from one store to another: an
// embedded data directory or a MongoDB URI on either side, so a small
// install moves to MongoDB (or back) with one command. It prints a line
// per collection and checks the counts at the end.
func copyCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var from, to, database string
	var replace bool
	var timeout time.Duration
	err := parseFlags("copy", args, getenv, stderr, func(fs *flag.FlagSet, env envBinder) {
		fs.StringVar(&from, "from", "", "the store to copy: a data directory, or a mongodb:// URI")
		fs.StringVar(&to, "to", "", "the store to copy into: a data directory, or a mongodb:// URI")
		env.string(fs, &database, "database", "GATEHOUSE_DATABASE", "gatehouse", "database name, on both sides")
		fs.BoolVar(&replace, "replace", false, "empty a target that holds data first (without it, a non-empty target is refused)")
		env.duration(fs, &timeout, "store-timeout", "GATEHOUSE_STORE_TIMEOUT", 5*time.Second, "how long to wait for either store to answer")
	})
	if err != nil {
		return err
	}
	if from == "" || to == "" {
		return fmt.Errorf("copy needs --from and --to")
	}
	if from == to {
		return fmt.Errorf("--from and --to name the same store")
	}
	src, err := store.OpenEngine(ctx, storeAt(from, database, timeout))
	if err != nil {
		return fmt.Errorf("open --from: %w", err)
	}
	defer src.Close(context.WithoutCancel(ctx))
	dst, err := store.OpenEngine(ctx, storeAt(to, database, timeout))
	if err != nil {
		return fmt.Errorf("open --to: %w", err)
	}
	defer dst.Close(context.WithoutCancel(ctx))

	fmt.Fprintf(stdout, "copying %s (%s) to %s (%s)\n", describe(from), src.Engine(), describe(to), dst.Engine())
	reports, err := store.Copy(ctx, src, dst, replace, func(r store.CopyReport) {
		fmt.Fprintf(stdout, "%-16s %8d copied, %8d in the source, %8d in the target\n", r.Collection, r.Copied, r.Source, r.Target)
	})
	if err != nil {
		return err
	}
	// The target is now a store like any other: seed what is missing.
	if err := store.New(dst, store.Options{}).Migrate(ctx); err != nil {
		return fmt.Errorf("migrate the target: %w", err)
	}
	for _, r := range reports {
		if r.Source != r.Target {
			return fmt.Errorf("%s: %d documents in the source, %d in the target: was either store written during the copy?", r.Collection, r.Source, r.Target)
		}
	}
	fmt.Fprintln(stdout, "done: every collection has as many documents in the target as in the source")
	return nil
}

// storeAt reads --from or --to: a MongoDB URI, or a data directory.
func storeAt(where, database string, timeout time.Duration) store.Config {
	if strings.HasPrefix(where, "mongodb://") || strings.HasPrefix(where, "mongodb+srv://") {
		return store.Config{MongoURI: where, Database: database, Timeout: timeout}
	}
	return store.Config{DataDir: where, Database: database, Timeout: timeout}
}

// describe names a store without the password a URI may hold.
func describe(where string) string {
	if i := strings.Index(where, "@"); i >= 0 && strings.Contains(where[:i], "://") {
		return where[:strings.Index(where, "://")+3] + "…" + where[i:]
	}
	return where
}
