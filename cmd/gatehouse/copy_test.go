package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// copyCmd runs gatehouse copy with args, and returns what it printed.
func copyCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"copy"}, args...), noEnv, strings.NewReader(""), &out, io.Discard)
	return out.String(), err
}

// migratedDataDir is a data directory holding a migrated store (its seeded
// permissions and counters are data enough to copy).
func migratedDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := run(context.Background(), []string{"migrate", "--data", dir}, noEnv, strings.NewReader(""), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A mistyped --from is refused, naming the path, and nothing is created:
// neither the source nor the target. A directory without the database, or
// with an empty one (as a copy from a mistyped path used to leave), holds
// no Gatehouse data.
func TestCopyRefusesASourceWithoutData(t *testing.T) {
	if storetest.Engine() != storetest.SQLite {
		t.Skip("copies data directories")
	}
	base := t.TempDir()
	target := filepath.Join(base, "target")
	emptyDir := filepath.Join(base, "empty")
	if err := os.Mkdir(emptyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	emptyDB := filepath.Join(base, "emptydb")
	db, err := store.OpenEngine(context.Background(), store.Config{DataDir: emptyDB, Database: "gatehouse"})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close(context.Background())

	for _, c := range []struct{ from, says string }{
		{filepath.Join(base, "dtaa"), "no such directory"},
		{emptyDir, "holds no Gatehouse data"},
		{emptyDB, "holds no Gatehouse data"},
	} {
		out, err := copyCmd(t, "--from", c.from, "--to", target)
		if err == nil || !strings.Contains(err.Error(), c.from) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("copy --from %s: %v (want an error naming the path and saying %q)\n%s", c.from, err, c.says, out)
		}
		if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("copy --from %s created the target: %v", c.from, err)
		}
	}
	if _, err := os.Stat(filepath.Join(base, "dtaa")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the mistyped source was created: %v", err)
	}
	if _, err := os.Stat(filepath.Join(emptyDir, "gatehouse.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database was created in the source: %v", err)
	}
}

// A target that holds data is refused with the way out named: --replace.
func TestCopyRefusalNamesReplace(t *testing.T) {
	if storetest.Engine() != storetest.SQLite {
		t.Skip("copies data directories")
	}
	from, to := migratedDataDir(t), migratedDataDir(t)
	_, err := copyCmd(t, "--from", from, "--to", to)
	if err == nil || !strings.Contains(err.Error(), "--replace") || !strings.Contains(err.Error(), to) || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("copy into a store that holds data: %v (want it refused, naming the target and --replace)", err)
	}
	if out, err := copyCmd(t, "--from", from, "--to", to, "--replace"); err != nil || !strings.Contains(out, "done: every collection") {
		t.Errorf("copy with --replace: %v\n%s", err, out)
	}
	// The same directory spelled two ways is one store.
	if _, err := copyCmd(t, "--from", from, "--to", from+"/."); err == nil || !strings.Contains(err.Error(), "same store") {
		t.Errorf("copy of a directory onto itself: %v", err)
	}
}

// copy refuses a data directory that a gateway process is serving, as
// source and as target, since the gateway would write during the copy;
// the gateway's hold ends with it, even when it is killed, so a copy after
// a crash runs. And a gateway does not start on a directory being copied.
func TestCopyRefusesADataDirectoryInUse(t *testing.T) {
	if storetest.Engine() != storetest.SQLite {
		t.Skip("copies data directories")
	}
	served, other := migratedDataDir(t), t.TempDir()
	gw := startGatehouse(t, served, nil, "serve", "--data", served, "--addr", "127.0.0.1:0")
	gw.logs.wait(t, "listening", time.Minute)

	for _, args := range [][]string{{"--from", served, "--to", other}, {"--from", migratedDataDir(t), "--to", served, "--replace"}} {
		_, err := copyCmd(t, args...)
		if err == nil || !strings.Contains(err.Error(), "in use by another Gatehouse process") || !strings.Contains(err.Error(), served) {
			t.Errorf("copy %v while a gateway serves %s: %v", args, served, err)
		}
	}
	if _, err := os.Stat(filepath.Join(other, "gatehouse.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused copy wrote its target: %v", err)
	}

	if err := gw.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.exited(t, 30*time.Second); err == nil {
		t.Fatal("the killed gateway exited cleanly")
	}
	if out, err := copyCmd(t, "--from", served, "--to", other); err != nil {
		t.Fatalf("copy after the gateway was killed: %v\n%s", err, out)
	}

	// While a copy holds the directory, a gateway refuses to start on it.
	hold, err := holdDataAlone(other, "gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.release()
	refused := startGatehouse(t, other, nil, "serve", "--data", other, "--addr", "127.0.0.1:0")
	logs, err := refused.exited(t, time.Minute)
	if err == nil || !strings.Contains(logs, "gatehouse copy is using") {
		t.Errorf("serve on a directory being copied: %v\n%s", err, logs)
	}
}

// A mistyped --data is refused by backup too, instead of being created
// and backed up empty.
func TestBackupRefusesADataDirectoryWithoutData(t *testing.T) {
	if storetest.Engine() != storetest.SQLite {
		t.Skip("backs up the embedded store")
	}
	base := t.TempDir()
	typo, to := filepath.Join(base, "dtaa"), filepath.Join(base, "backup.db")
	err := run(context.Background(), []string{"backup", "--data", typo, "--to", to}, noEnv, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), typo) {
		t.Errorf("backup of a mistyped data directory: %v", err)
	}
	for _, p := range []string{typo, to} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was created: %v", p, err)
		}
	}
}
