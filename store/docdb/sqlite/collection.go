package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/gatehouse/gatehouse/store/docdb"
)

type collection struct {
	db   *DB
	name string
}

func (c *collection) Name() string { return c.name }

func (c *collection) fail(op string, err error) error {
	return fmt.Errorf("%s %s: %w", op, c.name, classify(err))
}

// scan runs the SELECT a filter and its options make, handing each row's
// id and JSON text to each (the text is only valid during the call).
func (c *collection) scan(ctx context.Context, r runner, t *table, filter bson.D, o docdb.FindOptions, each func(id any, doc []byte) error) error {
	q := c.db.query(ctx, t, o.Limit > 0)
	where, err := q.where(filter)
	if err != nil {
		return err
	}
	order, err := orderBy(o.Sort)
	if err != nil {
		return err
	}
	text := "SELECT id, json(doc) FROM " + quote(t.name) + " WHERE " + where + order
	if o.Limit > 0 || o.Skip > 0 {
		limit := o.Limit
		if limit <= 0 {
			limit = -1
		}
		text += fmt.Sprintf(" LIMIT %d OFFSET %d", limit, max(o.Skip, 0))
	}
	rows, err := r.QueryContext(ctx, text, q.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id any
		var doc sql.RawBytes
		if err := rows.Scan(&id, &doc); err != nil {
			return err
		}
		if err := each(id, doc); err != nil {
			return err
		}
	}
	return rows.Err()
}

// selectDocs reads the matching documents as BSON, projected.
func (c *collection) selectDocs(ctx context.Context, r runner, t *table, filter bson.D, o docdb.FindOptions) ([]bson.Raw, error) {
	proj, err := newProjection(o.Projection)
	if err != nil {
		return nil, err
	}
	var docs []bson.Raw
	err = c.scan(ctx, r, t, filter, o, func(_ any, doc []byte) error {
		raw, err := fromJSON(doc, proj)
		docs = append(docs, raw)
		return err
	})
	return docs, err
}

// selectRows reads the matching rows as a write reads them: ids and JSON
// texts, which the write changes without turning them into BSON first.
func (c *collection) selectRows(ctx context.Context, tx runner, t *table, filter bson.D, o docdb.FindOptions) ([]stored, error) {
	var rows []stored
	err := c.scan(ctx, tx, t, filter, o, func(id any, doc []byte) error {
		rows = append(rows, stored{id: id, json: bytes.Clone(doc)})
		return nil
	})
	return rows, err
}

func (c *collection) Find(ctx context.Context, filter bson.D, o docdb.FindOptions, out any) error {
	t, err := c.db.table(ctx, c.name)
	if err != nil {
		return err
	}
	docs, err := c.selectDocs(ctx, reader{c.db}, t, filter, o)
	if err != nil {
		return c.fail("find in", err)
	}
	if docs == nil {
		docs = []bson.Raw{}
	}
	return decodeAll(docs, out)
}

func (c *collection) FindOne(ctx context.Context, filter bson.D, o docdb.FindOptions, out any) error {
	t, err := c.db.table(ctx, c.name)
	if err != nil {
		return err
	}
	o.Limit = 1
	docs, err := c.selectDocs(ctx, reader{c.db}, t, filter, o)
	if err != nil {
		return c.fail("find in", err)
	}
	if len(docs) == 0 {
		return docdb.ErrNotFound
	}
	return bson.Unmarshal(docs[0], out)
}

func (c *collection) Count(ctx context.Context, filter bson.D) (int64, error) {
	t, err := c.db.table(ctx, c.name)
	if err != nil {
		return 0, err
	}
	q := c.db.query(ctx, t, false)
	where, err := q.where(filter)
	if err != nil {
		return 0, c.fail("count", err)
	}
	var n int64
	rows, err := reader{c.db}.QueryContext(ctx, "SELECT COUNT(*) FROM "+quote(t.name)+" WHERE "+where, q.args...)
	if err != nil {
		return 0, c.fail("count", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, c.fail("count", err)
		}
		return 0, fmt.Errorf("count %s: no answer", c.name)
	}
	if err := rows.Scan(&n); err != nil {
		return 0, c.fail("count", err)
	}
	return n, nil
}

