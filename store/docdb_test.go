package store_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// The storage port's query language behaves alike on both engines: these
// tests run once per engine (storetest.Main), with the same expectations.

type probe struct {
	ID    string    `bson:"_id"`
	Name  string    `bson:"name,omitempty"`
	N     int64     `bson:"n"`
	Tags  []string  `bson:"tags"`
	At    time.Time `bson:"at"`
	Maybe *string   `bson:"maybe"`
}

func probeCollection(t *testing.T) (docdb.Collection, context.Context) {
	t.Helper()
	s := storetest.Open(t, store.Options{})
	ctx := context.Background()
	coll := s.Collection("probes") // undeclared: created on first use
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	str := func(s string) *string { return &s }
	docs := []any{
		probe{ID: "a", Name: "Alice", N: 1, Tags: []string{"x", "y"}, At: at, Maybe: str("set")},
		probe{ID: "b", Name: "bob", N: 2, Tags: []string{"y"}, At: at.Add(time.Hour)},
		probe{ID: "c", Name: "Ärger", N: 3, Tags: []string{}, At: at.Add(2 * time.Hour)},
		probe{ID: "d", Name: "a.b*c", N: 4, Tags: []string{"z"}, At: at.Add(3 * time.Hour)},
		probe{ID: "e", N: 5, At: at.Add(4 * time.Hour)},
	}
	if n, err := coll.Insert(ctx, docs...); err != nil || n != len(docs) {
		t.Fatalf("insert: %d %v", n, err)
	}
	return coll, ctx
}

func ids(t *testing.T, coll docdb.Collection, ctx context.Context, filter bson.D, opts docdb.FindOptions) []string {
	t.Helper()
	var got []probe
	if err := coll.Find(ctx, filter, opts, &got); err != nil {
		t.Fatalf("%v: %v", filter, err)
	}
	out := []string{}
	for _, p := range got {
		out = append(out, p.ID)
	}
	if opts.Sort == nil {
		slices.Sort(out)
	}
	return out
}

func TestQueryLanguageFilters(t *testing.T) {
	coll, ctx := probeCollection(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	re := func(p, o string) bson.D { return bson.D{{Key: "$regex", Value: p}, {Key: "$options", Value: o}} }
	lit := regexp.QuoteMeta
	for _, c := range []struct {
		name   string
		filter bson.D
		want   []string
	}{
		{"all", nil, []string{"a", "b", "c", "d", "e"}},
		{"equal", bson.D{{Key: "name", Value: "bob"}}, []string{"b"}},
		{"null matches missing", bson.D{{Key: "maybe", Value: nil}}, []string{"b", "c", "d", "e"}},
		{"missing name is null", bson.D{{Key: "name", Value: bson.D{{Key: "$eq", Value: nil}}}}, []string{"e"}},
		{"not null", bson.D{{Key: "maybe", Value: bson.D{{Key: "$ne", Value: nil}}}}, []string{"a"}},
		{"ne matches missing", bson.D{{Key: "name", Value: bson.D{{Key: "$ne", Value: "bob"}}}}, []string{"a", "c", "d", "e"}},
		{"in", bson.D{{Key: "n", Value: bson.D{{Key: "$in", Value: bson.A{1, 3, 9}}}}}, []string{"a", "c"}},
		{"in with null", bson.D{{Key: "name", Value: bson.D{{Key: "$in", Value: bson.A{"bob", nil}}}}}, []string{"b", "e"}},
		{"nin matches missing", bson.D{{Key: "name", Value: bson.D{{Key: "$nin", Value: bson.A{"bob", "Alice"}}}}}, []string{"c", "d", "e"}},
		{"empty in", bson.D{{Key: "n", Value: bson.D{{Key: "$in", Value: bson.A{}}}}}, []string{}},
		{"range", bson.D{{Key: "n", Value: bson.D{{Key: "$gt", Value: 1}, {Key: "$lte", Value: 3}}}}, []string{"b", "c"}},
		{"date range", bson.D{{Key: "at", Value: bson.D{{Key: "$gte", Value: at.Add(3 * time.Hour)}}}}, []string{"d", "e"}},
		{"a string bound never matches numbers", bson.D{{Key: "n", Value: bson.D{{Key: "$lt", Value: "zzz"}}}}, []string{}},
		{"a number bound never matches text", bson.D{{Key: "name", Value: bson.D{{Key: "$gt", Value: 0}}}}, []string{}},
		{"array holds", bson.D{{Key: "tags", Value: "y"}}, []string{"a", "b"}},
		{"array holds any of", bson.D{{Key: "tags", Value: bson.D{{Key: "$in", Value: bson.A{"x", "z"}}}}}, []string{"a", "d"}},
		{"array holds none of", bson.D{{Key: "tags", Value: bson.D{{Key: "$nin", Value: bson.A{"y"}}}}}, []string{"c", "d", "e"}},
		{"iexact", bson.D{{Key: "name", Value: re("^"+lit("ALICE")+`\z`, "i")}}, []string{"a"}},
		{"exact regex is case-sensitive", bson.D{{Key: "name", Value: re("^"+lit("ALICE")+`\z`, "")}}, []string{}},
		{"icontains", bson.D{{Key: "name", Value: re(lit("LI"), "i")}}, []string{"a"}},
		{"contains", bson.D{{Key: "name", Value: re(lit("b"), "")}}, []string{"b", "d"}},
		{"icontains beyond ASCII", bson.D{{Key: "name", Value: re(lit("äR"), "i")}}, []string{"c"}},
		{"istartswith beyond ASCII", bson.D{{Key: "name", Value: re("^"+lit("ä"), "i")}}, []string{"c"}},
		{"startswith", bson.D{{Key: "name", Value: re("^"+lit("A"), "")}}, []string{"a"}},
		{"iendswith", bson.D{{Key: "name", Value: re(lit("B")+`\z`, "i")}}, []string{"b"}},
		{"metacharacters are literal", bson.D{{Key: "name", Value: re(lit("b*c"), "")}}, []string{"d"}},
		{"a literal dot", bson.D{{Key: "name", Value: re(lit("."), "")}}, []string{"d"}},
		{"like wildcards are literal", bson.D{{Key: "name", Value: re(lit("%"), "i")}}, []string{}},
		{"a real pattern", bson.D{{Key: "name", Value: re("^[ab]", "")}}, []string{"b", "d"}},
		{"or", bson.D{{Key: "$or", Value: bson.A{bson.D{{Key: "n", Value: 1}}, bson.D{{Key: "name", Value: "bob"}}}}}, []string{"a", "b"}},
		{"nor", bson.D{{Key: "$nor", Value: bson.A{bson.D{{Key: "n", Value: bson.D{{Key: "$lt", Value: 4}}}}}}}, []string{"d", "e"}},
		{"and", bson.D{{Key: "$and", Value: bson.A{bson.D{{Key: "n", Value: bson.D{{Key: "$gt", Value: 1}}}}, bson.D{{Key: "tags", Value: "y"}}}}}, []string{"b"}},
		{"by id", bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"a", "e", "zz"}}}}}, []string{"a", "e"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ids(t, coll, ctx, c.filter, docdb.FindOptions{}); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
			n, err := coll.Count(ctx, c.filter)
			if err != nil || int(n) != len(c.want) {
				t.Errorf("count %d %v, want %d", n, err, len(c.want))
			}
		})
	}
}

