package rest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// BenchmarkRESTOverGraphQL measures what the REST layer adds to the
// GraphQL request it runs: each legacy read, the equivalent GraphQL
// request (the same operation document, over GraphQL-over-HTTP), and the
// direct store read underneath, in one run, through the same router and
// without the network. Compare ns/op across the three of each group.
func BenchmarkRESTOverGraphQL(b *testing.B) {
	g := newGateway(b, withTokenCache())
	token := "Token " + g.tokens["alice"]
	ctx := context.Background()

	graphQLBody := func(query string, vars map[string]any) string {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		return string(body)
	}
	account := `query Account($id: ID!) { user(id: $id) { id firstName lastName email username person } }`
	managedUsers := `query ManagedUsers($offset: Int!, $limit: Int!) { users(offset: $offset, limit: $limit) {
		totalCount nodes { id roles { id } lastLogin username firstName lastName isActive dateJoined phoneNumber email } } }`

	noErrors := func(status int, body string) bool {
		return status == http.StatusOK && !strings.Contains(body, `"errors"`)
	}
	run := func(b *testing.B, method, path, body string) {
		g.benchRequest(b, token, method, path, body, noErrors)
	}

	b.Run("user/rest GET /api/users/66", func(b *testing.B) {
		run(b, http.MethodGet, "/api/users/66", "")
	})
	b.Run("user/graphql", func(b *testing.B) {
		run(b, http.MethodPost, "/graphql", graphQLBody(account, map[string]any{"id": "66"}))
	})
	b.Run("user/store", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.store.UserByID(ctx, 66); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("list/rest GET /api/users/?limit=20", func(b *testing.B) {
		run(b, http.MethodGet, "/api/users/?limit=20", "")
	})
	b.Run("list/graphql", func(b *testing.B) {
		run(b, http.MethodPost, "/graphql", graphQLBody(managedUsers, map[string]any{"offset": 0, "limit": 20}))
	})
	jsonapiUsers := `query JSONAPIUsers($offset: Int!, $limit: Int!) { users(offset: $offset, limit: $limit) {
		totalCount nodes { id username firstName lastName uname email phoneNumber isActive isStaff isSuperuser
		dateJoined lastLogin person createdBy { id } modifiedBy { id } created modified } } }`
	b.Run("jsonapi-list/rest GET /users?page_size=20", func(b *testing.B) {
		run(b, http.MethodGet, "/users?page_size=20", "")
	})
	b.Run("jsonapi-list/graphql", func(b *testing.B) {
		run(b, http.MethodPost, "/graphql", graphQLBody(jsonapiUsers, map[string]any{"offset": 0, "limit": 20}))
	})

	b.Run("list/store", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			users, err := g.store.FindUsers(ctx, &store.UserFilter{}, nil, store.Page{Limit: 20})
			if err != nil || len(users) != 20 {
				b.Fatal(err)
			}
			if _, err := g.store.CountUsers(ctx, &store.UserFilter{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchRequest times one request through the router, without the
// network, checking every answer with ok.
func (g *gateway) benchRequest(b *testing.B, token, method, path, body string, ok func(status int, body string) bool) {
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		g.handler.ServeHTTP(w, req)
		if !ok(w.Code, w.Body.String()) {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
