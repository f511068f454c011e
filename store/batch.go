package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// Every multi-document write goes through these helpers. On SQLite a bulk
// commits as one transaction; on MongoDB the engine sends it in commands of
// bounded size.

// bulkWrite runs writes unordered and adds up their results.
func (s *Store) bulkWrite(ctx context.Context, coll docdb.Collection, writes []docdb.Write) (docdb.BulkResult, error) {
	res, err := coll.Bulk(ctx, writes)
	if err != nil {
		return res, fmt.Errorf("bulk write %s: %w", coll.Name(), err)
	}
	return res, nil
}

// insertMany inserts docs, unordered; a duplicate fails the call after the
// others are in.
func insertMany[T any](ctx context.Context, coll docdb.Collection, docs []T) error {
	batch := make([]any, len(docs))
	for i := range docs {
		batch[i] = docs[i]
	}
	if _, err := coll.Insert(ctx, batch...); err != nil {
		return fmt.Errorf("insert into %s: %w", coll.Name(), err)
	}
	return nil
}

// byID is the filter of one document.
func byID(id any) bson.D { return bson.D{{Key: "_id", Value: id}} }
