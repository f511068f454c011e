package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// counter is a counters document: the last id handed out in a collection.
type counter struct {
	ID  string `bson:"_id"`
	Seq int64  `bson:"seq"`
}

// nextIDs reserves n consecutive ids for a collection and returns the first.
// One atomic $inc on the collection's counter document serves any number of
// gateways, on either engine: no two ever get the same id.
func (s *Store) nextIDs(ctx context.Context, collection string, n int) (ID, error) {
	var doc counter
	var err error
	// Two first-ever upserts of a counter can race to insert it; the loser
	// gets a duplicate-key error and simply increments the winner's document.
	for range 3 {
		err = s.Collection(colCounters).FindOneAndUpdate(ctx, byID(collection),
			bson.D{{Key: "$inc", Value: bson.D{{Key: "seq", Value: int64(n)}}}},
			docdb.ModifyOptions{Upsert: true}, &doc)
		if !isDuplicateKey(err) {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("next %s id: %w", collection, err)
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
		_, err = s.Collection(colCounters).UpdateOne(ctx, byID(counter),
			bson.D{{Key: "$max", Value: bson.D{{Key: "seq", Value: n}}}}, true)
		if !isDuplicateKey(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("move the %s counter to %d: %w", counter, n, err)
	}
	return nil
}

// nextID reserves one id for a collection.
func (s *Store) nextID(ctx context.Context, collection string) (ID, error) {
	return s.nextIDs(ctx, collection, 1)
}

// insertWithNewID inserts the document build makes for a new id, and
// returns that id. Should the id be taken already (a counter behind its
// collection, as a restore of an older backup or an import leaves it), it
// takes the next one: ids are never reused, and nothing is overwritten.
func (s *Store) insertWithNewID(ctx context.Context, collection string, build func(ID) any) (ID, error) {
	coll := s.Collection(collection)
	for range maxIDAttempts {
		id, err := s.nextID(ctx, collection)
		if err != nil {
			return 0, err
		}
		_, err = coll.Insert(ctx, build(id))
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
	}
	return 0, fmt.Errorf("insert into %s: no free id after %d attempts", collection, maxIDAttempts)
}

const maxIDAttempts = 20

// idOnly is the projection of reads that need only ids.
var idOnly = bson.D{{Key: "_id", Value: 1}}

// idTaken tells whether coll holds a document with this id.
func (s *Store) idTaken(ctx context.Context, coll docdb.Collection, id ID) (bool, error) {
	var found bson.Raw
	err := coll.FindOne(ctx, byID(id), docdb.FindOptions{Projection: idOnly}, &found)
	if errors.Is(err, docdb.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check id %s in %s: %w", id, coll.Name(), err)
	}
	return true, nil
}
