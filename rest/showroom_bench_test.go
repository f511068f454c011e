package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// BenchmarkShowroomClients measures what the showroom dialect adds to the
// GraphQL request it runs: GET /api/v1/clients/?limit=50 and the same
// operation over GraphQL-over-HTTP, through the same router, without the
// network. Compare the ns/op of the two.
func BenchmarkShowroomClients(b *testing.B) {
	g := newGateway(b, withTokenCache())
	ctx := context.Background()
	tag, err := g.store.CreateTag(ctx, "vip")
	if err != nil {
		b.Fatal(err)
	}
	code, err := g.store.CreateOperatorCode(ctx, "916")
	if err != nil {
		b.Fatal(err)
	}
	in := make([]store.ClientInput, 60)
	for i := range in {
		in[i] = store.ClientInput{PhoneNumber: fmt.Sprintf("7916%07d", i), OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "Europe/Moscow"}
	}
	if _, err := g.store.CreateClients(ctx, in); err != nil {
		b.Fatal(err)
	}
	query := `query ShowroomClients($offset: Int!, $limit: Int!) { clients(offset: $offset, limit: $limit) {
		totalCount nodes { id phoneNumber timezone mobileOperatorCode { id } tag { id } } } }`
	graphQLBody, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"offset": 0, "limit": 50}})
	token := "Token " + g.tokens["alice"]
	run := func(b *testing.B, method, path, body, want string) {
		g.benchRequest(b, token, method, path, body, func(status int, body string) bool {
			return status == http.StatusOK && strings.Contains(body, want)
		})
	}
	b.Run("rest GET /api/v1/clients/?limit=50", func(b *testing.B) {
		run(b, http.MethodGet, "/api/v1/clients/?limit=50", "", `"id":50,`)
	})
	b.Run("graphql", func(b *testing.B) {
		run(b, http.MethodPost, "/graphql", string(graphQLBody), `"totalCount":60`)
	})
}
