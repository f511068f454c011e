package store

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// Index names: duplicate-key errors are told apart by them.
const (
	idxUsername = "users_username_unique"
	idxEmail    = "users_email_key_unique"
)

// collections declares every collection, its indexes and its array
// fields, once for both engines; docs/operations.md explains each index.
var collections = []docdb.CollectionSpec{
	{Name: colCounters},
	{Name: colUsers, Arrays: []string{"roles", "permissions"}, Search: userSearchFields, Indexes: []docdb.Index{
		{Name: idxUsername, Fields: []string{"username"}, Unique: true},
		{Name: idxEmail, Fields: []string{"email_key"}, Unique: true},
		{Name: "users_email", Fields: []string{"email"}},
		// Finds the users an older version stored without a person.
		{Name: "users_person", Fields: []string{"person"}},
		{Name: "users_date_joined", Fields: []string{"date_joined"}},
		{Name: "users_roles", Fields: []string{"roles"}},
		{Name: "users_permissions", Fields: []string{"permissions"}},
	}},
	{Name: colTokens, Indexes: []docdb.Index{
		{Name: "tokens_user_id", Fields: []string{"user_id"}},
	}},
	{Name: colThrottle, Indexes: []docdb.Index{
		{Name: "signin_throttle_window_start", Fields: []string{"window_start"}},
	}},
	{Name: colPermissions, Indexes: []docdb.Index{
		{Name: "permissions_codename_unique", Fields: []string{"codename"}, Unique: true},
	}},
	{Name: colRoles, Arrays: []string{"permissions"}, Indexes: []docdb.Index{
		{Name: "roles_name_unique", Fields: []string{"name"}, Unique: true},
		{Name: "roles_permissions", Fields: []string{"permissions"}},
	}},
	{Name: colTags, Indexes: []docdb.Index{
		{Name: "tags_name_unique", Fields: []string{"name"}, Unique: true},
	}},
	{Name: colCodes, Indexes: []docdb.Index{
		{Name: "operator_codes_code_unique", Fields: []string{"code"}, Unique: true},
	}},
	{Name: colClients, Indexes: []docdb.Index{
		{Name: "clients_tag", Fields: []string{"tag"}},
		{Name: "clients_code", Fields: []string{"mobile_operator_code"}},
	}},
	{Name: colMailings, Arrays: []string{"tags", "codes"}, Indexes: []docdb.Index{
		{Name: "mailings_status", Fields: []string{"status"}},
	}},
	{Name: colMessages, Indexes: []docdb.Index{
		// One message per (mailing, client): the dispatcher may try to create
		// a client's message twice, and the index makes the second a no-op.
		{Name: "messages_mailing_client_unique", Fields: []string{"mailing", "client"}, Unique: true},
		// A mailing's messages by status, and its first and last send.
		{Name: "messages_mailing_status_send_date", Fields: []string{"mailing", "status", "send_date"}},
		// Deleting a client deletes its messages.
		{Name: "messages_client", Fields: []string{"client"}},
	}},
	// The dispatcher lists due work and a mailing's chunks (dispatch.go);
	// claims are read only by _id.
	{Name: colWork, Arrays: []string{"messages"}, Indexes: []docdb.Index{
		{Name: "dispatch_work_due", Fields: []string{"due"}},
		{Name: "dispatch_work_mailing", Fields: []string{"mailing"}},
	}},
	{Name: colClaims},
}

// Migrate creates the collections, their indexes and seed data. It is
// idempotent: serve runs it at every start.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.db.Prepare(ctx, collections); err != nil {
		return fmt.Errorf("prepare collections: %w", err)
	}
	if err := s.seedPermissions(ctx); err != nil {
		return err
	}
	return s.givePersons(ctx)
}

// Collections names every collection Migrate creates.
func Collections() []string {
	names := make([]string, len(collections))
	for i, c := range collections {
		names[i] = c.Name
	}
	return names
}
