// Package store keeps Gatehouse's data: users, roles, permissions and
// tokens; clients, tags, operator codes, mailings and messages; and the
// dispatcher's work queue, counters and throttles. One file per
// collection, integer ids from a counters collection, indexes declared
// once in migrate.go, and failures told as *fault.Error values: ErrNotFound,
// invalid input with Django's field messages, conflicts, ErrUnavailable.
//
// The domain is written once, over the storage port in package docdb,
// which has two engines: MongoDB (production) and SQLite (the embedded
// default). Queries keep to the subset both run natively, so the store
// uses no transactions, $lookup or aggregation beyond grouped counts.
package store

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/docdb/mongodb"
	"github.com/gatehouse/gatehouse/store/docdb/sqlite"
)

// Collection names.
const (
	colCounters    = "counters"
	colUsers       = "users"
	colTokens      = "tokens"
	colThrottle    = "signin_throttle"
	colPermissions = "permissions"
	colRoles       = "roles"
	colTags        = "tags"
	colCodes       = "operator_codes"
	colClients     = "clients"
	colMailings    = "mailings"
	colMessages    = "messages"
	colWork        = "dispatch_work"
	colClaims      = "dispatch_claims"
)

// Config chooses the engine: MongoDB when MongoURI is set, otherwise the
// SQLite file <DataDir>/<Database>.db.
type Config struct {
	MongoURI string
	DataDir  string
	Database string
	// Timeout bounds waits for a reachable MongoDB server, or for another
	// process's SQLite write. Default 5s.
	Timeout time.Duration
	// Synchronous is the SQLite durability setting (NORMAL or FULL).
	Synchronous sqlite.Synchronous
}

// Options tune a Store. The zero value is usable.
type Options struct {
	// Now is the clock; tests move it. Default time.Now.
	Now func() time.Time
	// Observer hears every operation sent (round-trip counting, metrics).
	Observer *docdb.Observer
}

// Store is the gateway's handle on its database. It is safe for concurrent
// use and holds no state beyond its engine's connections, so any number of
// gateways can share one database.
type Store struct {
	db  docdb.DB
	now func() time.Time
}

// Open opens the engine cfg names; it does not migrate.
func Open(ctx context.Context, cfg Config, opts Options) (*Store, error) {
	db, err := OpenEngine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return New(db, opts), nil
}

// OpenEngine opens the database cfg names, without a Store around it.
func OpenEngine(ctx context.Context, cfg Config) (docdb.DB, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MongoURI != "" {
		return mongodb.Open(ctx, cfg.MongoURI, cfg.Database, cfg.Timeout)
	}
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("open store: neither a MongoDB URI nor a data directory given")
	}
	return sqlite.Open(ctx, sqlite.Config{Dir: cfg.DataDir, Database: cfg.Database, Synchronous: cfg.Synchronous, BusyTimeout: 2 * cfg.Timeout})
}

// New wraps an open database; Close closes it.
func New(db docdb.DB, opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{db: docdb.Observe(db, opts.Observer), now: now}
}

// Engine names the engine beneath: "sqlite" or "mongodb".
func (s *Store) Engine() string { return s.db.Engine() }

// Database is the name of the database this store uses.
func (s *Store) Database() string { return s.db.Name() }

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.db.Ping(ctx)
}

// Close lets go of the database.
func (s *Store) Close(ctx context.Context) error {
	return s.db.Close(ctx)
}

// Drop removes every collection (tests use one database each).
func (s *Store) Drop(ctx context.Context) error {
	return s.db.Drop(ctx)
}

// nowUTC is the store's clock, truncated to what stored dates keep
// (milliseconds), so a value written and read back compares equal.
func (s *Store) nowUTC() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}

// Collection is one collection as the engine holds it: for the store's own
// files, for tools that move whole documents (gatehouse copy), and for
// tests that plant documents the gateway itself would never write.
func (s *Store) Collection(name string) docdb.Collection { return s.db.Collection(name) }
