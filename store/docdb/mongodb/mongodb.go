// Package mongodb is the MongoDB engine of the storage port: the official
// driver against a MongoDB server, a replica set or a sharded cluster.
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// maxWriteStatements bounds the statements of one write command, so any
// one write stays short on a busy server.
const maxWriteStatements = 50

// DB is a database on a MongoDB server.
type DB struct {
	client *mongo.Client
	db     *mongo.Database
}

// Open connects to the server at uri and checks that it answers within
// timeout (which also bounds every later wait for a reachable server).
func Open(ctx context.Context, uri, database string, timeout time.Duration) (*DB, error) {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	co := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(timeout).
		SetConnectTimeout(timeout).
		SetAppName("gatehouse")
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("connect to MongoDB: %w", err)
	}
	d := &DB{client: client, db: client.Database(database)}
	pingCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := d.Ping(pingCtx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return d, nil
}

// Engine names this engine.
func (d *DB) Engine() string { return "mongodb" }

// Name is the database's name.
func (d *DB) Name() string { return d.db.Name() }

// Ping checks that the server answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("ping MongoDB: %w", classify(err))
	}
	return nil
}

// Close disconnects.
func (d *DB) Close(ctx context.Context) error {
	return d.client.Disconnect(ctx)
}

// Drop removes the database.
func (d *DB) Drop(ctx context.Context) error { return classify(d.db.Drop(ctx)) }

// Prepare creates the declared collections and indexes. Searched fields
// get no index of their own: a MongoDB text index matches whole words, not
// the substrings a search asks for, so a search reads them with $regex.
func (d *DB) Prepare(ctx context.Context, specs []docdb.CollectionSpec) error {
	have, err := d.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("list collections: %w", classify(err))
	}
	exists := map[string]bool{}
	for _, n := range have {
		exists[n] = true
	}
	for _, spec := range specs {
		if !exists[spec.Name] {
			if err := d.db.CreateCollection(ctx, spec.Name); err != nil && !isNamespaceExists(err) {
				return fmt.Errorf("create collection %s: %w", spec.Name, classify(err))
			}
		}
		for _, ix := range spec.Indexes {
			keys := bson.D{}
			for _, f := range ix.Fields {
				keys = append(keys, bson.E{Key: f, Value: 1})
			}
			model := mongo.IndexModel{Keys: keys, Options: options.Index().SetName(ix.Name).SetUnique(ix.Unique)}
			if ix.Sparse {
				// Only when asked: indexes built before the option
				// existed must still match what is declared.
				model.Options.SetSparse(true)
			}
			if _, err := d.db.Collection(spec.Name).Indexes().CreateOne(ctx, model); err != nil {
				return fmt.Errorf("create index %s: %w", ix.Name, classify(err))
			}
		}
	}
	return nil
}

// isNamespaceExists tells "collection already exists" (code 48), which a
// concurrent Prepare on another gateway can cause.
func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == 48
}

// Collection returns a collection handle.
func (d *DB) Collection(name string) docdb.Collection {
	return collection{c: d.db.Collection(name)}
}

type collection struct{ c *mongo.Collection }

func (c collection) Name() string { return c.c.Name() }

func (c collection) fail(op string, err error) error {
	return fmt.Errorf("%s %s: %w", op, c.c.Name(), classify(err))
}

