package store

import "go.mongodb.org/mongo-driver/v2/mongo"

// Hooks for the external tests of unexported helpers.

func (s *Store) CollectionForTest(name string) *mongo.Collection { return s.db.Collection(name) }

var (
	BulkWriteForTest  = bulkWrite
	InsertManyForTest = insertMany[any]
)
