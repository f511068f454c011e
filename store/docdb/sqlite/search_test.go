package sqlite_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/docdb/sqlite"
)

// search finds the ids of the documents whose name or email holds word,
// case-insensitively, as the store's user search asks.
func search(t *testing.T, db docdb.DB, word string) []string {
	t.Helper()
	contains := bson.D{{Key: "$regex", Value: word}, {Key: "$options", Value: "i"}}
	filter := bson.D{{Key: "$or", Value: bson.A{bson.D{{Key: "name", Value: contains}}, bson.D{{Key: "email", Value: contains}}}}}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := db.Collection("people").Find(context.Background(), filter, docdb.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}}, &docs); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	return ids
}

// The search index finds what a scan finds, through every change: documents
// stored before it was declared, inserts, changes to a searched field and
// to another, deletes, words too short for trigrams, and a backup's copy.
func TestSearchIndexFollowsEveryChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, sqlite.Config{Dir: dir, Database: "search"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	people := db.Collection("people")
	person := func(id, name, email string) bson.D {
		return bson.D{{Key: "_id", Value: id}, {Key: "name", Value: name}, {Key: "email", Value: email}, {Key: "seen", Value: 0}}
	}
	// Stored before the index exists: declaring it indexes them.
	if _, err := people.Insert(ctx, person("a", "Alice Archer", "alice@example.org"), person("b", "Bob", "bob@archery.net")); err != nil {
		t.Fatal(err)
	}
	spec := []docdb.CollectionSpec{{Name: "people", Search: []string{"name", "email"}}}
	if err := db.Prepare(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := db.Prepare(ctx, spec); err != nil { // a second start indexes nothing twice
		t.Fatal(err)
	}
	if _, err := people.Insert(ctx, person("c", "Carol", "CAROL@ARCHER.ORG"), person("d", "Dave", "")); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		change func() error
		word   string
		want   []string
	}{
		{"stored before and after the index, any case", nil, "ARCHer", []string{"a", "b", "c"}},
		{"a word across two fields is not found", nil, "archerali", []string{}},
		{"a short word", nil, "al", []string{"a"}},
		{"a searched field changes", func() error {
			_, err := people.UpdateOne(ctx, bson.D{{Key: "_id", Value: "b"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "email", Value: "bob@example.net"}}}}, false)
			return err
		}, "archer", []string{"a", "c"}},
		{"the new value is found", nil, "example.net", []string{"b"}},
		{"another field changes", func() error {
			_, err := people.UpdateOne(ctx, bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "seen", Value: 1}}}}, false)
			return err
		}, "archer", []string{"a", "c"}},
		{"a delete", func() error {
			_, err := people.DeleteOne(ctx, bson.D{{Key: "_id", Value: "c"}})
			return err
		}, "archer", []string{"a"}},
		{"a field goes missing", func() error {
			_, err := people.UpdateOne(ctx, bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "name", Value: ""}}}}, false)
			return err
		}, "archer", []string{}},
	}
	for _, st := range steps {
		if st.change != nil {
			if err := st.change(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		if got := search(t, db, st.word); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: searching %q found %v, want %v", st.name, st.word, got, st.want)
		}
	}

	// A backup is a VACUUM, which may renumber the table's rows; the index
	// keys its own, so the copy finds the same.
	backup := filepath.Join(dir, "copy.db")
	if err := db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	restored, err := sqlite.Open(ctx, sqlite.Config{Dir: dir, Database: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close(ctx)
	if err := restored.Prepare(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if got := search(t, restored, "example"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("the backup finds %v, want [a b]", got)
	}
}

// Dropping a database drops its search index and side tables too, so a
// collection made again under the same name starts empty.
func TestDropTakesTheSearchIndex(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Config{Dir: t.TempDir(), Database: "drop"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	spec := []docdb.CollectionSpec{{Name: "people", Arrays: []string{"tags"}, Search: []string{"name", "email"},
		Indexes: []docdb.Index{{Name: "people_tags", Fields: []string{"tags"}}}}}
	if err := db.Prepare(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("people").Insert(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "name", Value: "Archer"}, {Key: "tags", Value: bson.A{"x"}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Prepare(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("people").Insert(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "name", Value: "Bob"}}); err != nil {
		t.Fatal(err)
	}
	if got := search(t, db, "archer"); len(got) != 0 {
		t.Errorf("after a drop, searching the old name finds %v", got)
	}
	n, err := db.Collection("people").Count(ctx, bson.D{{Key: "tags", Value: "x"}})
	if err != nil || n != 0 {
		t.Errorf("after a drop, the old tag is still held: %d, %v", n, err)
	}
}