func (c *collection) CountBy(ctx context.Context, filter bson.D, fields ...string) ([]docdb.Group, error) {
	t, err := c.db.table(ctx, c.name)
	if err != nil {
		return nil, err
	}
	q := c.db.query(ctx, t, false)
	where, err := q.where(filter)
	if err != nil {
		return nil, c.fail("count by field in", err)
	}
	exprs := make([]string, len(fields))
	for i, f := range fields {
		if err := checkPath(f); err != nil {
			return nil, err
		}
		exprs[i] = fieldExpr(f)
	}
	keys := strings.Join(exprs, ", ")
	rows, err := reader{c.db}.QueryContext(ctx, "SELECT "+keys+", COUNT(*) FROM "+quote(t.name)+" WHERE "+where+" GROUP BY "+keys, q.args...)
	if err != nil {
		return nil, c.fail("count by field in", err)
	}
	defer rows.Close()
	var out []docdb.Group
	for rows.Next() {
		vals := make([]any, len(fields)+1)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, c.fail("count by field in", err)
		}
		g := docdb.Group{Keys: make([]bson.RawValue, len(fields))}
		for i := range fields {
			v := vals[i]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			if v == nil {
				g.Keys[i] = bson.RawValue{Type: bson.TypeNull}
				continue
			}
			typ, data, err := bson.MarshalValue(v)
			if err != nil {
				return nil, err
			}
			g.Keys[i] = bson.RawValue{Type: typ, Value: data}
		}
		g.N, _ = vals[len(fields)].(int64)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, c.fail("count by field in", err)
	}
	return out, nil
}

// stored is a document as its row holds it: its id and its JSON text.
type stored struct {
	id   any
	json []byte
}

func storedForm(doc any) (stored, error) {
	raw, err := bson.Marshal(doc)
	if err != nil {
		return stored{}, fmt.Errorf("encode document: %w", err)
	}
	idVal, err := bson.Raw(raw).LookupErr("_id")
	if err != nil {
		return stored{}, docdb.Unsupported("a document without _id")
	}
	id, err := idValue(idVal)
	if err != nil {
		return stored{}, err
	}
	text, err := toJSON(raw)
	if err != nil {
		return stored{}, err
	}
	return stored{id: id, json: text}, nil
}

// idValue is an _id as the id column holds it: a string or an integer,
// compared as filters compare them.
func idValue(v bson.RawValue) (any, error) {
	switch v.Type {
	case bson.TypeString, bson.TypeInt32, bson.TypeInt64:
		return sqlValue(bsoncore.Value{Type: bsoncore.Type(v.Type), Data: v.Value})
	}
	return nil, docdb.Unsupported("an _id of type %s", v.Type)
}

func (c *collection) insertOne(ctx context.Context, tx runner, t *table, s stored) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO "+quote(t.name)+" (id, doc) VALUES (?, jsonb(?))", s.id, s.json)
	if err != nil {
		if dup := duplicate(t, err); dup != nil {
			return dup
		}
		return err
	}
	return nil
}