func TestQueryLanguageSortsAndPages(t *testing.T) {
	coll, ctx := probeCollection(t)
	for _, c := range []struct {
		opts docdb.FindOptions
		want []string
	}{
		{docdb.FindOptions{Sort: bson.D{{Key: "n", Value: -1}}}, []string{"e", "d", "c", "b", "a"}},
		// Missing sorts first ascending, and strings compare by bytes.
		{docdb.FindOptions{Sort: bson.D{{Key: "name", Value: 1}}}, []string{"e", "a", "d", "b", "c"}},
		{docdb.FindOptions{Sort: bson.D{{Key: "name", Value: -1}}}, []string{"c", "b", "d", "a", "e"}},
		{docdb.FindOptions{Sort: bson.D{{Key: "at", Value: 1}}, Skip: 1, Limit: 2}, []string{"b", "c"}},
		{docdb.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}, Skip: 4}, []string{"e"}},
	} {
		if got := ids(t, coll, ctx, nil, c.opts); !slices.Equal(got, c.want) {
			t.Errorf("%+v: got %v, want %v", c.opts, got, c.want)
		}
	}
	groups, err := coll.CountBy(ctx, bson.D{{Key: "n", Value: bson.D{{Key: "$gte", Value: 2}}}}, "maybe")
	if err != nil || len(groups) != 1 || groups[0].N != 4 || groups[0].Keys[0].Type != bson.TypeNull {
		t.Errorf("count by: %+v %v", groups, err)
	}
}

