package store_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// BenchmarkLargeStore times the reads a gateway makes, on a store of
// largeUsers users, single client:
//
//	go test -run '^$' -bench LargeStore -benchtime 50x ./store/
//
// On the MongoDB engine it runs only against a real server (MONGODB_URI):
// the in-process stand-in would take an hour to seed.
func BenchmarkLargeStore(b *testing.B) {
	if storetest.Engine() == storetest.MongoDB && os.Getenv("MONGODB_URI") == "" {
		b.Skip("set MONGODB_URI to run it on MongoDB")
	}
	s, ids := largeStore(b)
	ctx := context.Background()
	mid := ids[len(ids)/2]
	name := fmt.Sprintf("user%06d", len(ids)/2+1)
	lookup := func(v string) *store.StringLookup { return &store.StringLookup{Exact: &v} }
	icontains := func(v string) *store.StringLookup { return &store.StringLookup{IContains: &v} }
	for _, c := range []struct {
		name string
		run  func() (int, error)
	}{
		{"page/unfiltered", func() (int, error) {
			u, err := s.FindUsers(ctx, nil, nil, store.Page{Limit: 20})
			return len(u), err
		}},
		{"page/deep", func() (int, error) {
			u, err := s.FindUsers(ctx, nil, nil, store.Page{Offset: largeUsers - 40, Limit: 20})
			return len(u), err
		}},
		{"page/by-username", func() (int, error) {
			u, err := s.FindUsers(ctx, nil, []store.UserSort{{Field: store.UserSortUsername, Direction: store.Descending}}, store.Page{Limit: 20})
			return len(u), err
		}},
		{"lookup/id", func() (int, error) { _, err := s.UserByID(ctx, mid); return 1, err }},
		{"lookup/username", func() (int, error) { _, err := s.UserByUsername(ctx, name); return 1, err }},
		{"lookup/email", func() (int, error) {
			u, err := s.FindUsers(ctx, &store.UserFilter{Email: lookup(name + "@example.com")}, nil, store.Page{Limit: 1})
			return len(u), err
		}},
		{"lookup/sign-in", func() (int, error) { _, _, err := s.UserCredentials(ctx, name); return 1, err }},
		{"page/search", func() (int, error) {
			u, err := s.FindUsers(ctx, &store.UserFilter{Search: "user0500"}, nil, store.Page{Limit: 20})
			return len(u), err
		}},
		{"page/icontains", func() (int, error) {
			u, err := s.FindUsers(ctx, &store.UserFilter{FirstName: icontains("ENCH")}, nil, store.Page{Limit: 20})
			return len(u), err
		}},
		{"count/all", func() (int, error) { return s.CountUsers(ctx, nil) }},
		{"page/search-common", func() (int, error) {
			u, err := s.FindUsers(ctx, &store.UserFilter{Search: "example"}, nil, store.Page{Limit: 20})
			return len(u), err
		}},
		{"count/search-common", func() (int, error) { return s.CountUsers(ctx, &store.UserFilter{Search: "example"}) }},
		{"count/search", func() (int, error) { return s.CountUsers(ctx, &store.UserFilter{Search: "user0500"}) }},
		{"count/icontains", func() (int, error) {
			return s.CountUsers(ctx, &store.UserFilter{Email: icontains("00@EXAMPLE")})
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				n, err := c.run()
				if err != nil || n == 0 {
					b.Fatalf("%d %v", n, err)
				}
			}
		})
	}
}

const largeUsers = 100_000

func largeStore(b *testing.B) (*store.Store, []store.ID) {
	b.Helper()
	s := storetest.Open(b, store.Options{})
	ctx := context.Background()
	users := make([]store.NewUser, largeUsers)
	for i := range users {
		users[i] = store.NewUser{Username: fmt.Sprintf("user%06d", i+1), Email: fmt.Sprintf("user%06d@example.com", i+1),
			FirstName: "Bench", LastName: fmt.Sprintf("User %d", i), PasswordHash: "!unusable", IsActive: true}
	}
	start := time.Now()
	ids, err := s.CreateUsers(ctx, users)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d users in %v", len(ids), time.Since(start).Round(time.Millisecond))
	return s, ids
}

// BenchmarkLargeStoreStart opens and migrates a store of largeUsers users,
// as serve does at start, and reports the heap it holds afterwards.
func BenchmarkLargeStoreStart(b *testing.B) {
	if storetest.Engine() != storetest.SQLite {
		b.Skip("the embedded store's start")
	}
	name := storetest.NewDatabase()
	seed, err := storetest.OpenDatabase(context.Background(), name, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	users := make([]store.NewUser, largeUsers)
	for i := range users {
		users[i] = store.NewUser{Username: fmt.Sprintf("user%06d", i+1), Email: fmt.Sprintf("user%06d@example.com", i+1), IsActive: true}
	}
	if _, err := seed.CreateUsers(context.Background(), users); err != nil {
		b.Fatal(err)
	}
	_ = seed.Close(context.Background())
	for b.Loop() {
		s, err := storetest.OpenDatabase(context.Background(), name, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.UserByID(context.Background(), 1); err != nil {
			b.Fatal(err)
		}
		_ = s.Close(context.Background())
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-MB")
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				var n float64
				fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), &n)
				b.ReportMetric(n/1024, "peak-RSS-MB")
			}
		}
	}
}
