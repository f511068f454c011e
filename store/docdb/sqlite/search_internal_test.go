package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// openPrepared opens a database of its own for the test, closed when it
// ends, with the collections spec declares.
func openPrepared(t *testing.T, spec ...docdb.CollectionSpec) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, Config{Dir: t.TempDir(), Database: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(ctx) })
	if err := db.Prepare(ctx, spec); err != nil {
		t.Fatal(err)
	}
	return db
}

// openPeople opens a database whose collection "people" has a search
// index over name and email.
func openPeople(t *testing.T) *DB {
	t.Helper()
	return openPrepared(t, docdb.CollectionSpec{Name: "people", Search: []string{"name", "email"}})
}

// search is the filter the store's search writes for word over name and
// email: an $or of case-insensitive contains.
func search(word string) bson.D {
	contains := bson.D{{Key: "$regex", Value: word}, {Key: "$options", Value: "i"}}
	return bson.D{{Key: "$or", Value: bson.A{bson.D{{Key: "name", Value: contains}}, bson.D{{Key: "email", Value: contains}}}}}
}

// A page of a search reads the index for a word few documents hold and
// scans for one most hold; a count reads the index either way.
func TestAPageScansForACommonWord(t *testing.T) {
	ctx := context.Background()
	db := openPeople(t)
	docs := make([]any, fewForAPage+10)
	for i := range docs {
		docs[i] = bson.D{{Key: "_id", Value: fmt.Sprintf("%05d", i)}, {Key: "name", Value: fmt.Sprintf("Person %d", i)},
			{Key: "email", Value: fmt.Sprintf("p%d@example.org", i)}}
	}
	if _, err := db.Collection("people").Insert(ctx, docs...); err != nil {
		t.Fatal(err)
	}
	tbl, err := db.table(ctx, "people")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		word      string
		page      bool
		wantIndex bool
	}{
		{"p1000@", true, true},
		{"EXAMPLE", true, false},
		{"EXAMPLE", false, true},
		{"p1000@", false, true},
	} {
		q := db.query(ctx, tbl, tc.page)
		where, err := q.where(search(tc.word))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(where, " MATCH "); got != tc.wantIndex {
			t.Errorf("%q, page %v: reads the index = %v, want %v (%s)", tc.word, tc.page, got, tc.wantIndex, where)
		}
	}
	// Either way, the answers are the same.
	var page []bson.M
	if err := db.Collection("people").Find(ctx, search("EXAMPLE"), docdb.FindOptions{Limit: 3, Sort: bson.D{{Key: "_id", Value: 1}}}, &page); err != nil || len(page) != 3 || page[0]["_id"] != "00000" {
		t.Errorf("a page for a common word: %v, %v", page, err)
	}
	n, err := db.Collection("people").Count(ctx, search("EXAMPLE"))
	if err != nil || n != int64(len(docs)) {
		t.Errorf("a count for a common word: %d, %v; want %d", n, err, len(docs))
	}
}

// A page of a search asks the index how many documents hold each word
// before it writes the SQL. When that probe fails, the page fails with it:
// a broken index, or a request out of time, is told, not answered by
// another plan.
func TestAFailingSearchProbeFailsThePage(t *testing.T) {
	ctx := context.Background()
	db := openPeople(t)
	if _, err := db.Collection("people").Insert(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "name", Value: "Alice"}, {Key: "email", Value: "alice@example.org"}}); err != nil {
		t.Fatal(err)
	}
	tbl, err := db.table(ctx, "people")
	if err != nil {
		t.Fatal(err)
	}
	alice := search("alice")

	over, cancel := context.WithCancel(ctx)
	cancel()
	if where, err := db.query(over, tbl, true).where(alice); !errors.Is(err, context.Canceled) {
		t.Errorf("a probe out of time: %v, SQL %q; want context.Canceled", err, where)
	}

	if err := db.writeTx(ctx, func(tx runner) error {
		_, err := tx.ExecContext(ctx, `DROP TABLE "people$search"`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if where, err := db.query(ctx, tbl, true).where(alice); err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Errorf("a probe of an index that is gone: %v, SQL %q; want the engine's error", err, where)
	}
	var page []bson.M
	if err := db.Collection("people").Find(ctx, alice, docdb.FindOptions{Limit: 1}, &page); err == nil {
		t.Errorf("a page read through an index that is gone answered %v", page)
	}
}
