package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/docdb"
)

// copyCommand copies every collection from one store to another: an
// embedded data directory or a MongoDB URI on either side, so a small
// install moves to MongoDB (or back) with one command. It prints a line
// per collection and checks the counts at the end. It refuses a source
// with no data, a target with data unless --replace is given, and a data
// directory another Gatehouse process is using.
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
	if sameStore(from, to) {
		return fmt.Errorf("--from and --to name the same store")
	}
	src, err := openSide(ctx, "--from", from, database, timeout, true)
	if err != nil {
		return err
	}
	defer src.Close(context.WithoutCancel(ctx))
	if n, err := documents(ctx, src); err != nil {
		return fmt.Errorf("read --from: %w", err)
	} else if n == 0 {
		return fmt.Errorf("--from %s holds no Gatehouse data: database %q has no documents (is --from or --database mistyped?)", describe(from), database)
	}
	dst, err := openSide(ctx, "--to", to, database, timeout, false)
	if err != nil {
		return err
	}
	defer dst.Close(context.WithoutCancel(ctx))

	fmt.Fprintf(stdout, "copying %s (%s) to %s (%s)\n", describe(from), src.Engine(), describe(to), dst.Engine())
	reports, err := store.Copy(ctx, src, dst, replace, func(r store.CopyReport) {
		fmt.Fprintf(stdout, "%-16s %8d copied, %8d in the source, %8d in the target\n", r.Collection, r.Copied, r.Source, r.Target)
	})
	if errors.Is(err, store.ErrTargetNotEmpty) {
		return fmt.Errorf("--to %s: %w; --replace empties it first, and what it holds is lost", describe(to), err)
	}
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

// openSide opens one side of the copy. A data directory is held alone for
// the copy's life, so no gateway or dispatcher writes to it meanwhile; a
// source directory must hold a database already, or a mistyped --from
// would be created empty and copied as such.
func openSide(ctx context.Context, flag, where, database string, timeout time.Duration, source bool) (docdb.DB, error) {
	cfg := storeAt(where, database, timeout)
	if source && cfg.MongoURI == "" {
		if err := requireData(where, database, flag); err != nil {
			return nil, err
		}
	}
	db, err := openHeld(ctx, cfg, holdDataAlone)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", flag, err)
	}
	return db, nil
}

// documents counts the documents of every collection of db.
func documents(ctx context.Context, db docdb.DB) (int64, error) {
	var n int64
	for _, name := range store.Collections() {
		c, err := db.Collection(name).Count(ctx, nil)
		if err != nil {
			return 0, fmt.Errorf("count %s: %w", name, err)
		}
		n += c
	}
	return n, nil
}

// sameStore tells whether --from and --to name one store, however the
// directories are spelled.
func sameStore(from, to string) bool {
	if from == to {
		return true
	}
	a, errA := filepath.Abs(from)
	b, errB := filepath.Abs(to)
	return storeAt(from, "", 0).MongoURI == "" && storeAt(to, "", 0).MongoURI == "" && errA == nil && errB == nil && a == b
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