func (c collection) Find(ctx context.Context, filter bson.D, o docdb.FindOptions, out any) error {
	opts := options.Find()
	if o.Sort != nil {
		opts.SetSort(o.Sort)
	}
	if o.Skip > 0 {
		opts.SetSkip(o.Skip)
	}
	if o.Limit > 0 {
		opts.SetLimit(o.Limit)
	}
	if o.Projection != nil {
		opts.SetProjection(o.Projection)
	}
	cur, err := c.c.Find(ctx, orEmpty(filter), opts)
	if err != nil {
		return c.fail("find in", err)
	}
	if err := cur.All(ctx, out); err != nil {
		return c.fail("read", err)
	}
	// cur.All leaves a nil slice when nothing matched; callers show lists.
	if v := reflect.ValueOf(out).Elem(); v.Kind() == reflect.Slice && v.IsNil() {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
	return nil
}

func (c collection) FindOne(ctx context.Context, filter bson.D, o docdb.FindOptions, out any) error {
	opts := options.FindOne()
	if o.Sort != nil {
		opts.SetSort(o.Sort)
	}
	if o.Skip > 0 {
		opts.SetSkip(o.Skip)
	}
	if o.Projection != nil {
		opts.SetProjection(o.Projection)
	}
	err := c.c.FindOne(ctx, orEmpty(filter), opts).Decode(out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return docdb.ErrNotFound
	}
	if err != nil {
		return c.fail("find in", err)
	}
	return nil
}

func (c collection) Count(ctx context.Context, filter bson.D) (int64, error) {
	n, err := c.c.CountDocuments(ctx, orEmpty(filter))
	if err != nil {
		return 0, c.fail("count", err)
	}
	return n, nil
}

func (c collection) CountBy(ctx context.Context, filter bson.D, fields ...string) ([]docdb.Group, error) {
	id := bson.D{}
	for i, f := range fields {
		id = append(id, bson.E{Key: fmt.Sprintf("k%d", i), Value: "$" + f})
	}
	cur, err := c.c.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: orEmpty(filter)}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: id}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return nil, c.fail("count by field in", err)
	}
	var rows []struct {
		ID bson.Raw `bson:"_id"`
		N  int64    `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, c.fail("read counts of", err)
	}
	out := make([]docdb.Group, len(rows))
	for i, r := range rows {
		keys := make([]bson.RawValue, len(fields))
		for k := range fields {
			keys[k] = r.ID.Lookup(fmt.Sprintf("k%d", k))
		}
		out[i] = docdb.Group{Keys: keys, N: r.N}
	}
	return out, nil
}

func (c collection) Insert(ctx context.Context, docs ...any) (int, error) {
	if len(docs) == 0 {
		return 0, nil
	}
	if len(docs) == 1 {
		if _, err := c.c.InsertOne(ctx, docs[0]); err != nil {
			return 0, c.writeError("insert into", err)
		}
		return 1, nil
	}
	inserted, dups := 0, 0
	var dupErr error
	for start := 0; start < len(docs); start += maxWriteStatements * 10 {
		end := min(start+maxWriteStatements*10, len(docs))
		res, err := c.c.InsertMany(ctx, docs[start:end], options.InsertMany().SetOrdered(false))
		if res != nil {
			inserted += len(res.InsertedIDs)
		}
		if err == nil {
			continue
		}
		n, ok := duplicatesOnly(err)
		if !ok {
			return inserted, c.writeError("insert into", err)
		}
		dups += n
		dupErr = err
		if res == nil {
			inserted += end - start - n
		}
	}
	if dups > 0 {
		return inserted, &docdb.DuplicateKeyError{Index: indexName(dupErr), Count: dups, Cause: dupErr}
	}
	return inserted, nil
}

// duplicatesOnly counts the documents an unordered insert refused as
// duplicates, and tells whether nothing else went wrong.
func duplicatesOnly(err error) (int, bool) {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return 0, false
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return 0, false
		}
	}
	return len(bwe.WriteErrors), true
}

func (c collection) UpdateOne(ctx context.Context, filter, update bson.D, upsert bool) (docdb.UpdateResult, error) {
	res, err := c.c.UpdateOne(ctx, orEmpty(filter), update, options.UpdateOne().SetUpsert(upsert))
	if err != nil {
		return docdb.UpdateResult{}, c.writeError("update", err)
	}
	return docdb.UpdateResult{Matched: res.MatchedCount, Modified: res.ModifiedCount, Upserted: res.UpsertedCount}, nil
}

func (c collection) UpdateMany(ctx context.Context, filter, update bson.D) (docdb.UpdateResult, error) {
	res, err := c.c.UpdateMany(ctx, orEmpty(filter), update)
	if err != nil {
		return docdb.UpdateResult{}, c.writeError("update", err)
	}
	return docdb.UpdateResult{Matched: res.MatchedCount, Modified: res.ModifiedCount, Upserted: res.UpsertedCount}, nil
}

func (c collection) FindOneAndUpdate(ctx context.Context, filter, update bson.D, o docdb.ModifyOptions, out any) error {
	opts := options.FindOneAndUpdate().SetUpsert(o.Upsert).SetReturnDocument(options.After)
	if o.Before {
		opts.SetReturnDocument(options.Before)
	}
	if o.Sort != nil {
		opts.SetSort(o.Sort)
	}
	err := c.c.FindOneAndUpdate(ctx, orEmpty(filter), update, opts).Decode(out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return docdb.ErrNotFound
	}
	if err != nil {
		return c.writeError("update", err)
	}
	return nil
}

func (c collection) FindOneAndDelete(ctx context.Context, filter bson.D, out any) error {
	err := c.c.FindOneAndDelete(ctx, orEmpty(filter)).Decode(out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return docdb.ErrNotFound
	}
	if err != nil {
		return c.fail("delete from", err)
	}
	return nil
}

func (c collection) DeleteOne(ctx context.Context, filter bson.D) (int64, error) {
	res, err := c.c.DeleteOne(ctx, orEmpty(filter))
	if err != nil {
		return 0, c.fail("delete from", err)
	}
	return res.DeletedCount, nil
}

func (c collection) DeleteMany(ctx context.Context, filter bson.D) (int64, error) {
	res, err := c.c.DeleteMany(ctx, orEmpty(filter))
	if err != nil {
		return 0, c.fail("delete from", err)
	}
	return res.DeletedCount, nil
}

// Bulk sends writes in unordered commands of at most maxWriteStatements.
func (c collection) Bulk(ctx context.Context, writes []docdb.Write) (docdb.BulkResult, error) {
	var total docdb.BulkResult
	for start := 0; start < len(writes); start += maxWriteStatements {
		end := min(start+maxWriteStatements, len(writes))
		models := make([]mongo.WriteModel, 0, end-start)
		for _, w := range writes[start:end] {
			if w.Delete {
				models = append(models, mongo.NewDeleteOneModel().SetFilter(orEmpty(w.Filter)))
				continue
			}
			models = append(models, mongo.NewUpdateOneModel().SetFilter(orEmpty(w.Filter)).SetUpdate(w.Update).SetUpsert(w.Upsert))
		}
		res, err := c.c.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
		if res != nil {
			total.Matched += res.MatchedCount
			total.Modified += res.ModifiedCount
			total.Upserted += res.UpsertedCount
			total.Deleted += res.DeletedCount
		}
		if err != nil {
			return total, c.writeError(fmt.Sprintf("bulk write [%d:%d] of", start, end), err)
		}
	}
	return total, nil
}

// writeError makes duplicate-key errors a *docdb.DuplicateKeyError. The
// MongoDB-wire server the tests use reports a duplicate found by an update
// in its own SQLite words, without the index's name.
func (c collection) writeError(op string, err error) error {
	if strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return &docdb.DuplicateKeyError{Count: 1, Cause: err}
	}
	if mongo.IsDuplicateKeyError(err) {
		return &docdb.DuplicateKeyError{Index: indexName(err), Count: 1, Cause: err}
	}
	return c.fail(op, err)
}

// indexName finds the index a duplicate-key message names
// ("E11000 duplicate key error collection: db.users index: users_username_unique dup key: …").
func indexName(err error) string {
	msg := err.Error()
	i := strings.Index(msg, "index: ")
	if i < 0 {
		return ""
	}
	name, _, _ := strings.Cut(msg[i+len("index: "):], " ")
	return name
}

func orEmpty(d bson.D) bson.D {
	if d == nil {
		return bson.D{}
	}
	return d
}

// classify marks errors that mean "the server could not be reached in
// time" with docdb.ErrUnavailable, keeping the cause for logs.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var sse topology.ServerSelectionError
	if mongo.IsTimeout(err) || mongo.IsNetworkError(err) ||
		errors.Is(err, mongo.ErrClientDisconnected) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &sse) {
		return fmt.Errorf("%w: %w", docdb.ErrUnavailable, err)
	}
	return err
}
