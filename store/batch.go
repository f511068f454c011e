package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Every multi-document write goes through these helpers, which bound the
// statements per command. The embedded store never answers an update command
// of 100 statements and stays stuck afterwards (notes/embedded-store.md), and
// on MongoDB smaller commands keep any one write short.
const (
	maxWriteStatements = 50
	maxInsertBatch     = 500
)

// bulkWrite sends models in unordered commands of at most
// maxWriteStatements each, one command at a time per Store, and adds up the
// results. The embedded store holds a connection per statement until its
// command ends, from a pool of 100 per database: two commands of 50 at once
// can exhaust it, so they wait for each other here.
func (s *Store) bulkWrite(ctx context.Context, coll *mongo.Collection, models []mongo.WriteModel) (*mongo.BulkWriteResult, error) {
	select {
	case s.bulkSlot <- struct{}{}:
		defer func() { <-s.bulkSlot }()
	case <-ctx.Done():
		return nil, fmt.Errorf("bulk write %s: %w", coll.Name(), ctx.Err())
	}
	total := &mongo.BulkWriteResult{}
	for start := 0; start < len(models); start += maxWriteStatements {
		end := min(start+maxWriteStatements, len(models))
		res, err := coll.BulkWrite(ctx, models[start:end], options.BulkWrite().SetOrdered(false))
		if res != nil {
			total.InsertedCount += res.InsertedCount
			total.MatchedCount += res.MatchedCount
			total.ModifiedCount += res.ModifiedCount
			total.DeletedCount += res.DeletedCount
			total.UpsertedCount += res.UpsertedCount
		}
		if err != nil {
			return total, fmt.Errorf("bulk write %s [%d:%d]: %w", coll.Name(), start, end, classify(err))
		}
	}
	return total, nil
}

// insertMany inserts docs in unordered batches of at most maxInsertBatch.
func insertMany[T any](ctx context.Context, coll *mongo.Collection, docs []T) error {
	for start := 0; start < len(docs); start += maxInsertBatch {
		end := min(start+maxInsertBatch, len(docs))
		batch := make([]any, 0, end-start)
		for i := start; i < end; i++ {
			batch = append(batch, docs[i])
		}
		if _, err := coll.InsertMany(ctx, batch, options.InsertMany().SetOrdered(false)); err != nil {
			return fmt.Errorf("insert into %s [%d:%d]: %w", coll.Name(), start, end, classify(err))
		}
	}
	return nil
}
