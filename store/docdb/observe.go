package docdb

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Op is one operation sent to the database: the unit of round trips that
// metrics and tests count.
type Op struct {
	Collection string
	// Name is the operation: find, count, countBy, insert, update,
	// findAndModify, delete or bulk.
	Name string
	// Text is the operation with its filter and update as extended JSON,
	// for tests that check what reached the database. It is built only
	// when the observer asks for it (WithText).
	Text string
}

// Observer hears of every operation: when it starts and when it ends.
type Observer struct {
	// Started, when set, is called as an operation is sent.
	Started func(ctx context.Context, op Op)
	// Finished, when set, is called when it has been answered, with how
	// long that took and the error, if any (ErrNotFound included).
	Finished func(ctx context.Context, op Op, took time.Duration, err error)
	// WithText fills Op.Text; it costs an encoding per operation.
	WithText bool
}

// Observe wraps db so that o hears every operation of its collections.
func Observe(db DB, o *Observer) DB {
	if o == nil || (o.Started == nil && o.Finished == nil) {
		return db
	}
	return observedDB{DB: db, o: o}
}

type observedDB struct {
	DB
	o *Observer
}

func (d observedDB) Collection(name string) Collection {
	return observedCollection{c: d.DB.Collection(name), o: d.o}
}

type observedCollection struct {
	c Collection
	o *Observer
}

// hear tells the observer of an operation and returns what tells it the
// operation's end. parts are name, value pairs for Op.Text.
func (c observedCollection) hear(ctx context.Context, name string, parts ...any) func(error) {
	op := Op{Collection: c.c.Name(), Name: name}
	if c.o.WithText {
		var b strings.Builder
		b.WriteString(`{"` + name + `": "` + op.Collection + `"`)
		for i := 0; i+1 < len(parts); i += 2 {
			text := "{}"
			if d, _ := parts[i+1].(bson.D); d != nil {
				if raw, err := bson.MarshalExtJSON(d, false, false); err == nil {
					text = string(raw)
				}
			}
			b.WriteString(`, "` + parts[i].(string) + `": ` + text)
		}
		b.WriteString("}")
		op.Text = b.String()
	}
	if c.o.Started != nil {
		c.o.Started(ctx, op)
	}
	start := time.Now()
	return func(err error) {
		if c.o.Finished != nil {
			c.o.Finished(ctx, op, time.Since(start), err)
		}
	}
}

func (c observedCollection) Name() string { return c.c.Name() }

func (c observedCollection) Find(ctx context.Context, filter bson.D, opts FindOptions, out any) (err error) {
	done := c.hear(ctx, "find", "filter", filter, "sort", opts.Sort)
	defer func() { done(err) }()
	return c.c.Find(ctx, filter, opts, out)
}

func (c observedCollection) FindOne(ctx context.Context, filter bson.D, opts FindOptions, out any) (err error) {
	done := c.hear(ctx, "find", "filter", filter, "sort", opts.Sort)
	defer func() { done(err) }()
	return c.c.FindOne(ctx, filter, opts, out)
}

func (c observedCollection) Count(ctx context.Context, filter bson.D) (_ int64, err error) {
	done := c.hear(ctx, "count", "filter", filter)
	defer func() { done(err) }()
	return c.c.Count(ctx, filter)
}

func (c observedCollection) CountBy(ctx context.Context, filter bson.D, fields ...string) (_ []Group, err error) {
	done := c.hear(ctx, "countBy", "filter", filter)
	defer func() { done(err) }()
	return c.c.CountBy(ctx, filter, fields...)
}

func (c observedCollection) Insert(ctx context.Context, docs ...any) (_ int, err error) {
	done := c.hear(ctx, "insert")
	defer func() { done(err) }()
	return c.c.Insert(ctx, docs...)
}

func (c observedCollection) UpdateOne(ctx context.Context, filter, update bson.D, upsert bool) (_ UpdateResult, err error) {
	done := c.hear(ctx, "update", "filter", filter, "update", update)
	defer func() { done(err) }()
	return c.c.UpdateOne(ctx, filter, update, upsert)
}

func (c observedCollection) UpdateMany(ctx context.Context, filter, update bson.D) (_ UpdateResult, err error) {
	done := c.hear(ctx, "update", "filter", filter, "update", update)
	defer func() { done(err) }()
	return c.c.UpdateMany(ctx, filter, update)
}

func (c observedCollection) FindOneAndUpdate(ctx context.Context, filter, update bson.D, opts ModifyOptions, out any) (err error) {
	done := c.hear(ctx, "findAndModify", "filter", filter, "update", update)
	defer func() { done(err) }()
	return c.c.FindOneAndUpdate(ctx, filter, update, opts, out)
}

func (c observedCollection) FindOneAndDelete(ctx context.Context, filter bson.D, out any) (err error) {
	done := c.hear(ctx, "findAndModify", "filter", filter)
	defer func() { done(err) }()
	return c.c.FindOneAndDelete(ctx, filter, out)
}

func (c observedCollection) DeleteOne(ctx context.Context, filter bson.D) (_ int64, err error) {
	done := c.hear(ctx, "delete", "filter", filter)
	defer func() { done(err) }()
	return c.c.DeleteOne(ctx, filter)
}

func (c observedCollection) DeleteMany(ctx context.Context, filter bson.D) (_ int64, err error) {
	done := c.hear(ctx, "delete", "filter", filter)
	defer func() { done(err) }()
	return c.c.DeleteMany(ctx, filter)
}

func (c observedCollection) Bulk(ctx context.Context, writes []Write) (_ BulkResult, err error) {
	done := c.hear(ctx, "bulk")
	defer func() { done(err) }()
	return c.c.Bulk(ctx, writes)
}
