package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// nextIDs reserves n consecutive ids for a collection and returns the first.
// One atomic $inc on the collection's counter document serves any number of
// gateways: no two ever get the same id.
func (s *Store) nextIDs(ctx context.Context, collection string, n int) (ID, error) {
	var doc struct {
		Seq int64 `bson:"seq"`
	}
	var err error
	// Two first-ever upserts of a counter can race to insert it; the loser
	// gets a duplicate-key error and simply increments the winner's document.
	for range 3 {
		err = s.db.Collection(colCounters).FindOneAndUpdate(ctx,
			bson.D{{Key: "_id", Value: collection}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "seq", Value: int64(n)}}}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
		).Decode(&doc)
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("next %s id: %w", collection, classify(err))
	}
	return ID(doc.Seq - int64(n) + 1), nil
}

// personCounter numbers users' person records: a sequence of its own, as
// the legacy accounts service kept a person beside each user, and imported
// users keep the person ids they had.
const personCounter = "persons"

// counterAtLeast moves a counter up to at least n (never down), so that it
// never hands out an id that imported records already hold.
func (s *Store) counterAtLeast(ctx context.Context, counter string, n int64) error {
	var err error
	// As in nextIDs, the loser of two first-ever upserts tries again.
	for range 3 {
		_, err = s.db.Collection(colCounters).UpdateOne(ctx, bson.D{{Key: "_id", Value: counter}},
			bson.D{{Key: "$max", Value: bson.D{{Key: "seq", Value: n}}}},
			options.UpdateOne().SetUpsert(true))
		if !isDuplicateKey(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("move the %s counter to %d: %w", counter, n, classify(err))
	}
	return nil
}

// nextID reserves one id for a collection.
func (s *Store) nextID(ctx context.Context, collection string) (ID, error) {
	return s.nextIDs(ctx, collection, 1)
}

// insertWithNewID inserts the document build makes for a new id, and
// returns that id.
//
// On MongoDB the counter never hands out an id twice. The embedded store's
// findAndModify is not atomic, though: concurrent callers can read the same
// counter value and get the same id. Its unique _id index is atomic, so a
// caller whose insert collides on _id takes another id and tries again.
func (s *Store) insertWithNewID(ctx context.Context, collection string, build func(ID) any) (ID, error) {
	id, err := s.nextID(ctx, collection)
	if err != nil {
		return 0, err
	}
	return s.insertFrom(ctx, collection, id, build, nil)
}

// insertFrom is insertWithNewID from an id the caller already reserved;
// moved, when set, hears of each move to another id before the insert
// under it (a claim made for the first id follows the document).
func (s *Store) insertFrom(ctx context.Context, collection string, id ID, build func(ID) any, moved func(to ID) error) (ID, error) {
	coll := s.db.Collection(collection)
	for range maxIDAttempts {
		_, err := coll.InsertOne(ctx, build(id))
		if err == nil || !isDuplicateKey(err) {
			return id, err
		}
		taken, lookupErr := s.idTaken(ctx, coll, id)
		if lookupErr != nil {
			return id, lookupErr
		}
		if !taken {
			return id, err // another unique field collided: the caller names it
		}
		next, err := s.nextID(ctx, collection)
		if err != nil {
			return id, err
		}
		if moved != nil {
			if err := moved(next); err != nil {
				return id, err
			}
		}
		id = next
	}
	return id, fmt.Errorf("insert into %s: no free id after %d attempts", collection, maxIDAttempts)
}

const maxIDAttempts = 20

func (s *Store) idTaken(ctx context.Context, coll *mongo.Collection, id ID) (bool, error) {
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check id %s in %s: %w", id, coll.Name(), classify(err))
	}
	return true, nil
}
