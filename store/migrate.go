package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// Index names: duplicate-key errors are told apart by them.
const (
	idxUsername    = "users_username_unique"
	idxUsernameKey = "users_username_key_unique"
	idxEmail       = "users_email_key_unique"
	idxRoleName    = "roles_name_unique"
	idxRoleNameKey = "roles_name_key_unique"
)

// collections declares every collection, its indexes and its array
// fields, once for both engines; docs/operations.md explains each index.
var collections = []docdb.CollectionSpec{
	{Name: colCounters},
	{Name: colUsers, Arrays: []string{"roles", "permissions"}, Search: userSearchFields, Indexes: []docdb.Index{
		{Name: idxUsername, Fields: []string{"username"}, Unique: true},
		// Usernames unique whatever their case (usernameKey). Sparse, as a
		// user stored before the key, or by an older version still serving
		// beside this one during an upgrade, has none until Migrate gives
		// it one (fillCaselessKeys).
		{Name: idxUsernameKey, Fields: []string{"username_key"}, Unique: true, Sparse: true},
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
		{Name: idxRoleName, Fields: []string{"name"}, Unique: true},
		// Role names unique whatever their case (roleNameKey), sparse as
		// the users' key.
		{Name: idxRoleNameKey, Fields: []string{"name_key"}, Unique: true, Sparse: true},
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
	if err := s.fillCaselessKeys(ctx, s.users(), "username", "username_key", usernameKey); err != nil {
		return err
	}
	if err := s.fillCaselessKeys(ctx, s.roles(), "name", "name_key", roleNameKey); err != nil {
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

// fillCaselessKeys gives every document of coll stored without a key
// (keyField) the key of its name (nameField, keyOf), so that its unique
// index holds for it too: a new name equal to it whatever its case is
// refused. Documents stored before the key existed may already differ
// only in case; the index cannot refuse them after the fact, and failing
// the migration would keep the gateway from starting. So documents are
// keyed in id order, and one whose key an older one (or any keyed one)
// holds gets a key of its own (ownKey) that no name folds to: both keep
// working under the names they have, which the exact unique index still
// keeps apart, and each of those names stays taken for new ones as long
// as the older holds its key.
//
// Run at every start, this also keys what an older version wrote while
// both served during an upgrade. The key's index is sparse, so on MongoDB
// it cannot find the documents without one, and looking costs a scan of
// the collection; the embedded store finds them through the index.
func (s *Store) fillCaselessKeys(ctx context.Context, coll docdb.Collection, nameField, keyField string, keyOf func(string) string) error {
	for {
		var missing []struct {
			ID     ID     `bson:"_id"`
			Fields bson.M `bson:",inline"`
		}
		err := coll.Find(ctx, bson.D{{Key: keyField, Value: nil}}, docdb.FindOptions{
			Projection: bson.D{{Key: nameField, Value: 1}},
			Sort:       bson.D{{Key: "_id", Value: 1}},
			Limit:      writeBatch,
		}, &missing)
		if err != nil {
			return fmt.Errorf("find %s without %s: %w", coll.Name(), keyField, err)
		}
		if len(missing) == 0 {
			return nil
		}
		ids := make([]ID, len(missing))
		keys := make([]string, len(missing))
		for i, doc := range missing {
			name, _ := doc.Fields[nameField].(string)
			ids[i], keys[i] = doc.ID, keyOf(name)
		}
		var holders []bson.M
		if err := coll.Find(ctx, bson.D{{Key: keyField, Value: bson.D{{Key: "$in", Value: keys}}}},
			docdb.FindOptions{Projection: bson.D{{Key: keyField, Value: 1}}}, &holders); err != nil {
			return fmt.Errorf("find %s holding keys: %w", coll.Name(), err)
		}
		held := map[string]bool{}
		for _, h := range holders {
			if k, ok := h[keyField].(string); ok {
				held[k] = true
			}
		}
		writes := make([]docdb.Write, len(missing))
		for i := range missing {
			if held[keys[i]] {
				keys[i] = ownKey(ids[i])
			}
			held[keys[i]] = true
			writes[i] = setKeyIfMissing(ids[i], keyField, keys[i])
		}
		_, err = s.bulkWrite(ctx, coll, writes)
		if isDuplicateKey(err) {
			// A name stored meanwhile took one of these keys: one by one,
			// each that is taken now gets its own.
			err = s.keyOneByOne(ctx, coll, keyField, ids, keys)
		}
		if err != nil {
			return fmt.Errorf("give %s a %s: %w", coll.Name(), keyField, err)
		}
	}
}

// keyOneByOne gives each document its key, or its own key where the key
// is taken.
func (s *Store) keyOneByOne(ctx context.Context, coll docdb.Collection, keyField string, ids []ID, keys []string) error {
	for i, id := range ids {
		w := setKeyIfMissing(id, keyField, keys[i])
		_, err := coll.UpdateOne(ctx, w.Filter, w.Update, false)
		if isDuplicateKey(err) {
			w = setKeyIfMissing(id, keyField, ownKey(id))
			_, err = coll.UpdateOne(ctx, w.Filter, w.Update, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// setKeyIfMissing keys one document; the filter keeps a key another
// gateway gave it meanwhile.
func setKeyIfMissing(id ID, keyField, key string) docdb.Write {
	return docdb.Write{
		Filter: bson.D{{Key: "_id", Value: id}, {Key: keyField, Value: nil}},
		Update: bson.D{{Key: "$set", Value: bson.D{{Key: keyField, Value: key}}}},
	}
}
