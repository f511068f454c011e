package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"

	"github.com/gatehouse/gatehouse/store"
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
func openStore(ctx context.Context, cfg *config, logger *slog.Logger, opts store.Options) (*store.Store, error) {
	db, err := store.OpenEngine(ctx, cfg.storeConfig())
	if err != nil {
		return nil, err
	}
	if file, ok := db.(*sqlite.DB); ok {
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
