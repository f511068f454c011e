package rest_test

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store"
)

// jsonapiFixture makes 002's examples true as written: role 7 is "dummy
// role", and the next user created gets id 19283 (johndoe in the seed).
// The id counters are moved on the real store, as an import of the legacy
// service's data would leave them.
func jsonapiFixture(g *gateway) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	counters := g.store.Collection("counters")
	for collection, last := range map[string]int64{"roles": 6, "users": 19282} {
		_, err := counters.UpdateOne(ctx, bson.D{{Key: "_id", Value: collection}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: last}}}}, true)
		if err != nil {
			g.t.Fatal(err)
		}
	}
	role, err := g.store.CreateRole(ctx, store.NewRole{Name: "dummy role"})
	if err != nil || role.ID != 7 {
		g.t.Fatalf("role 7: %v %v", role, err)
	}
}
