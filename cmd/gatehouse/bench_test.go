package main

// Benchmarks of the hot operations through the whole gateway: real HTTP
// (httptest), the real store holding 10,000 users, on each engine in turn
// (storetest). Each benchmark seeds its own database once, before the
// timer starts; nothing is seeded unless benchmarks run.
//
//	GATEHOUSE_TEST_ENGINES=sqlite go test -run '^$' -bench . -benchtime 3x ./cmd/gatehouse/
//
// On the MongoDB pass without MONGODB_URI the figures are the in-process
// stand-in's, which filters in Go: compare those with nothing.

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

const (
	benchUsers    = 10_000
	benchSigner   = "signer"
	benchPassword = "bench-password"
)

// benchGateway is a gateway on a store of benchUsers users: every one with
// the same unusable password hash, but the last (benchSigner), whose hash is
// a real argon2id one of benchPassword. It returns a token of user 1,
// already checked once (so cached, as the default --token-cache-ttl keeps
// it).
func benchGateway(b *testing.B, args ...string) (*testGateway, string) {
	b.Helper()
	ctx := context.Background()
	s := storetest.Open(b, store.Options{})
	hash, err := auth.NewHasher(1).Hash(ctx, benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	users := make([]store.NewUser, benchUsers)
	for i := range users {
		users[i] = store.NewUser{Username: fmt.Sprintf("bench%05d", i+1), Email: fmt.Sprintf("bench%05d@example.com", i+1),
			FirstName: "Bench", LastName: "User", PasswordHash: "!unusable", IsActive: true}
	}
	users[benchUsers-1].Username, users[benchUsers-1].PasswordHash = benchSigner, hash
	ids, err := s.CreateUsers(ctx, users)
	if err != nil {
		b.Fatal(err)
	}
	g := newTestGatewayOn(b, s, args...)
	token := signedIn(b, s, ids[0])
	g.query(b, token, `{ me { id } }`, nil).mustData(b)
	return g, token
}

// benchQuery times one operation, checking every answer.
func benchQuery(b *testing.B, g *testGateway, token, query string, vars map[string]any, check func(map[string]any) error) {
	b.Helper()
	if err := check(g.query(b, token, query, vars).mustData(b)); err != nil { // once, untimed
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		g.query(b, token, query, vars).mustData(b)
	}
}

func BenchmarkSignIn(b *testing.B) {
	g, _ := benchGateway(b)
	benchQuery(b, g, "", signInQuery, map[string]any{"u": benchSigner, "p": benchPassword}, func(d map[string]any) error {
		if dig(d, "signIn", "user", "id") != fmt.Sprint(benchUsers) {
			return fmt.Errorf("signIn %v", d)
		}
		return nil
	})
}

func BenchmarkMe(b *testing.B) {
	g, token := benchGateway(b)
	benchQuery(b, g, token, `{ me { id username email } }`, nil, func(d map[string]any) error {
		if dig(d, "me", "id") != "1" {
			return fmt.Errorf("me %v", d)
		}
		return nil
	})
}

func BenchmarkUserByID(b *testing.B) {
	g, token := benchGateway(b)
	benchQuery(b, g, token, `{ user(id: "5000") { id username email } }`, nil, func(d map[string]any) error {
		if dig(d, "user", "username") != "bench05000" {
			return fmt.Errorf("user %v", d)
		}
		return nil
	})
}

func BenchmarkUsersFirst20(b *testing.B) {
	g, token := benchGateway(b)
	benchQuery(b, g, token, `{ users(first: 20) { nodes { id username email } } }`, nil, func(d map[string]any) error {
		if nodes, _ := dig(d, "users", "nodes").([]any); len(nodes) != 20 || dig(nodes[19], "id") != "20" {
			return fmt.Errorf("users %v", d)
		}
		return nil
	})
}

func BenchmarkUsersFirst20WithTotalCount(b *testing.B) {
	g, token := benchGateway(b)
	benchQuery(b, g, token, `{ users(first: 20) { totalCount nodes { id username email } } }`, nil, func(d map[string]any) error {
		if nodes, _ := dig(d, "users", "nodes").([]any); len(nodes) != 20 || dig(d, "users", "totalCount") != float64(benchUsers) {
			return fmt.Errorf("users %v", d)
		}
		return nil
	})
}