func TestQueryLanguageUpdates(t *testing.T) {
	coll, ctx := probeCollection(t)
	var p probe
	// $inc and $max, returning the document after.
	err := coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: "a"}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: int64(10)}}}, {Key: "$max", Value: bson.D{{Key: "name", Value: "Zed"}}}},
		docdb.ModifyOptions{}, &p)
	if err != nil || p.N != 11 || p.Name != "Zed" {
		t.Errorf("inc/max: %+v %v", p, err)
	}
	// Before, not after.
	err = coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: "a"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: int64(0)}}}}, docdb.ModifyOptions{Before: true}, &p)
	if err != nil || p.N != 11 {
		t.Errorf("before: %+v %v", p, err)
	}
	// Sets of values.
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "b"}},
		bson.D{{Key: "$addToSet", Value: bson.D{{Key: "tags", Value: bson.D{{Key: "$each", Value: bson.A{"y", "w", "w"}}}}}}}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "a"}},
		bson.D{{Key: "$pullAll", Value: bson.D{{Key: "tags", Value: bson.A{"x"}}}}}, false); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, coll, ctx, bson.D{{Key: "tags", Value: "w"}}, docdb.FindOptions{}); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after $addToSet: %v", got)
	}
	if got := ids(t, coll, ctx, bson.D{{Key: "tags", Value: "x"}}, docdb.FindOptions{}); len(got) != 0 {
		t.Errorf("after $pullAll: %v", got)
	}
	// A change that changes nothing modifies nothing.
	res, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "b"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: "bob"}}}}, false)
	if err != nil || res.Matched != 1 || res.Modified != 0 {
		t.Errorf("no-op update: %+v %v", res, err)
	}
	// Upserts start from the filter's equalities and $setOnInsert.
	res, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "f"}},
		bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "name", Value: "new"}}}, {Key: "$inc", Value: bson.D{{Key: "n", Value: int64(1)}}}}, true)
	if err != nil || res.Upserted != 1 {
		t.Fatalf("upsert: %+v %v", res, err)
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "f"}}, docdb.FindOptions{}, &p); err != nil || p.Name != "new" || p.N != 1 {
		t.Errorf("upserted: %+v %v", p, err)
	}
	res, err = coll.UpdateMany(ctx, bson.D{{Key: "n", Value: bson.D{{Key: "$gte", Value: 4}}}}, bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: "many"}}}})
	if err != nil || res.Matched != 2 || res.Modified != 2 {
		t.Errorf("update many: %+v %v", res, err)
	}
	// Deletes.
	if err := coll.FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: "f"}}, &p); err != nil || p.ID != "f" {
		t.Errorf("find and delete: %+v %v", p, err)
	}
	if err := coll.FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: "f"}}, &p); !errors.Is(err, docdb.ErrNotFound) {
		t.Errorf("find and delete again: %v", err)
	}
	if n, err := coll.DeleteMany(ctx, bson.D{{Key: "name", Value: "many"}}); err != nil || n != 2 {
		t.Errorf("delete many: %d %v", n, err)
	}
	// Bulk writes add up.
	bulk, err := coll.Bulk(ctx, []docdb.Write{
		{Filter: bson.D{{Key: "_id", Value: "a"}}, Update: bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: int64(7)}}}}},
		{Filter: bson.D{{Key: "_id", Value: "b"}}, Delete: true},
		{Filter: bson.D{{Key: "_id", Value: "g"}}, Update: bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: int64(8)}}}}, Upsert: true},
	})
	if err != nil || bulk.Matched != 1 || bulk.Deleted != 1 || bulk.Upserted != 1 {
		t.Errorf("bulk: %+v %v", bulk, err)
	}
	if got := ids(t, coll, ctx, nil, docdb.FindOptions{}); !slices.Equal(got, []string{"a", "c", "g"}) {
		t.Errorf("after all: %v", got)
	}
}

// Unique violations are one error on both engines, with the index named;
// an unordered insert keeps the documents that do not collide.
func TestQueryLanguageDuplicates(t *testing.T) {
	s := storetest.Open(t, store.Options{})
	ctx := context.Background()
	tags := s.Collection("tags") // "name" is unique there
	n, err := tags.Insert(ctx, bson.D{{Key: "_id", Value: "1"}, {Key: "name", Value: "vip"}}, bson.D{{Key: "_id", Value: "2"}, {Key: "name", Value: "vip"}}, bson.D{{Key: "_id", Value: "3"}, {Key: "name", Value: "new"}}, bson.D{{Key: "_id", Value: "1"}, {Key: "name", Value: "other"}})
	var dup *docdb.DuplicateKeyError
	if n != 2 || !errors.As(err, &dup) || dup.Count != 2 || !errors.Is(err, docdb.ErrDuplicate) {
		t.Fatalf("insert: %d %v", n, err)
	}
	_, err = tags.UpdateOne(ctx, bson.D{{Key: "_id", Value: "3"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: "vip"}}}}, false)
	if !errors.Is(err, docdb.ErrDuplicate) {
		t.Fatalf("update into a taken name: %v", err)
	}
	if storetest.Engine() == storetest.SQLite && (!errors.As(err, &dup) || dup.Index != "tags_name_unique") {
		t.Errorf("the index is not named: %v", err)
	}
	var got struct {
		Name string `bson:"name"`
	}
	if err := tags.FindOne(ctx, bson.D{{Key: "_id", Value: "3"}}, docdb.FindOptions{}, &got); err != nil || got.Name != "new" {
		t.Errorf("the refused update changed the document: %+v %v", got, err)
	}
}
