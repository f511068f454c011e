// Package storetest gives tests the real store, on each engine in turn:
// Main runs a package's tests once on SQLite (a file per test under a
// temporary directory) and once on MongoDB (the server at MONGODB_URI when
// set, otherwise an in-process MongoDB-wire server, see package wire). Each
// test gets a database of its own, migrated as serve would.
//
// GATEHOUSE_TEST_ENGINES narrows the engines ("sqlite", "mongodb" or
// both, comma-separated; default both).
package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest/wire"
)

// Engine names.
const (
	SQLite  = "sqlite"
	MongoDB = "mongodb"
)

// current is the engine this pass of the tests runs on, set by Main.
var current struct {
	engine  string
	uri     string // MongoDB
	standIn bool   // MongoDB: the in-process stand-in, not a real server
	dir     string // SQLite: databases live here
	next    atomic.Int64
}

// Main runs a package's tests on each engine; call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

// NeedsRealMongo skips a test on the MongoDB-wire stand-in, saying why:
// for tests whose volume of writes the stand-in cannot carry in
// reasonable time (it scans a collection for every write by _id: a
// dispatcher's write per message turns a minute's test into ten). Against
// a real server, at MONGODB_URI, they run.
func NeedsRealMongo(tb testing.TB, why string) {
	tb.Helper()
	if current.engine == MongoDB && current.standIn {
		tb.Skipf("needs a real MongoDB server at MONGODB_URI, not the stand-in: %s", why)
	}
}

func run(m *testing.M) int {
	engines := strings.Split(os.Getenv("GATEHOUSE_TEST_ENGINES"), ",")
	if engines[0] == "" {
		engines = []string{SQLite, MongoDB}
	}
	code := 0
	for _, e := range engines {
		c, err := runOn(m, strings.TrimSpace(e))
		if err != nil {
			fmt.Fprintln(os.Stderr, "storetest:", err)
			return 1
		}
		if c != 0 {
			fmt.Fprintf(os.Stderr, "storetest: tests failed on the %s engine\n", e)
			code = c
		}
	}
	return code
}

func runOn(m *testing.M, engine string) (int, error) {
	dir, err := os.MkdirTemp("", "gatehouse-test-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	current.engine, current.dir, current.uri, current.standIn = engine, dir, "", false
	switch engine {
	case SQLite:
	case MongoDB:
		current.uri = os.Getenv("MONGODB_URI")
		if current.uri == "" {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			srv, err := wire.Start(ctx, filepath.Join(dir, "wire"))
			cancel()
			if err != nil {
				return 0, err
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = srv.Close(ctx)
			}()
			current.uri, current.standIn = srv.URI(), true
		}
	default:
		return 0, fmt.Errorf("unknown engine %q in GATEHOUSE_TEST_ENGINES", engine)
	}
	return m.Run(), nil
}

// Engine is the engine the tests run on now.
func Engine() string { return current.engine }

// Config is the store configuration of the named database on the current
// engine, as serve would be given it.
func Config(database string) store.Config {
	if current.engine == MongoDB {
		return store.Config{MongoURI: current.uri, Database: database}
	}
	return store.Config{DataDir: current.dir, Database: database}
}

// Env is Config as the environment of a gatehouse process.
func Env(database string) map[string]string {
	cfg := Config(database)
	if cfg.MongoURI != "" {
		return map[string]string{"MONGODB_URI": cfg.MongoURI, "GATEHOUSE_DATABASE": database}
	}
	return map[string]string{"MONGODB_URI": "", "GATEHOUSE_DATA": cfg.DataDir, "GATEHOUSE_DATABASE": database}
}

// NewDatabase names a database no other test uses.
func NewDatabase() string {
	return fmt.Sprintf("gh_test_%d_%d", os.Getpid(), current.next.Add(1))
}

// Open returns a store on a new, migrated database that is dropped when
// the test ends.
func Open(tb testing.TB, opts store.Options) *store.Store {
	tb.Helper()
	if current.engine == "" {
		tb.Fatal("storetest: call storetest.Main from TestMain")
	}
	s, err := OpenDatabase(context.Background(), NewDatabase(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Drop(ctx)
		_ = s.Close(ctx)
	})
	return s
}

// OpenDatabase opens and migrates a named database on the current engine,
// for tests that need two stores on one database (two gateways).
func OpenDatabase(ctx context.Context, name string, opts store.Options) (*store.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := store.Open(ctx, Config(name), opts)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		_ = s.Close(ctx)
		return nil, err
	}
	return s, nil
}

// OpenShared returns n stores on one new, migrated database, as n gateways
// on one database would have; the database is dropped when the test ends.
func OpenShared(tb testing.TB, n int) []*store.Store {
	tb.Helper()
	name := NewDatabase()
	stores := make([]*store.Store, n)
	for i := range stores {
		s, err := OpenDatabase(context.Background(), name, store.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		stores[i] = s
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = stores[0].Drop(ctx)
		for _, s := range stores {
			_ = s.Close(ctx)
		}
	})
	return stores
}
