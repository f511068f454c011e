// Package wire starts an in-process MongoDB-wire server for tests of the
// MongoDB engine, where no MongoDB server can be run: FerretDB v1 on its
// SQLite backend. It is a test dependency only; no Gatehouse binary links
// it. With MONGODB_URI set, the tests use that server instead.
//
// FerretDB v1 answers the queries the store sends, slowly (it filters in
// Go), and has one hazard the MongoDB engine respects: an update command of
// 100 or more statements never completes, so the engine sends bulk writes
// in commands of 50, and the stand-in's clients send one command at a time
// (see directURI).
package wire

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Server is a running FerretDB.
type Server struct {
	uri  string
	stop context.CancelFunc
	done chan struct{}
}

// Start runs FerretDB with its files in dir and waits until it answers.
func Start(ctx context.Context, dir string) (*Server, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, err
	}
	fdb, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, fmt.Errorf("start FerretDB in %s: %w", abs, err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{uri: directURI(fdb.MongoDBURI()), stop: stop, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = fdb.Run(runCtx)
	}()
	if err := ping(ctx, s.uri); err != nil {
		_ = s.Close(context.Background())
		return nil, fmt.Errorf("start FerretDB in %s: %w", abs, err)
	}
	return s, nil
}

// URI is the mongodb:// URI the driver connects to.
func (s *Server) URI() string { return s.uri }

// Close stops the server, waiting for it at most until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	s.stop()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// directURI tells the driver that the server is one server, not a replica
// set whose other members it should look for, and to send it one command
// at a time per client. FerretDB keeps a connection of a database's SQLite
// pool (100) open for each statement of an update command until the
// command ends, and needs one more to apply each: two bulk writes of 50
// statements sent at once to one database can take the whole pool and
// then wait for each other for good (a dispatcher finalising several
// chunks at once did).
func directURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	q := u.Query()
	q.Set("directConnection", "true")
	q.Set("maxPoolSize", "1")
	u.RawQuery = q.Encode()
	return u.String()
}

func ping(ctx context.Context, uri string) error {
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(dctx)
	}()
	return client.Ping(ctx, nil)
}
