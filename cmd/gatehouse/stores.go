package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/embedded"
)

// openedStore is the store a command works on, and how to let go of it.
type openedStore struct {
	*store.Store
	embedded *embedded.Server
}

// openStore connects to MongoDB when a URI is configured, and otherwise
// starts the embedded store in the data directory. It migrates either way,
// so every command sees the collections and indexes it expects.
func openStore(ctx context.Context, cfg *config, logger *slog.Logger, opts store.Options) (*openedStore, error) {
	opts.ServerSelectionTimeout = cfg.StoreTimeout
	o := &openedStore{}
	uri := cfg.MongoURI
	if uri == "" {
		srv, err := embedded.Start(ctx, cfg.DataDir, logger)
		if err != nil {
			return nil, err
		}
		o.embedded = srv
		uri = srv.URI()
		logger.Info("using the embedded store (FerretDB v1, SQLite): for development, tests, demos and small installs; set MONGODB_URI to use MongoDB",
			"data", cfg.DataDir, "database", cfg.Database)
	} else {
		logger.Info("using MongoDB", "database", cfg.Database)
	}
	s, err := store.Open(ctx, uri, cfg.Database, opts)
	if err != nil {
		o.closeEmbedded(ctx)
		return nil, err
	}
	o.Store = s
	if err := o.migrate(ctx); err != nil {
		_ = o.Close(ctx)
		return nil, err
	}
	return o, nil
}

func (o *openedStore) migrate(ctx context.Context) error {
	if err := o.Store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if o.embedded != nil {
		if err := o.embedded.Accelerate(ctx, o.Database()); err != nil {
			return fmt.Errorf("index the embedded store: %w", err)
		}
	}
	return nil
}

// backend names the kind of store, for the store info metric.
func (o *openedStore) backend() string {
	if o.embedded != nil {
		return "embedded"
	}
	return "mongodb"
}

// Close disconnects and, for the embedded store, stops it.
func (o *openedStore) Close(ctx context.Context) error {
	err := o.Store.Close(ctx)
	return errors.Join(err, o.closeEmbedded(ctx))
}

func (o *openedStore) closeEmbedded(ctx context.Context) error {
	if o.embedded == nil {
		return nil
	}
	return o.embedded.Close(ctx)
}

// openForCommand makes a command's logger and opens its store.
func openForCommand(ctx context.Context, cfg *config, logOut io.Writer, opts store.Options) (*slog.Logger, *openedStore, error) {
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
