package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// Reading a user by name is two point reads by _id, found or not, so
// sign-in costs the same at any number of users and does not tell by its
// time whether a name exists.
func TestUsernameLookupsReadByID(t *testing.T) {
	ctx := context.Background()
	log := &storetest.CommandLog{}
	s := storetest.Open(t, store.Options{Monitor: log.Monitor()})
	u, err := s.CreateUser(ctx, store.NewUser{Username: "nina", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	log.Reset()
	if got, hash, err := s.UserCredentials(ctx, "nina"); err != nil || got.ID != u.ID || hash != "" {
		t.Fatalf("credentials: %+v %q %v", got, hash, err)
	}
	if _, _, err := s.UserCredentials(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("credentials of nobody: %v", err)
	}
	if got, err := s.UserByUsername(ctx, "nina"); err != nil || got.ID != u.ID {
		t.Fatalf("by username: %+v %v", got, err)
	}
	// The entry and the user, nobody's entry, the entry and the user.
	finds := log.Named("find")
	if len(finds) != 5 {
		t.Errorf("%d finds, want 5: %v", len(finds), finds)
	}
	for _, f := range finds {
		if !strings.Contains(f.Text, `"filter": {"_id": "`) {
			t.Errorf("a by-name read sent %s", f.Text)
		}
	}
}

// A rename and a deletion free the old name at once; the directory never
// answers a name the user no longer has.
func TestRenamesAndDeletionsFreeNames(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	u := mustCreate(t, s, store.NewUser{Username: "old", IsActive: true})
	renamed, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Username: ptr("new")})
	if err != nil || renamed.Username != "new" {
		t.Fatalf("rename: %+v %v", renamed, err)
	}
	if _, err := s.UserByUsername(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old name still answers: %v", err)
	}
	if got, err := s.UserByUsername(ctx, "new"); err != nil || got.ID != u.ID {
		t.Errorf("the new name: %+v %v", got, err)
	}
	other := mustCreate(t, s, store.NewUser{Username: "old", IsActive: true})
	if _, err := s.UpdateUser(ctx, other.ID, store.UserUpdate{Username: ptr("new")}); fieldErrors(t, err)["username"] == nil {
		t.Errorf("renamed onto a taken name: %v", err)
	}
	if got, err := s.UserByUsername(ctx, "old"); err != nil || got.ID != other.ID {
		t.Errorf("a refused rename moved the name: %+v %v", got, err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByUsername(ctx, "new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted user's name answers: %v", err)
	}
	mustCreate(t, s, store.NewUser{Username: "new", IsActive: true})
}

// An entry left by a creator that died is taken over once its grace has
// passed, and not before; an entry that outlived a rename answers nothing.
func TestStaleUsernameEntries(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	entries := s.CollectionForTest("usernames")
	now := time.Now().UTC()
	for name, claimed := range map[string]time.Time{"ghost": now.Add(-2 * time.Minute), "pending": now} {
		if _, err := entries.InsertOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "user", Value: "00000000000000009999"}, {Key: "claimed", Value: claimed}, {Key: "claim", Value: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UserByUsername(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a stale entry answers: %v", err)
	}
	mustCreate(t, s, store.NewUser{Username: "ghost", IsActive: true})
	if _, err := s.CreateUser(ctx, store.NewUser{Username: "pending", IsActive: true}); fieldErrors(t, err)["username"] == nil {
		t.Errorf("a claim in progress was taken over: %v", err)
	}

	// A rename whose old entry was never released.
	u := mustCreate(t, s, store.NewUser{Username: "before", IsActive: true})
	if _, err := entries.InsertOne(ctx, bson.D{{Key: "_id", Value: "earlier"}, {Key: "user", Value: u.ID}, {Key: "claimed", Value: now}, {Key: "claim", Value: "y"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UserCredentials(ctx, "earlier"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a name the user no longer has answers: %v", err)
	}
}

// Users that came before the directory (or lost their entries) are
// entered by IndexUsernames: at the first migration of a database, and
// whenever the migrate command runs.
func TestIndexUsernames(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	u := mustCreate(t, s, store.NewUser{Username: "veteran", IsActive: true})
	if _, err := s.CollectionForTest("usernames").DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	// A database migrated before skips the pass at the next start.
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByUsername(ctx, "veteran"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("entered without a pass: %v", err)
	}
	if err := s.IndexUsernames(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserByUsername(ctx, "veteran"); err != nil || got.ID != u.ID {
		t.Errorf("after the pass: %+v %v", got, err)
	}
	// A database that never had the mark gets the pass at its migration.
	if _, err := s.CollectionForTest("usernames").DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CollectionForTest("counters").DeleteOne(ctx, bson.D{{Key: "_id", Value: "usernames_indexed"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserByUsername(ctx, "veteran"); err != nil || got.ID != u.ID {
		t.Errorf("after the first migration: %+v %v", got, err)
	}
	ids, err := s.CreateUsers(ctx, []store.NewUser{{Username: "batch1"}, {Username: "batch2"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserByUsername(ctx, "batch2"); err != nil || got.ID != ids[1] {
		t.Errorf("a user created in a batch: %+v %v", got, err)
	}
}
