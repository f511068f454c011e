// Package embedded runs the store Gatehouse uses when no MongoDB is
// configured: FerretDB v1 in the same process, on its SQLite backend, with
// one SQLite file per database under a data directory. The gateway talks to
// it through the official MongoDB driver, exactly as it talks to MongoDB; only
// the URI differs.
//
// The store has known gaps and is slow on large collections (see
// shared/notes/embedded-store.md); [Server.Accelerate] removes the worst of
// the slowness for lookups by string _id.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// stopGrace bounds how long Start waits for FerretDB to stop when it fails
// after FerretDB was constructed. With no client connected FerretDB stops at
// once; a client still connected is given 3 seconds by FerretDB itself.
const stopGrace = 5 * time.Second

// Server is a running embedded store. It is safe for concurrent use.
type Server struct {
	dir    string
	uri    string
	stop   context.CancelFunc // cancels FerretDB's Run
	done   chan struct{}      // closed when Run has returned
	logger *slog.Logger
}

// Start starts an embedded store that keeps its data in dir, creating dir
// (mode 0700) if needed, and returns once the store answers a ping through
// the driver. ctx bounds the start only: the store runs until [Server.Close].
//
// FerretDB logs through a logger derived from logger (nil discards) that
// lets only warnings and errors through and drops the records that can
// quote documents; see quietHandler.
func Start(ctx context.Context, dir string, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	if dir == "" {
		return nil, errors.New("start embedded store: no data directory given")
	}

	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("start embedded store in %q: %w", dir, err)
	}

	// FerretDB and SQLite take the directory as a "file:" URI, unescaped:
	// these characters would cut or garble the path.
	if strings.ContainsAny(abs, "?#%") {
		return nil, fmt.Errorf("start embedded store in %q: the path must not contain '?', '#' or '%%'", abs)
	}

	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("start embedded store: create data directory: %w", err)
	}

	// FerretDB only checks that the directory exists; a directory it cannot
	// write to would fail later, at the first write to a new database.
	if err := checkWritable(abs); err != nil {
		return nil, fmt.Errorf("start embedded store: data directory %s is not writable: %w", abs, err)
	}

	fdb, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
		Logger:    slog.New(newQuietHandler(logger.With(slog.String("component", "ferretdb")).Handler())),
	})
	if err != nil {
		return nil, fmt.Errorf("start embedded store in %s: %w", abs, err)
	}

	// Run must outlive ctx, which bounds only the start; keep its values.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{
		dir:    abs,
		uri:    driverURI(fdb.MongoDBURI()), // the listener exists since New, so this does not block
		stop:   stop,
		done:   make(chan struct{}),
		logger: logger,
	}

	go func() {
		defer close(s.done)
		_ = fdb.Run(runCtx) // always nil: Run returns when runCtx is canceled
	}()

	if err := ping(ctx, s.uri); err != nil {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
		defer cancel()
		_ = s.Close(closeCtx)

		return nil, fmt.Errorf("start embedded store in %s: wait for it to answer: %w", abs, err)
	}

	logger.DebugContext(ctx, "embedded store started", slog.String("dir", abs), slog.String("uri", s.uri))

	return s, nil
}

// URI returns the mongodb:// URI the driver connects to, for example
// "mongodb://127.0.0.1:40123/?directConnection=true".
func (s *Server) URI() string { return s.uri }

// Dir returns the absolute path of the data directory.
func (s *Server) Dir() string { return s.dir }

// Close stops the store and waits, bounded by ctx, until FerretDB has closed
// its listener, its connections and its SQLite files. Clients still
// connected are given 3 seconds by FerretDB before their connections are
// cut, so disconnect them first for a prompt close. Close may be called more
// than once; it returns nil once the store has stopped, and ctx's error if
// ctx ends first (the store then finishes stopping in the background).
func (s *Server) Close(ctx context.Context) error {
	s.stop()

	select {
	case <-s.done:
		return nil
	default:
	}

	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close embedded store in %s: %w", s.dir, context.Cause(ctx))
	}
}

// driverURI adds directConnection=true to FerretDB's URI: the store is one
// server, not a replica set, and the driver should neither discover nor
// wait for other members.
func driverURI(ferretURI string) string {
	u, err := url.Parse(ferretURI)
	if err != nil {
		return ferretURI // not reached: FerretDB builds it with net/url
	}

	q := u.Query()
	q.Set("directConnection", "true")
	u.RawQuery = q.Encode()

	return u.String()
}

// ping connects to uri with the driver and pings the server, bounded by ctx.
func ping(ctx context.Context, uri string) error {
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}

	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
		defer cancel()
		_ = client.Disconnect(dctx)
	}()

	if err := client.Ping(ctx, nil); err != nil {
		return fmt.Errorf("ping: %w", err)
	}

	return nil
}

// checkWritable creates and removes a file in dir.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".gatehouse-write-check-*")
	if err != nil {
		return err
	}

	name := f.Name()
	err = f.Close()
	if rmErr := os.Remove(name); err == nil {
		err = rmErr
	}

	return err
}
