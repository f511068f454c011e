// Package model holds the GraphQL types that are not store types: inputs,
// payloads and connections. models_gen.go is generated; this file is not.
package model

import (
	"context"

	"github.com/gatehouse/gatehouse/store"
)

// Counter counts what a connection pages through. It runs only when a
// client asks for totalCount: counting costs a pass over the collection.
type Counter func(context.Context) (int, error)

// UserConnection is a page of users.
type UserConnection struct {
	Edges    []UserEdge
	Nodes    []store.User
	PageInfo *PageInfo
	Count    Counter
}

// RoleConnection is a page of roles.
type RoleConnection struct {
	Edges    []RoleEdge
	Nodes    []store.Role
	PageInfo *PageInfo
	Count    Counter
}

// PermissionConnection is a page of permissions.
type PermissionConnection struct {
	Edges    []PermissionEdge
	Nodes    []store.Permission
	PageInfo *PageInfo
	Count    Counter
}
