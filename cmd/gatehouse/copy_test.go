package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// A small install moves to MongoDB with one command, and back: every
// document of every collection arrives with every field and every value's
// type, so the round trip gives the very documents it started from.
func TestCopyMovesEveryCollectionAndBack(t *testing.T) {
	if storetest.Engine() != storetest.MongoDB {
		t.Skip("copies between the engines: runs once, on the MongoDB pass")
	}
	ctx := context.Background()
	first := t.TempDir()
	database := storetest.NewDatabase()
	src, err := store.Open(ctx, store.Config{DataDir: first, Database: database}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	seedEveryCollection(t, src)
	_ = src.Close(ctx)

	mongoURI := storetest.Config("").MongoURI
	copyRun := func(from, to string, extra ...string) (string, error) {
		var out bytes.Buffer
		args := append([]string{"copy", "--from", from, "--to", to, "--database", database}, extra...)
		err := run(ctx, args, noEnv, strings.NewReader(""), &out, io.Discard)
		return out.String(), err
	}
	out, err := copyRun(first, mongoURI)
	if err != nil {
		t.Fatalf("copy to MongoDB: %v\n%s", err, out)
	}
	if !strings.Contains(out, "users ") || !strings.Contains(out, "done: every collection") {
		t.Errorf("output: %s", out)
	}
	t.Cleanup(func() {
		if db, err := store.OpenEngine(ctx, store.Config{MongoURI: mongoURI, Database: database}); err == nil {
			_ = db.Drop(ctx)
			_ = db.Close(ctx)
		}
	})
	// On MongoDB the dates are dates again (the SQLite engine keeps them as
	// milliseconds): a range on a date finds the user.
	onMongo, err := store.Open(ctx, store.Config{MongoURI: mongoURI, Database: database}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	n, err := onMongo.CountUsers(ctx, &store.UserFilter{DateJoined: &store.TimeLookup{Lt: &future}})
	_ = onMongo.Close(ctx)
	if err != nil || n != 1 {
		t.Errorf("users joined before now on MongoDB: %d %v; the copy's dates are not dates", n, err)
	}
	// A second copy into a store that holds data is refused, unless told.
	if _, err := copyRun(first, mongoURI); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a second copy: %v", err)
	}
	if out, err := copyRun(first, mongoURI, "--replace"); err != nil {
		t.Errorf("a second copy with --replace: %v\n%s", err, out)
	}
	second := t.TempDir()
	if out, err := copyRun(mongoURI, second); err != nil {
		t.Fatalf("copy back: %v\n%s", err, out)
	}

	a := openRaw(t, first, database)
	b := openRaw(t, second, database)
	for _, name := range store.Collections() {
		var before, after []bson.Raw
		sorted := docdb.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}}
		if err := a.Collection(name).Find(ctx, nil, sorted, &before); err != nil {
			t.Fatal(err)
		}
		if err := b.Collection(name).Find(ctx, nil, sorted, &after); err != nil {
			t.Fatal(err)
		}
		if len(before) == 0 {
			t.Errorf("%s: the seed left it empty; the test proves nothing of it", name)
		}
		if fmt.Sprint(before) != fmt.Sprint(after) {
			t.Errorf("%s changed on the way:\nbefore %v\nafter  %v", name, before, after)
		}
	}
	// And the copy is a working store: the user signs in on it.
	s := store.New(b, store.Options{})
	if u, hash, err := s.UserCredentials(ctx, "mover"); err != nil || u.Email != "mover@example.com" || hash == "" {
		t.Errorf("the copied user: %+v %q %v", u, hash, err)
	}
}

// seedEveryCollection writes at least one document to every collection.
func seedEveryCollection(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	role, err := s.CreateRole(ctx, store.NewRole{Name: "movers"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, store.NewUser{Username: "mover", PasswordHash: "argon2id$fake", Email: "mover@example.com", IsActive: true, RoleIDs: []store.ID{role.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateToken(ctx, strings.Repeat("ab", 32), u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ThrottleAttempt(ctx, "account:mover", time.Hour, func(int) time.Duration { return time.Minute }); err != nil {
		t.Fatal(err)
	}
	tag, _ := s.CreateTag(ctx, "vip")
	code, _ := s.CreateOperatorCode(ctx, "916")
	clients, err := s.CreateClients(ctx, []store.ClientInput{{PhoneNumber: "79160000001", OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "UTC"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m, err := s.CreateMailing(ctx, store.MailingInput{Text: "hi", Start: now, End: now.Add(time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureMailingWork(ctx, m.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMessages(ctx, m.ID, clients, store.NewMessages{Status: store.MessagePending, Now: now}); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueWork(ctx, store.DueWorkFilter{Now: now})
	if err != nil || len(due) == 0 {
		t.Fatalf("due work: %v %v", due, err)
	}
	if _, err := s.ClaimWork(ctx, &due[0], "test", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func openRaw(t *testing.T, dir, database string) docdb.DB {
	t.Helper()
	db, err := store.OpenEngine(context.Background(), store.Config{DataDir: dir, Database: database})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	return db
}

// gatehouse backup copies the embedded store while a gateway holds it open
// and writes to it; the copy is a store of its own.
func TestBackupWhileServing(t *testing.T) {
	if storetest.Engine() != storetest.SQLite {
		t.Skip("backs up the embedded store")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s := openDataDir(t, dir)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, store.NewUser{Username: "kept", IsActive: true}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	writing := make(chan error, 1)
	go func() { // the gateway goes on writing during the backup
		for i := 0; ; i++ {
			select {
			case <-stop:
				writing <- nil
				return
			default:
			}
			if _, err := s.CreateTag(ctx, fmt.Sprintf("tag%d", i)); err != nil {
				writing <- err
				return
			}
		}
	}()
	backupDir := t.TempDir()
	var out bytes.Buffer
	err := run(ctx, []string{"backup", "--data", dir, "--to", backupDir + "/gatehouse.db"}, noEnv, strings.NewReader(""), &out, io.Discard)
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-writing; err != nil {
		t.Fatalf("a write during the backup: %v", err)
	}
	if u, err := openDataDir(t, backupDir).UserByUsername(ctx, "kept"); err != nil || u.Username != "kept" {
		t.Errorf("the backup's user: %+v %v", u, err)
	}
	// A second backup does not overwrite the first.
	if err := run(ctx, []string{"backup", "--data", dir, "--to", backupDir + "/gatehouse.db"}, noEnv, strings.NewReader(""), io.Discard, io.Discard); err == nil {
		t.Error("a backup over an existing file was written")
	}
}
