package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Index names: duplicate-key errors are told apart by them.
const (
	idxUsername   = "users_username_unique"
	idxEmail      = "users_email_key_unique"
	idxTokenUser  = "tokens_user_id"
	idxUsersJoin  = "users_date_joined"
	idxThrottleAt = "signin_throttle_window_start"
	idxCodename   = "permissions_codename_unique"
	idxRoleName   = "roles_name_unique"
	idxUserRoles  = "users_roles"
	idxUserPerms  = "users_permissions"
)

// index is one index Migrate creates.
type index struct {
	collection string
	name       string
	keys       bson.D
	unique     bool
}

// indexes lists every index the gateway relies on; docs/operations.md
// explains each.
var indexes = []index{
	{colUsers, idxUsername, bson.D{{Key: "username", Value: 1}}, true},
	{colUsers, idxEmail, bson.D{{Key: "email_key", Value: 1}}, true},
	{colUsers, idxUsersJoin, bson.D{{Key: "date_joined", Value: 1}}, false},
	{colTokens, idxTokenUser, bson.D{{Key: "user_id", Value: 1}}, false},
	{colThrottle, idxThrottleAt, bson.D{{Key: "window_start", Value: 1}}, false},
	{colPermissions, idxCodename, bson.D{{Key: "codename", Value: 1}}, true},
	{colRoles, idxRoleName, bson.D{{Key: "name", Value: 1}}, true},
	{colUsers, idxUserRoles, bson.D{{Key: "roles", Value: 1}}, false},
	{colUsers, idxUserPerms, bson.D{{Key: "permissions", Value: 1}}, false},
	{colTags, "tags_name_unique", bson.D{{Key: "name", Value: 1}}, true},
	{colCodes, "operator_codes_code_unique", bson.D{{Key: "code", Value: 1}}, true},
	{colClients, "clients_tag", bson.D{{Key: "tag", Value: 1}}, false},
	{colClients, "clients_code", bson.D{{Key: "mobile_operator_code", Value: 1}}, false},
	{colMailings, "mailings_status", bson.D{{Key: "status", Value: 1}}, false},
	// One message per (mailing, client): the dispatcher may try to create
	// a client's message twice, and the index makes the second a no-op.
	{colMessages, "messages_mailing_client_unique", bson.D{{Key: "mailing", Value: 1}, {Key: "client", Value: 1}}, true},
	{colMessages, "messages_mailing_status", bson.D{{Key: "mailing", Value: 1}, {Key: "status", Value: 1}}, false},
	// The dispatcher lists due work and a mailing's chunks (dispatch.go);
	// claims are read only by _id.
	{colWork, "dispatch_work_due", bson.D{{Key: "due", Value: 1}}, false},
	{colWork, "dispatch_work_mailing", bson.D{{Key: "mailing", Value: 1}}, false},
}

// collections lists every collection, created up front so that the
// embedded store's accelerator can index them before the first request.
var collections = []string{colCounters, colUsers, colUsernames, colTokens, colThrottle, colPermissions, colRoles, colTags, colCodes, colClients, colMailings, colMessages, colWork, colClaims}

// Migrate creates the collections, their indexes and seed data. It is
// idempotent: serve runs it at every start.
func (s *Store) Migrate(ctx context.Context) error {
	existing, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("list collections: %w", classify(err))
	}
	have := map[string]bool{}
	for _, name := range existing {
		have[name] = true
	}
	for _, name := range collections {
		if have[name] {
			continue
		}
		if err := s.db.CreateCollection(ctx, name); err != nil && !isNamespaceExists(err) {
			return fmt.Errorf("create collection %s: %w", name, classify(err))
		}
	}
	for _, ix := range indexes {
		model := mongo.IndexModel{Keys: ix.keys, Options: options.Index().SetName(ix.name).SetUnique(ix.unique)}
		if _, err := s.db.Collection(ix.collection).Indexes().CreateOne(ctx, model); err != nil {
			return fmt.Errorf("create index %s: %w", ix.name, classify(err))
		}
	}
	if err := s.indexUsernamesOnce(ctx); err != nil {
		return err
	}
	return s.seedPermissions(ctx)
}

// Collections names every collection Migrate creates.
func Collections() []string { return append([]string(nil), collections...) }

// isNamespaceExists tells "collection already exists" (code 48), which a
// concurrent Migrate on another gateway can cause.
func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == 48
}
