package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// The embedded store never answers one update command of 100 statements,
// and stays stuck afterwards. bulkWrite must split such a write; if it did
// not, this test would hang until its deadline and every later command fail.
func TestBulkWriteOfHundredsIsChunked(t *testing.T) {
	s := storetest.Open(t, store.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	coll := s.CollectionForTest("chunk_probe")
	docs := make([]any, 260)
	for i := range docs {
		docs[i] = bson.D{{Key: "_id", Value: fmt.Sprintf("d%03d", i)}, {Key: "n", Value: 0}}
	}
	if err := store.InsertManyForTest(ctx, coll, docs); err != nil {
		t.Fatal(err)
	}
	models := make([]mongo.WriteModel, len(docs))
	for i := range docs {
		models[i] = mongo.NewUpdateOneModel().
			SetFilter(bson.D{{Key: "_id", Value: fmt.Sprintf("d%03d", i)}}).
			SetUpdate(bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}})
	}
	res, err := s.BulkWriteForTest(ctx, coll, models)
	if err != nil {
		t.Fatal(err)
	}
	if res.ModifiedCount != int64(len(docs)) {
		t.Errorf("modified %d, want %d", res.ModifiedCount, len(docs))
	}
	n, err := coll.CountDocuments(ctx, bson.D{{Key: "n", Value: 1}})
	if err != nil || n != int64(len(docs)) {
		t.Errorf("documents updated once: %d, %v", n, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("store stuck after the write: %v", err)
	}
}

// Concurrent multi-statement writes could exhaust the embedded store's
// connection pool (each statement holds a connection until its command
// ends) and hang it; the store runs them one at a time.
func TestConcurrentBulkWritesDoNotHang(t *testing.T) {
	s := storetest.Open(t, store.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	coll := s.CollectionForTest("concurrent_probe")
	const writers, each = 3, 60
	docs := make([]any, writers*each)
	for i := range docs {
		docs[i] = bson.D{{Key: "_id", Value: fmt.Sprintf("c%03d", i)}, {Key: "n", Value: 0}}
	}
	if err := store.InsertManyForTest(ctx, coll, docs); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			models := make([]mongo.WriteModel, each)
			for i := range models {
				models[i] = mongo.NewUpdateOneModel().
					SetFilter(bson.D{{Key: "_id", Value: fmt.Sprintf("c%03d", w*each+i)}}).
					SetUpdate(bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}})
			}
			_, err := s.BulkWriteForTest(ctx, coll, models)
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n, err := coll.CountDocuments(ctx, bson.D{{Key: "n", Value: 1}}); err != nil || n != writers*each {
		t.Errorf("updated %d, %v; want %d", n, err, writers*each)
	}
}
