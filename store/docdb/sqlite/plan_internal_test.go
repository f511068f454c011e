package sqlite

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// The lookups the store makes on declared indexes are answered by those
// indexes: SQLite's plan searches an index and scans no table.
func TestLookupsSearchTheirIndexes(t *testing.T) {
	ctx := context.Background()
	db := openPrepared(t, docdb.CollectionSpec{Name: "users", Arrays: []string{"roles"}, Search: []string{"username", "email"}, Indexes: []docdb.Index{
		{Name: "users_username", Fields: []string{"username"}, Unique: true},
		{Name: "users_person", Fields: []string{"person"}},
		{Name: "users_username_key", Fields: []string{"username_key"}, Unique: true, Sparse: true},
		{Name: "users_roles", Fields: []string{"roles"}},
		{Name: "messages_mailing_status", Fields: []string{"mailing", "status"}},
	}})
	tbl, err := db.table(ctx, "users")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		filter bson.D
	}{
		{"by id", bson.D{{Key: "_id", Value: "00000000000000000007"}}},
		{"by ids", bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"a", "b"}}}}}},
		{"by username", bson.D{{Key: "username", Value: "alice"}}},
		{"without a person", bson.D{{Key: "person", Value: nil}}},
		// A sparse index still holds the documents without the field here.
		{"without a username key", bson.D{{Key: "username_key", Value: nil}}},
		{"holding a role", bson.D{{Key: "roles", Value: "00000000000000000003"}}},
		{"holding any of roles", bson.D{{Key: "roles", Value: bson.D{{Key: "$in", Value: bson.A{"a", "b"}}}}}},
		{"a compound index's prefix", bson.D{{Key: "mailing", Value: "m"}, {Key: "status", Value: "SENT"}}},
		{"a search", bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "username", Value: bson.D{{Key: "$regex", Value: "archer"}, {Key: "$options", Value: "i"}}}},
			bson.D{{Key: "email", Value: bson.D{{Key: "$regex", Value: "archer"}, {Key: "$options", Value: "i"}}}},
		}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &query{t: tbl}
			where, err := q.where(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := db.read.QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT id, json(doc) FROM "+quote("users")+" WHERE "+where, q.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			text := strings.Join(plan, "; ")
			if !strings.Contains(text, "USING") || scansUsers.MatchString(text) {
				t.Errorf("plan %q: want an index search and no scan of the table (%s)", text, where)
			}
		})
	}
}

// scansUsers finds a scan of the users table itself in a plan (a scan of
// its search index, users$search, is a read of the index).
var scansUsers = regexp.MustCompile(`SCAN "?users"?(;|\s|$)`)
