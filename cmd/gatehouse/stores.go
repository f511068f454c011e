package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/docdb/sqlite"
)

// storeConfig is where cfg says the store is.
func (c *config) storeConfig() store.Config {
	return store.Config{
		MongoURI:    c.MongoURI,
		DataDir:     c.DataDir,
		Database:    c.Database,
		Timeout:     c.StoreTimeout,
		Synchronous: sqlite.Synchronous(c.SQLiteSynchronous),
	}
}

// openStore connects to MongoDB when a URI is configured, and otherwise
// opens the embedded SQLite store in the data directory. It migrates
// either way, so every command sees the collections and indexes it expects.
// On the embedded store it holds the data directory until the store is
// closed, so that copy cannot run on it meanwhile (see dataLock).
func openStore(ctx context.Context, cfg *config, logger *slog.Logger, opts store.Options) (*store.Store, error) {
	db, err := openHeld(ctx, cfg.storeConfig(), holdData)
	if err != nil {
		return nil, err
	}
	engine := db
	if held, ok := db.(heldDB); ok {
		engine = held.DB
	}
	if file, ok := engine.(*sqlite.DB); ok {
		logger.Info("using the embedded store (SQLite); set MONGODB_URI for MongoDB",
			"file", file.Path(), "synchronous", cfg.SQLiteSynchronous)
		if file.Imported != nil {
			logger.Info("imported the data of the FerretDB-era embedded store", "collections", file.Imported)
		}
	} else {
		logger.Info("using MongoDB", "database", cfg.Database)
	}
	s := store.New(db, opts)
	if err := s.Migrate(ctx); err != nil {
		_ = s.Close(ctx)
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return s, nil
}

// heldDB is an embedded database whose Close also lets go of its data
// directory's hold.
type heldDB struct {
	docdb.DB
	hold *dataLock
}

func (d heldDB) Close(ctx context.Context) error {
	defer d.hold.release()
	return d.DB.Close(ctx)
}

// openHeld opens the store cfg names; an embedded one is held first, with
// hold (holdData, or holdDataAlone for copy), so that nothing is opened,
// let alone created, where the hold is refused.
func openHeld(ctx context.Context, cfg store.Config, hold func(dir, database string) (*dataLock, error)) (docdb.DB, error) {
	if cfg.MongoURI != "" || cfg.DataDir == "" {
		return store.OpenEngine(ctx, cfg)
	}
	l, err := hold(cfg.DataDir, cfg.Database)
	if err != nil {
		return nil, err
	}
	db, err := store.OpenEngine(ctx, cfg)
	if err != nil {
		l.release()
		return nil, err
	}
	return heldDB{DB: db, hold: l}, nil
}

// openForCommand makes a command's logger and opens its store.
func openForCommand(ctx context.Context, cfg *config, logOut io.Writer, opts store.Options) (*slog.Logger, *store.Store, error) {
	logger, err := newLogger(logOut, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return nil, nil, err
	}
	s, err := openStore(ctx, cfg, logger, opts)
	if err != nil {
		return nil, nil, err
	}
	return logger, s, nil
}

// newLogger writes text to a terminal and JSON elsewhere, unless told.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}
