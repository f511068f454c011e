// Package graph is Gatehouse's GraphQL layer: the executable schema generated
// from schema.graphqls and the domain files under graph/schema/, thin
// resolvers over package store (a file per schema file, *.resolvers.go), the
// access-rule directives, and the error presenter.
package graph

import "github.com/gatehouse/gatehouse/store"

//go:generate go tool gqlgen generate

// Resolver holds the dependencies every resolver uses. It is built once in
// cmd/gatehouse and holds no request state.
type Resolver struct {
	Store    *store.Store
	Accounts *Accounts
	Access   *Access
	Progress *Progress
}
