// Package model holds the GraphQL types that are not store types: inputs,
// payloads and connections. models_gen.go is generated; this file is not.
package model

import "github.com/gatehouse/gatehouse/store"

// UserConnection is a page of users. TotalCount is resolved only when a
// client asks for it, because counting costs a pass over the collection.
type UserConnection struct {
	Edges    []UserEdge
	Nodes    []store.User
	PageInfo *PageInfo
	// Filter is what totalCount counts.
	Filter *store.UserFilter
	// Total is set when the count was needed to find the page (`last`).
	Total *int
}
