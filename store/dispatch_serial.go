package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The dispatcher writes from many goroutines at once (sends finishing,
// leases extended, a mailing's messages created). The embedded store lets
// one SQLite transaction write at a time and makes the others retry after
// sleeps that grow to 100ms, so concurrent writers there are far slower
// than the same writes in a row (two dispatchers on one database ran at
// half the speed of one). Its writes therefore take the store's write slot,
// the one bulkWrite takes: one write command at a time per Store. On
// MongoDB this caps a dispatcher at its round-trip rate, which is far above
// what its senders need.

// serialColl writes to a collection one command at a time per Store.
type serialColl struct {
	s    *Store
	coll *mongo.Collection
}

func (s *Store) serial(coll *mongo.Collection) serialColl { return serialColl{s: s, coll: coll} }

func (w serialColl) take(ctx context.Context) (func(), error) {
	select {
	case w.s.bulkSlot <- struct{}{}:
		return func() { <-w.s.bulkSlot }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("write %s: %w", w.coll.Name(), ctx.Err())
	}
}

func (w serialColl) InsertOne(ctx context.Context, doc any) (*mongo.InsertOneResult, error) {
	done, err := w.take(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return w.coll.InsertOne(ctx, doc)
}

func (w serialColl) InsertMany(ctx context.Context, docs []any, opts ...options.Lister[options.InsertManyOptions]) (*mongo.InsertManyResult, error) {
	done, err := w.take(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return w.coll.InsertMany(ctx, docs, opts...)
}

func (w serialColl) UpdateOne(ctx context.Context, filter, update any) (*mongo.UpdateResult, error) {
	done, err := w.take(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return w.coll.UpdateOne(ctx, filter, update)
}

func (w serialColl) DeleteOne(ctx context.Context, filter any) (*mongo.DeleteResult, error) {
	done, err := w.take(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return w.coll.DeleteOne(ctx, filter)
}
