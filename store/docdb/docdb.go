// Package docdb is the storage port beneath package store: named
// collections of documents, read and written with a small subset of
// MongoDB's query language, over two engines.
//
//   - mongodb: the official driver against a MongoDB server (production,
//     replica sets, sharded clusters).
//   - sqlite: an embedded SQLite database in one file (the zero-setup
//     default), which compiles every filter, sort and count to SQL.
//
// Documents are Go values with bson tags, as the MongoDB driver takes them.
// Filters, updates, sorts and projections are bson.D values; the subset an
// engine must understand is listed on [Collection]. Anything outside it is
// an error, never a silent misreading, so a query the SQLite engine cannot
// run in SQL fails its tests instead of scanning in Go.
package docdb

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/fault"
)

// DB is one database of an engine.
type DB interface {
	// Collection returns a handle on a collection; it costs nothing.
	Collection(name string) Collection
	// Prepare creates the collections and indexes declared in specs, and
	// leaves any that exist as they are. Safe to run from several
	// processes at once.
	Prepare(ctx context.Context, specs []CollectionSpec) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Drop removes every collection (tests use a database each).
	Drop(ctx context.Context) error
	// Close lets go of connections and files.
	Close(ctx context.Context) error
	// Engine names the engine: "sqlite" or "mongodb".
	Engine() string
	// Name is the database's name.
	Name() string
}

// CollectionSpec declares a collection: its indexes, and which of its
// fields hold arrays (an equality on an array field matches any element,
// which the SQLite engine has to know to write the right SQL).
type CollectionSpec struct {
	Name    string
	Indexes []Index
	Arrays  []string
	// Search names the text fields that a case-insensitive substring
	// search reads together (an $or of the same "contains" on each, as
	// Django's SearchFilter asks). An engine may index them for it; the
	// answers are the same either way.
	Search []string
}

// Index is an index on one or more fields, ascending. Unique indexes turn a
// second document with the same values into ErrDuplicate.
type Index struct {
	Name   string
	Fields []string
	Unique bool
	// Sparse leaves out of a unique index the documents that lack its
	// field, so that any number of them may lack it: MongoDB would
	// otherwise index each as null and refuse the second (and refuse to
	// build the index over a collection already holding two). SQLite's
	// unique indexes never find two NULLs equal, so there it changes
	// nothing.
	Sparse bool
}

// FindOptions shape a read. Sort and Projection are bson.D as in MongoDB:
// {field: 1 or -1} and {field: 0} (exclude) or {field: 1} (include).
type FindOptions struct {
	Sort       bson.D
	Skip       int64
	Limit      int64
	Projection bson.D
}

// ModifyOptions shape FindOneAndUpdate.
type ModifyOptions struct {
	Sort   bson.D
	Upsert bool
	// Before returns the document as it was before the update; by default
	// the updated document is returned.
	Before bool
}

// UpdateResult counts what an update matched and changed.
type UpdateResult struct {
	Matched  int64
	Modified int64
	Upserted int64
}

// Write is one statement of a bulk write: an update (Filter, Update,
// Upsert) or, when Delete is set, a delete of the first match of Filter.
type Write struct {
	Filter bson.D
	Update bson.D
	Upsert bool
	Delete bool
}

// BulkResult adds up a bulk write.
type BulkResult struct {
	Matched  int64
	Modified int64
	Upserted int64
	Deleted  int64
}

// Group is one group of CountBy: the values of the grouped fields, in the
// order they were named, and how many documents hold them.
type Group struct {
	Keys []bson.RawValue
	N    int64
}

// Collection is a named set of documents with a unique _id each.
//
// Filters understand: {field: value} (on an array field: any element
// equals), {field: {$eq|$ne|$gt|$gte|$lt|$lte: value}}, $in and $nin with
// an array, {$regex: pattern, $options: "i" or ""}, and the top-level
// $and, $or and $nor of filters. A null value matches a missing field.
// Fields may be dotted paths. Updates understand $set, $unset, $inc, $max,
// $min, $setOnInsert (upserts only), $addToSet with or without $each,
// $pull of a value or {$in: [...]}, and $pullAll.
type Collection interface {
	Name() string
	// Find decodes every match into out, a pointer to a slice.
	Find(ctx context.Context, filter bson.D, opts FindOptions, out any) error
	// FindOne decodes the first match into out. Errors: ErrNotFound.
	FindOne(ctx context.Context, filter bson.D, opts FindOptions, out any) error
	// Count counts the matches.
	Count(ctx context.Context, filter bson.D) (int64, error)
	// CountBy counts the matches grouped by the values of fields.
	CountBy(ctx context.Context, filter bson.D, fields ...string) ([]Group, error)
	// Insert inserts docs, unordered: a document refused for a duplicate
	// key does not stop the others. It returns how many were inserted; when
	// some were refused for duplicate keys only, the error is a
	// *DuplicateKeyError counting them.
	Insert(ctx context.Context, docs ...any) (int, error)
	// UpdateOne updates the first match; with upsert and no match it
	// inserts the document the filter's equalities and the update make.
	UpdateOne(ctx context.Context, filter, update bson.D, upsert bool) (UpdateResult, error)
	// UpdateMany updates every match.
	UpdateMany(ctx context.Context, filter, update bson.D) (UpdateResult, error)
	// FindOneAndUpdate updates the first match (in Sort order) atomically
	// and decodes it into out. Errors: ErrNotFound when nothing matched and
	// no document was upserted.
	FindOneAndUpdate(ctx context.Context, filter, update bson.D, opts ModifyOptions, out any) error
	// FindOneAndDelete deletes the first match and decodes it into out.
	// Errors: ErrNotFound.
	FindOneAndDelete(ctx context.Context, filter bson.D, out any) error
	// DeleteOne deletes the first match and tells how many it deleted.
	DeleteOne(ctx context.Context, filter bson.D) (int64, error)
	// DeleteMany deletes every match.
	DeleteMany(ctx context.Context, filter bson.D) (int64, error)
	// Bulk runs writes unordered and adds up their results. On SQLite they
	// commit together; on MongoDB in commands of bounded size.
	Bulk(ctx context.Context, writes []Write) (BulkResult, error)
}

var (
	// ErrNotFound: no document matched.
	ErrNotFound = errors.New("no document matched")
	// ErrDuplicate: a unique index refused a write. *DuplicateKeyError is it.
	ErrDuplicate = errors.New("duplicate key")
	// ErrUnavailable: the database could not be reached or did not answer
	// in time; the operation may be retried.
	ErrUnavailable error = fault.New(fault.Unavailable, "store unavailable")
	// ErrUnsupported: a filter or update outside the subset engines share.
	ErrUnsupported = errors.New("unsupported query")
)

// DuplicateKeyError is a write refused by a unique index.
type DuplicateKeyError struct {
	// Index names the index, where the engine tells ("_id" for the id).
	Index string
	// Count is how many documents of an insert were refused.
	Count int
	// Cause is the engine's own error.
	Cause error
}

func (e *DuplicateKeyError) Error() string {
	if e.Index != "" {
		return fmt.Sprintf("duplicate key in index %s", e.Index)
	}
	return "duplicate key"
}

// Is makes errors.Is(err, ErrDuplicate) true.
func (e *DuplicateKeyError) Is(target error) bool { return target == ErrDuplicate }

func (e *DuplicateKeyError) Unwrap() error { return e.Cause }

// Unsupported reports a query outside the shared subset.
func Unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}
