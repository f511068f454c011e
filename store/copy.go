package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// Copying moves a whole database from one engine to another (a small
// install moving from its embedded file to MongoDB, or back). Each
// collection goes through the store's own document type, so every value
// keeps its type on the way: the SQLite engine hands dates back as
// milliseconds, which the type turns into dates again for MongoDB.

// copiers copies each collection, in the order of collections.
var copiers = map[string]func(ctx context.Context, from, to docdb.Collection) (int, error){
	colCounters:    copyAs[counter],
	colUsers:       copyAs[userDoc],
	colTokens:      copyAs[Token],
	colThrottle:    copyAs[throttleDoc],
	colPermissions: copyAs[Permission],
	colRoles:       copyAs[roleDoc],
	colTags:        copyAs[Tag],
	colCodes:       copyAs[OperatorCode],
	colClients:     copyAs[Client],
	colMailings:    copyAs[Mailing],
	colMessages:    copyAs[Message],
	colWork:        copyAs[Work],
	colClaims:      copyAs[claim],
}

// copyBatch is how many documents one read and one write carry.
const copyBatch = 1000

// CopyReport is what Copy did to one collection.
type CopyReport struct {
	Collection string
	Copied     int
	// Source and Target count the collection's documents at the end; they
	// differ only when something wrote to either during the copy.
	Source, Target int64
}

// ErrTargetNotEmpty is returned by Copy when the target holds data and
// replacing it was not asked for.
var ErrTargetNotEmpty = fmt.Errorf("the target database is not empty")

// Copy copies every collection of from into to, creating its collections
// and indexes first. A target that holds any document is refused unless
// replace is set, which empties it first. done, when set, hears of each
// collection as it is finished.
func Copy(ctx context.Context, from, to docdb.DB, replace bool, done func(CopyReport)) ([]CopyReport, error) {
	for _, spec := range collections {
		n, err := to.Collection(spec.Name).Count(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("count %s in the target: %w", spec.Name, err)
		}
		if n == 0 {
			continue
		}
		if !replace {
			return nil, fmt.Errorf("%w: %s holds %d documents", ErrTargetNotEmpty, spec.Name, n)
		}
		if _, err := to.Collection(spec.Name).DeleteMany(ctx, nil); err != nil {
			return nil, fmt.Errorf("empty %s in the target: %w", spec.Name, err)
		}
	}
	if err := to.Prepare(ctx, collections); err != nil {
		return nil, fmt.Errorf("prepare the target: %w", err)
	}
	var reports []CopyReport
	for _, spec := range collections {
		r := CopyReport{Collection: spec.Name}
		var err error
		r.Copied, err = copiers[spec.Name](ctx, from.Collection(spec.Name), to.Collection(spec.Name))
		if err != nil {
			return reports, fmt.Errorf("copy %s: %w", spec.Name, err)
		}
		if r.Source, err = from.Collection(spec.Name).Count(ctx, nil); err != nil {
			return reports, err
		}
		if r.Target, err = to.Collection(spec.Name).Count(ctx, nil); err != nil {
			return reports, err
		}
		reports = append(reports, r)
		if done != nil {
			done(r)
		}
	}
	return reports, nil
}

// copyAs copies a collection in _id order, a batch at a time, each batch
// read after the last _id of the one before (no skipping over what was
// read already).
func copyAs[T any](ctx context.Context, from, to docdb.Collection) (int, error) {
	copied := 0
	var after any
	for {
		filter := bson.D{}
		if after != nil {
			filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}
		}
		var raws []bson.Raw
		if err := from.Find(ctx, filter, docdb.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}, Limit: copyBatch}, &raws); err != nil {
			return copied, err
		}
		if len(raws) == 0 {
			return copied, nil
		}
		docs := make([]any, len(raws))
		for i, raw := range raws {
			var doc T
			if err := bson.Unmarshal(raw, &doc); err != nil {
				return copied, fmt.Errorf("decode %s: %w", raw.Lookup("_id"), err)
			}
			docs[i] = doc
		}
		if _, err := to.Insert(ctx, docs...); err != nil {
			return copied, err
		}
		copied += len(docs)
		last := raws[len(raws)-1].Lookup("_id")
		switch last.Type {
		case bson.TypeString:
			after = last.StringValue()
		case bson.TypeInt64:
			after = last.Int64()
		case bson.TypeInt32:
			after = last.Int32()
		default:
			return copied, fmt.Errorf("an _id of type %s", last.Type)
		}
		if len(raws) < copyBatch {
			return copied, nil
		}
	}
}
