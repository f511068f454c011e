package sqlite_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb/sqlite"
)

// BenchmarkSynchronous prices the durability setting: one small write (an
// update that commits alone) under NORMAL and under FULL.
//
//	go test -run '^$' -bench Synchronous ./store/docdb/sqlite/
func BenchmarkSynchronous(b *testing.B) {
	for _, sync := range []sqlite.Synchronous{sqlite.SynchronousNormal, sqlite.SynchronousFull} {
		b.Run(string(sync), func(b *testing.B) {
			ctx := context.Background()
			db, err := sqlite.Open(ctx, sqlite.Config{Dir: b.TempDir(), Database: "bench", Synchronous: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close(ctx)
			coll := db.Collection("writes")
			if _, err := coll.Insert(ctx, bson.D{{Key: "_id", Value: "counter"}, {Key: "n", Value: 0}}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "counter"}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}}, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}