func (c *collection) Insert(ctx context.Context, docs ...any) (int, error) {
	if len(docs) == 0 {
		return 0, nil
	}
	t, err := c.db.table(ctx, c.name)
	if err != nil {
		return 0, err
	}
	rows := make([]stored, len(docs))
	for i, doc := range docs {
		if rows[i], err = storedForm(doc); err != nil {
			return 0, err
		}
	}
	inserted := 0
	var dup *docdb.DuplicateKeyError
	err = c.db.writeTx(ctx, func(tx runner) error {
		inserted, dup = 0, nil
		for _, r := range rows {
			err := c.insertOne(ctx, tx, t, r)
			var d *docdb.DuplicateKeyError
			switch {
			case err == nil:
				inserted++
			case errors.As(err, &d):
				if dup == nil {
					dup = d
				} else {
					dup.Count++
				}
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, c.fail("insert into", err)
	}
	if dup != nil {
		return inserted, dup
	}
	return inserted, nil
}

// modify runs an update on up to limit matches (0: all) inside tx, and
// returns the documents before and after, as JSON text, and how many it
// changed.
func (c *collection) modify(ctx context.Context, tx runner, t *table, filter bson.D, u *update, sort bson.D, limit int64, upsert bool) (before, after [][]byte, res docdb.UpdateResult, err error) {
	rows, err := c.selectRows(ctx, tx, t, filter, docdb.FindOptions{Sort: sort, Limit: limit})
	if err != nil {
		return nil, nil, res, err
	}
	for _, row := range rows {
		doc, err := decodeJSON(row.json)
		if err != nil {
			return nil, nil, res, err
		}
		if doc, err = u.apply(doc, false); err != nil {
			return nil, nil, res, err
		}
		newJSON, err := encodeJSON(doc)
		if err != nil {
			return nil, nil, res, err
		}
		res.Matched++
		if !bytes.Equal(row.json, newJSON) {
			res.Modified++
			if _, err := tx.ExecContext(ctx, "UPDATE "+quote(t.name)+" SET doc = jsonb(?) WHERE id = ?", newJSON, row.id); err != nil {
				if dup := duplicate(t, err); dup != nil {
					return nil, nil, res, dup
				}
				return nil, nil, res, err
			}
		}
		before, after = append(before, row.json), append(after, newJSON)
	}
	if len(rows) > 0 || !upsert {
		return before, after, res, nil
	}
	doc, err := upsertDocument(filter)
	if err != nil {
		return nil, nil, res, err
	}
	if doc, err = u.apply(doc, true); err != nil {
		return nil, nil, res, err
	}
	if _, ok := getPath(doc, "_id"); !ok {
		doc = append(bson.D{{Key: "_id", Value: bson.NewObjectID().Hex()}}, doc...)
	}
	s, err := storedForm(doc)
	if err != nil {
		return nil, nil, res, err
	}
	if err := c.insertOne(ctx, tx, t, s); err != nil {
		return nil, nil, res, err
	}
	res.Upserted++
	return nil, [][]byte{s.json}, res, nil
}

func (c *collection) update(ctx context.Context, filter, upd bson.D, limit int64, upsert bool) (docdb.UpdateResult, error) {
	t, err := c.db.table(ctx, c.name)
	if err != nil {
		return docdb.UpdateResult{}, err
	}
	u, err := parseUpdate(upd)
	if err != nil {
		return docdb.UpdateResult{}, err
	}
	var res docdb.UpdateResult
	err = c.db.writeTx(ctx, func(tx runner) error {
		var err error
		_, _, res, err = c.modify(ctx, tx, t, filter, u, nil, limit, upsert)
		return err
	})
	if err != nil {
		return docdb.UpdateResult{}, c.fail("update", err)
	}
	return res, nil
}

func (c *collection) UpdateOne(ctx context.Context, filter, update bson.D, upsert bool) (docdb.UpdateResult, error) {
	return c.update(ctx, filter, update, 1, upsert)
}

func (c *collection) UpdateMany(ctx context.Context, filter, update bson.D) (docdb.UpdateResult, error) {
	return c.update(ctx, filter, update, 0, false)
}

func (c *collection) FindOneAndUpdate(ctx context.Context, filter, upd bson.D, o docdb.ModifyOptions, out any) error {
	t, err := c.db.table(ctx, c.name)
	if err != nil {
		return err
	}
	u, err := parseUpdate(upd)
	if err != nil {
		return err
	}
	var before, after [][]byte
	err = c.db.writeTx(ctx, func(tx runner) error {
		var err error
		before, after, _, err = c.modify(ctx, tx, t, filter, u, o.Sort, 1, o.Upsert)
		return err
	})
	if err != nil {
		return c.fail("update", err)
	}
	docs := after
	if o.Before {
		docs = before
	}
	if len(docs) == 0 {
		return docdb.ErrNotFound
	}
	return decodeText(docs[0], out)
}

// decodeText decodes one stored JSON text into out.
func decodeText(text []byte, out any) error {
	raw, err := fromJSON(text, nil)
	if err != nil {
		return err
	}
	return bson.Unmarshal(raw, out)
}

func (c *collection) FindOneAndDelete(ctx context.Context, filter bson.D, out any) error {
	t, err := c.db.table(ctx, c.name)
	if err != nil {
		return err
	}
	var doc []byte
	err = c.db.writeTx(ctx, func(tx runner) error {
		rows, err := c.selectRows(ctx, tx, t, filter, docdb.FindOptions{Limit: 1})
		if err != nil || len(rows) == 0 {
			return err
		}
		doc = rows[0].json
		_, err = tx.ExecContext(ctx, "DELETE FROM "+quote(t.name)+" WHERE id = ?", rows[0].id)
		return err
	})
	if err != nil {
		return c.fail("delete from", err)
	}
	if doc == nil {
		return docdb.ErrNotFound
	}
	return decodeText(doc, out)
}

func (c *collection) delete(ctx context.Context, tx runner, t *table, filter bson.D, one bool) (int64, error) {
	q := c.db.query(ctx, t, false)
	where, err := q.where(filter)
	if err != nil {
		return 0, err
	}
	text := "DELETE FROM " + quote(t.name) + " WHERE " + where
	if one {
		text = "DELETE FROM " + quote(t.name) + " WHERE id IN (SELECT id FROM " + quote(t.name) + " WHERE " + where + " LIMIT 1)"
	}
	res, err := tx.ExecContext(ctx, text, q.args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c *collection) deleteTx(ctx context.Context, filter bson.D, one bool) (int64, error) {
	t, err := c.db.table(ctx, c.name)
	if err != nil {
		return 0, err
	}
	var n int64
	err = c.db.writeTx(ctx, func(tx runner) error {
		var err error
		n, err = c.delete(ctx, tx, t, filter, one)
		return err
	})
	if err != nil {
		return 0, c.fail("delete from", err)
	}
	return n, nil
}

func (c *collection) DeleteOne(ctx context.Context, filter bson.D) (int64, error) {
	return c.deleteTx(ctx, filter, true)
}

func (c *collection) DeleteMany(ctx context.Context, filter bson.D) (int64, error) {
	return c.deleteTx(ctx, filter, false)
}

// Bulk runs every write in one transaction: they commit together, and a
// write that fails (other than on a duplicate key) rolls them all back.
func (c *collection) Bulk(ctx context.Context, writes []docdb.Write) (docdb.BulkResult, error) {
	var total docdb.BulkResult
	if len(writes) == 0 {
		return total, nil
	}
	t, err := c.db.table(ctx, c.name)
	if err != nil {
		return total, err
	}
	updates := make([]*update, len(writes))
	for i, w := range writes {
		if w.Delete {
			continue
		}
		if updates[i], err = parseUpdate(w.Update); err != nil {
			return total, err
		}
	}
	var dup error
	err = c.db.writeTx(ctx, func(tx runner) error {
		total, dup = docdb.BulkResult{}, nil
		for i, w := range writes {
			if w.Delete {
				n, err := c.delete(ctx, tx, t, w.Filter, true)
				if err != nil {
					return err
				}
				total.Deleted += n
				continue
			}
			_, _, res, err := c.modify(ctx, tx, t, w.Filter, updates[i], nil, 1, w.Upsert)
			if errors.Is(err, docdb.ErrDuplicate) {
				dup = err
				continue
			}
			if err != nil {
				return err
			}
			total.Matched += res.Matched
			total.Modified += res.Modified
			total.Upserted += res.Upserted
		}
		return nil
	})
	if err != nil {
		return docdb.BulkResult{}, c.fail("bulk write", err)
	}
	if dup != nil {
		return total, dup
	}
	return total, nil
}
