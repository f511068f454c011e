package sqlite_test

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/docdb/sqlite"
)

// More statement texts than the cache keeps still run: past the bound,
// statements are prepared for one use and closed after it.
func TestStatementsPastTheCacheStillRun(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Config{Dir: t.TempDir(), Database: "stmts"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	coll := db.Collection("docs")
	for i := range 5 {
		if _, err := coll.Insert(ctx, bson.D{{Key: "_id", Value: fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	// Each length of $in list is a statement text of its own.
	for n := 1; n <= 700; n++ {
		in := bson.A{}
		for i := range n {
			in = append(in, fmt.Sprint(i))
		}
		var got []bson.Raw
		if err := coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: in}}}}, docdb.FindOptions{}, &got); err != nil {
			t.Fatalf("%d ids: %v", n, err)
		}
		if want := min(n, 5); len(got) != want {
			t.Fatalf("%d ids: %d documents, want %d", n, len(got), want)
		}
	}
}
