package store

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Hooks for the external tests of unexported helpers.

func (s *Store) CollectionForTest(name string) *mongo.Collection { return s.db.Collection(name) }

var InsertManyForTest = insertMany[any]

func (s *Store) BulkWriteForTest(ctx context.Context, coll *mongo.Collection, models []mongo.WriteModel) (*mongo.BulkWriteResult, error) {
	return s.bulkWrite(ctx, coll, models)
}
