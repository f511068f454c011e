package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// A page of a search reads the index for a word few documents hold and
// scans for one most hold; a count reads the index either way.
func TestAPageScansForACommonWord(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{Dir: t.TempDir(), Database: "common"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if err := db.Prepare(ctx, []docdb.CollectionSpec{{Name: "people", Search: []string{"name", "email"}}}); err != nil {
		t.Fatal(err)
	}
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
	search := func(word string) bson.D {
		contains := bson.D{{Key: "$regex", Value: word}, {Key: "$options", Value: "i"}}
		return bson.D{{Key: "$or", Value: bson.A{bson.D{{Key: "name", Value: contains}}, bson.D{{Key: "email", Value: contains}}}}}
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
