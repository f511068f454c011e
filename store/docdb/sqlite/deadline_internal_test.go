package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// A request's deadline interrupts the statement it is waiting for: a count
// or a page that scans 100,000 users, or a write over all of them, answers
// context.DeadlineExceeded as the store's unavailable fault soon after the
// deadline, rather than when the statement would have finished; the write
// changes nothing, and the connection each ran on answers the next
// statement as before.
func TestADeadlineInterruptsTheStatement(t *testing.T) {
	ctx := context.Background()
	fields := []string{"username", "first_name", "last_name", "email"}
	db := openPrepared(t, docdb.CollectionSpec{Name: "users", Search: fields})
	const users = 100_000
	err := db.writeTx(ctx, func(tx runner) error {
		_, err := tx.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO users (id, doc) SELECT i, jsonb_object('_id', i, 'username', 'user' || i, 'first_name', 'First',
				'last_name', 'Last' || i, 'email', 'user' || i || '@example.com') FROM n`, users)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// One read connection, so that the one interrupted is the one asked next.
	db.read.SetMaxOpenConns(1)
	coll := db.Collection("users")
	contains := func(word string) bson.D { return bson.D{{Key: "$regex", Value: word}, {Key: "$options", Value: "i"}} }
	// Django's search of three words every user holds, as the store writes it.
	var search bson.A
	for _, word := range []string{"user", "example", "last"} {
		var or bson.A
		for _, f := range fields {
			or = append(or, bson.D{{Key: f, Value: contains(word)}})
		}
		search = append(search, bson.D{{Key: "$or", Value: or}})
	}
	everyone := bson.D{{Key: "$and", Value: search}}
	// A search for a word beyond ASCII, which neither the index nor LIKE
	// can read: a scan that folds every field of every user in Go.
	var folded bson.A
	for _, f := range fields {
		folded = append(folded, bson.D{{Key: f, Value: contains("zé")}})
	}
	unindexed := bson.D{{Key: "$or", Value: folded}}

	const deadline, soon = 50 * time.Millisecond, 200 * time.Millisecond
	for filter, want := range map[string]int64{"the search": users, "the scan": 0} {
		f := map[string]bson.D{"the search": everyone, "the scan": unindexed}[filter]
		start := time.Now()
		if n, err := coll.Count(ctx, f); err != nil || n != want {
			t.Fatalf("%s counts %d, %v", filter, n, err)
		}
		if took := time.Since(start); took < deadline+soon {
			t.Fatalf("%s takes %v, too short to tell an interrupted one from a finished one", filter, took)
		}
	}
	interrupted := func(name string, run func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, deadline)
		defer cancel()
		start := time.Now()
		err := run(ctx)
		took := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, docdb.ErrUnavailable) {
			t.Errorf("%s: %v, want the store unavailable for the deadline", name, err)
		}
		if took > deadline+soon {
			t.Errorf("%s: answered after %v, the deadline was %v", name, took, deadline)
		}
		t.Logf("%s: interrupted, answered after %v", name, took)
		if n, err := coll.Count(context.Background(), bson.D{{Key: "username", Value: "user7"}}); err != nil || n != 1 {
			t.Errorf("after %s: the next count is %d, %v", name, n, err)
		}
	}
	interrupted("a search's count", func(ctx context.Context) error {
		_, err := coll.Count(ctx, everyone)
		return err
	})
	interrupted("a count of a scan", func(ctx context.Context) error {
		_, err := coll.Count(ctx, unindexed)
		return err
	})
	interrupted("a search's last page", func(ctx context.Context) error {
		var page []bson.Raw
		return coll.Find(ctx, everyone, docdb.FindOptions{Skip: users - 10, Limit: 10}, &page)
	})
	interrupted("a write to every user", func(ctx context.Context) error {
		_, err := coll.UpdateMany(ctx, unindexed, bson.D{{Key: "$set", Value: bson.D{{Key: "seen", Value: true}}}})
		return err
	})
	if n, err := coll.Count(ctx, bson.D{{Key: "seen", Value: true}}); err != nil || n != 0 {
		t.Errorf("the interrupted write changed %d users, %v", n, err)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: 7}}, bson.D{{Key: "$set", Value: bson.D{{Key: "seen", Value: true}}}}, false); err != nil {
		t.Errorf("the next write: %v", err)
	}
}
