// Package storetest gives tests the real store: the MongoDB server at
// MONGODB_URI when that is set, otherwise one embedded store per test binary,
// started by Main. Each test gets a database of its own, migrated as serve
// would, and dropped when the test ends.
package storetest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/embedded"
)

// server is the store every test of this binary uses, set by Main.
var server struct {
	uri      string
	embedded *embedded.Server
	next     atomic.Int64
}

// Main runs a package's tests against one store; call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	server.uri = os.Getenv("MONGODB_URI")
	if server.uri == "" {
		dir, err := os.MkdirTemp("", "gatehouse-test-*")
		if err != nil {
			fmt.Fprintln(os.Stderr, "storetest:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		srv, err := embedded.Start(ctx, dir, nil)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "storetest: start embedded store:", err)
			return 1
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = srv.Close(ctx)
		}()
		server.uri, server.embedded = srv.URI(), srv
	}
	return m.Run()
}

// URI is the store's connection URI.
func URI() string { return server.uri }

// Embedded is the embedded store, or nil when the tests run on MongoDB.
func Embedded() *embedded.Server { return server.embedded }

// Open returns a store on a new, migrated database that is dropped when
// the test ends.
func Open(tb testing.TB, opts store.Options) *store.Store {
	tb.Helper()
	if server.uri == "" {
		tb.Fatal("storetest: call storetest.Main from TestMain")
	}
	name := fmt.Sprintf("gh_test_%d_%d", os.Getpid(), server.next.Add(1))
	s, err := OpenDatabase(context.Background(), name, opts)
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

// OpenDatabase opens and migrates a named database on the test store, for
// tests that need two stores on one database (two gateways).
func OpenDatabase(ctx context.Context, name string, opts store.Options) (*store.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := store.Open(ctx, server.uri, name, opts)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	if server.embedded != nil {
		if err := server.embedded.Accelerate(ctx, name); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// OpenShared returns n stores on one new, migrated database, as n gateways
// on one database would have; the database is dropped when the test ends.
func OpenShared(tb testing.TB, n int) []*store.Store {
	tb.Helper()
	name := fmt.Sprintf("gh_shared_%d_%d", os.Getpid(), server.next.Add(1))
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
