// Package store keeps Gatehouse's data in MongoDB (or the embedded,
// MongoDB-compatible store): one file per collection, integer ids from a
// counters collection, indexes created by Migrate, and errors callers can
// act on (ErrNotFound, *ValidationError, ErrUnavailable).
//
// Everything here works the same on MongoDB and on the embedded store, so it
// uses no transactions, $lookup, $facet, TTL or partial indexes.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
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
	colUsernames   = "usernames"
)

// Options tune a Store. The zero value is usable.
type Options struct {
	// Now is the clock; tests move it. Default time.Now.
	Now func() time.Time
	// Monitor observes every command sent (round-trip counting, metrics).
	Monitor *event.CommandMonitor
	// ServerSelectionTimeout bounds how long an operation waits for a
	// reachable server. Default 5s.
	ServerSelectionTimeout time.Duration
}

// Store is the gateway's handle on its database. It is safe for concurrent
// use and holds no state beyond the driver's connection pool, so any number
// of gateways can share one database.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	now    func() time.Time
	owned  bool
	// bulkSlot lets one multi-statement write run at a time (see bulkWrite).
	bulkSlot chan struct{}
}

// Open connects to the MongoDB server at uri and checks that it answers.
func Open(ctx context.Context, uri, database string, opts Options) (*Store, error) {
	if opts.ServerSelectionTimeout <= 0 {
		opts.ServerSelectionTimeout = 5 * time.Second
	}
	co := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(opts.ServerSelectionTimeout).
		SetConnectTimeout(opts.ServerSelectionTimeout).
		SetAppName("gatehouse")
	if opts.Monitor != nil {
		co.SetMonitor(opts.Monitor)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("connect to store: %w", err)
	}
	s := New(client, database, opts)
	s.owned = true
	pingCtx, cancel := context.WithTimeout(ctx, opts.ServerSelectionTimeout)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

// New wraps a connected client; the caller keeps ownership of it.
func New(client *mongo.Client, database string, opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{client: client, db: client.Database(database), now: now, bulkSlot: make(chan struct{}, 1)}
}

// Database is the name of the database this store uses.
func (s *Store) Database() string { return s.db.Name() }

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("ping store: %w", classify(err))
	}
	return nil
}

// Close disconnects, if this Store opened the connection.
func (s *Store) Close(ctx context.Context) error {
	if !s.owned {
		return nil
	}
	return s.client.Disconnect(ctx)
}

// Drop removes the whole database (tests use one database each).
func (s *Store) Drop(ctx context.Context) error {
	return s.db.Drop(ctx)
}

// nowUTC is the store's clock, truncated to what BSON dates keep
// (milliseconds), so a value written and read back compares equal.
func (s *Store) nowUTC() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}

// classify marks errors that mean "the store could not be reached in time"
// with ErrUnavailable, keeping the cause for logs.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
		return err
	}
	if mongo.IsTimeout(err) || mongo.IsNetworkError(err) ||
		errors.Is(err, mongo.ErrClientDisconnected) ||
		errors.Is(err, context.DeadlineExceeded) ||
		isServerSelection(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func isServerSelection(err error) bool {
	var sse topology.ServerSelectionError
	return errors.As(err, &sse)
}
