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

// TagConnection is a page of tags.
type TagConnection struct {
	Edges    []TagEdge
	Nodes    []store.Tag
	PageInfo *PageInfo
	Count    Counter
}

// OperatorCodeConnection is a page of operator codes.
type OperatorCodeConnection struct {
	Edges    []OperatorCodeEdge
	Nodes    []store.OperatorCode
	PageInfo *PageInfo
	Count    Counter
}

// ClientConnection is a page of clients.
type ClientConnection struct {
	Edges    []ClientEdge
	Nodes    []store.Client
	PageInfo *PageInfo
	Count    Counter
}

// MailingConnection is a page of mailings.
type MailingConnection struct {
	Edges    []MailingEdge
	Nodes    []store.Mailing
	PageInfo *PageInfo
	Count    Counter
}

// MessageConnection is a page of messages.
type MessageConnection struct {
	Edges    []MessageEdge
	Nodes    []store.Message
	PageInfo *PageInfo
	Count    Counter
}
