package embedded

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// testTimeout bounds each test's calls to the store.
const testTimeout = 30 * time.Second

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), testTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// startServer starts a store in dir and closes it at the end of the test.
func startServer(tb testing.TB, dir string, logger *slog.Logger) *Server {
	tb.Helper()

	s, err := Start(testContext(tb), dir, logger)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}

	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})

	return s
}

// connect connects the driver to uri and disconnects it at the end of the
// test (before the server's Close, as cleanups run last-in first-out).
func connect(tb testing.TB, uri string) *mongo.Client {
	tb.Helper()

	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}

	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = client.Disconnect(ctx)
	})

	return client
}

// syncBuffer is a bytes.Buffer safe for FerretDB's concurrent loggers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestStartFindCloseRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := testContext(t)

	s := startServer(t, dir, nil)

	if s.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
	}
	if u, err := url.Parse(s.URI()); err != nil || u.Scheme != "mongodb" || !strings.HasPrefix(u.Host, "127.0.0.1:") {
		t.Errorf("URI() = %q (%v), want mongodb://127.0.0.1:<port>/...", s.URI(), err)
	}

	client := connect(t, s.URI())
	coll := client.Database("roundtrip").Collection("things")

	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "00000000000000000066"}, {Key: "name", Value: "sixty-six"}}); err != nil {
		t.Fatalf("InsertOne: %v", err)
	}

	var got struct {
		ID   string `bson:"_id"`
		Name string `bson:"name"`
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "00000000000000000066"}}).Decode(&got); err != nil {
		t.Fatalf("FindOne: %v", err)
	}
	if got.Name != "sixty-six" {
		t.Errorf("FindOne: name = %q, want %q", got.Name, "sixty-six")
	}

	// The client is still connected: FerretDB gives it 3 seconds before it
	// cuts the connection, so a Close bounded more tightly gives up...
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err := s.Close(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a client connected and 100 ms: err = %v, want DeadlineExceeded", err)
	}

	// ...and a later Close waits for the end.
	start := time.Now()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("Close with a client connected took %v", time.Since(start).Round(time.Millisecond))

	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}

	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx, nil); err == nil {
		t.Fatal("Ping after Close succeeded")
	}

	// Restart on the same directory: the data is still there.
	s2 := startServer(t, dir, nil)
	client2 := connect(t, s2.URI())

	var again struct {
		Name string `bson:"name"`
	}
	err = client2.Database("roundtrip").Collection("things").
		FindOne(ctx, bson.D{{Key: "_id", Value: "00000000000000000066"}}).Decode(&again)
	if err != nil {
		t.Fatalf("FindOne after restart: %v", err)
	}
	if again.Name != "sixty-six" {
		t.Errorf("FindOne after restart: name = %q, want %q", again.Name, "sixty-six")
	}
}

func TestStartFails(t *testing.T) {
	t.Run("dir under a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}

		_, err := Start(testContext(t), filepath.Join(file, "data"), nil)
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), "create data directory") {
			t.Errorf("Start: err = %v, want one about creating the data directory", err)
		}
	})

	t.Run("dir not writable", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })

		if os.Geteuid() == 0 { // root writes to any directory, but not to /proc
			if fi, err := os.Stat("/proc"); err != nil || !fi.IsDir() {
				t.Skip("running as root, and no /proc")
			}
			dir = "/proc"
		}

		_, err := Start(testContext(t), dir, nil)
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), "not writable") {
			t.Errorf("Start: err = %v, want one saying the directory is not writable", err)
		}
	})

	t.Run("dir with URI characters", func(t *testing.T) {
		_, err := Start(testContext(t), filepath.Join(t.TempDir(), "a?b"), nil)
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), "must not contain") {
			t.Errorf("Start: err = %v, want one about the path's characters", err)
		}
	})

	t.Run("canceled context, then a start on the same dir", func(t *testing.T) {
		dir := t.TempDir()

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := Start(ctx, dir, nil)
		t.Log(err)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Start with a canceled context: err = %v, want Canceled", err)
		}

		// The failed start stopped FerretDB and released the directory.
		s := startServer(t, dir, nil)
		client := connect(t, s.URI())
		if _, err := client.Database("d").Collection("c").InsertOne(testContext(t), bson.D{{Key: "x", Value: 1}}); err != nil {
			t.Errorf("InsertOne: %v", err)
		}
	})
}

// TestQuietLogger shows that FerretDB logs a failed command's response,
// _id included, at Warn, and that the logger Start gives it does not pass
// that on, even to a handler that takes every level.
func TestQuietLogger(t *testing.T) {
	const secret = "digest-0f1e2d3c4b5a69788796a5b4c3d2e1f0"

	// failCommand makes FerretDB answer ok: 0 with an error that quotes the
	// document's _id: findAndModify $inc on a string field.
	failCommand := func(t *testing.T, uri string) {
		t.Helper()
		ctx := testContext(t)
		coll := connect(t, uri).Database("quiet").Collection("tokens")

		if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: secret}, {Key: "n", Value: "not a number"}}); err != nil {
			t.Fatalf("InsertOne: %v", err)
		}

		err := coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: secret}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}}).Err()
		if err == nil {
			t.Fatal("FindOneAndUpdate $inc on a string: no error")
		}
		if !strings.Contains(err.Error(), secret) {
			t.Fatalf("FindOneAndUpdate error %q does not quote the _id: the test no longer shows the hazard", err)
		}
	}

	t.Run("FerretDB at Warn logs the _id", func(t *testing.T) {
		var buf syncBuffer
		fdb, err := ferretdb.New(&ferretdb.Config{
			Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
			Handler:   "sqlite",
			SQLiteURL: "file:" + t.TempDir() + "/",
			Logger:    slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
		if err != nil {
			t.Fatal(err)
		}

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = fdb.Run(ctx)
		}()
		t.Cleanup(func() { cancel(); <-done })

		failCommand(t, fdb.MongoDBURI())

		if !strings.Contains(buf.String(), secret) {
			t.Errorf("FerretDB's own Warn output does not contain the _id; this test no longer shows the hazard:\n%s", buf.String())
		}
	})

	t.Run("Start's logger does not", func(t *testing.T) {
		var buf syncBuffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		s := startServer(t, t.TempDir(), logger)

		failCommand(t, s.URI())

		out := buf.String()
		if strings.Contains(out, secret) {
			t.Errorf("the log contains the _id:\n%s", out)
		}
		for line := range strings.Lines(out) {
			if strings.Contains(line, "component=ferretdb") && !strings.Contains(line, "level=WARN") &&
				!strings.Contains(line, "level=ERROR") {
				t.Errorf("FerretDB logged below Warn: %s", line)
			}
		}
	})
}

func TestQuietHandler(t *testing.T) {
	var buf syncBuffer
	h := newQuietHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := slog.New(h).With("a", 1).WithGroup("g").With("b", 2)

	l.Debug("debug")
	l.Info("info")
	l.Warn("Response message:\n{secret}\n")
	l.Log(context.Background(), slog.LevelError, "Response header: {secret}")
	l.Log(context.Background(), ferretPanicLevel, "panic: {secret}", "error", "boom")
	l.Warn("Connection stopped", "conn", "x")

	out := buf.String()
	for _, unwanted := range []string{"debug", "info", "secret"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("output contains %q:\n%s", unwanted, out)
		}
	}
	for _, wanted := range []string{
		`msg="Connection stopped" a=1 g.b=2 g.conn=x`,
		`panic value withheld`,
		`g.error=boom`,
	} {
		if !strings.Contains(out, wanted) {
			t.Errorf("output lacks %q:\n%s", wanted, out)
		}
	}
}

// tableOf returns the SQLite table of a collection, from FerretDB's metadata.
func tableOf(tb testing.TB, s *Server, database, collection string) string {
	tb.Helper()

	db := openFile(tb, s, database)
	defer db.Close() // an idle handle left open would keep dropDatabase from removing -wal and -shm
	var table string
	err := db.QueryRowContext(testContext(tb),
		`SELECT table_name FROM `+quoteIdent(metadataTable)+` WHERE name = ?`, collection).Scan(&table)
	if err != nil {
		tb.Fatalf("table of %s.%s: %v", database, collection, err)
	}

	return table
}

// openFile opens a database's file beside FerretDB, closed at the end of
// the test.
func openFile(tb testing.TB, s *Server, database string) *sql.DB {
	tb.Helper()

	db, err := sql.Open("sqlite", sqliteURI(filepath.Join(s.Dir(), database+fileExtension), url.Values{"mode": {"rw"}}))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })

	return db
}

// lookupPlan returns SQLite's plan for the lookup by _id that FerretDB runs
// (internal/backends/sqlite/collection.go, Query).
func lookupPlan(tb testing.TB, s *Server, database, table string) string {
	tb.Helper()

	db := openFile(tb, s, database)
	defer db.Close()

	q := `EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM ` + quoteIdent(table) + ` WHERE ` + idExpression + ` = ?`
	rows, err := db.QueryContext(testContext(tb), q, `"00000000000000000066"`)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()

	var details []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			tb.Fatal(err)
		}
		details = append(details, detail)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}

	return strings.Join(details, "; ")
}

// acceleratedIndexes returns the names of the indexes Accelerate made.
func acceleratedIndexes(tb testing.TB, s *Server, database string) []string {
	tb.Helper()

	db := openFile(tb, s, database)
	defer db.Close()

	rows, err := db.QueryContext(testContext(tb),
		`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%' || ? ORDER BY name`, indexSuffix)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()

	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}

	return names
}

type doc struct {
	ID   any    `bson:"_id"`
	Name string `bson:"name"`
}

func TestAccelerate(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, nil)
	client := connect(t, s.URI())
	ctx := testContext(t)

	const dbName = "accel"
	db := client.Database(dbName)
	tokens := db.Collection("tokens")
	mixed := db.Collection("mixed")

	stringIDs := []string{
		"00000000000000000066", "00000000000000000067", "66", "",
		`quote " and backslash \`, "unicode é ✓", "line\nbreak", "$dollar", "{\"json\": 1}",
	}
	var docs []any
	for i, id := range stringIDs {
		docs = append(docs, doc{ID: id, Name: fmt.Sprintf("string %d", i)})
	}
	if _, err := tokens.InsertMany(ctx, docs); err != nil {
		t.Fatalf("InsertMany tokens: %v", err)
	}

	oid := bson.NewObjectID()
	if _, err := mixed.InsertMany(ctx, []any{
		doc{ID: int64(66), Name: "int64"},
		doc{ID: "66", Name: "string"},
		doc{ID: oid, Name: "objectid"},
		doc{ID: 66.5, Name: "double"},
	}); err != nil {
		t.Fatalf("InsertMany mixed: %v", err)
	}

	tokensTable := tableOf(t, s, dbName, "tokens")
	mixedTable := tableOf(t, s, dbName, "mixed")

	for _, table := range []string{tokensTable, mixedTable} {
		plan := lookupPlan(t, s, dbName, table)
		t.Logf("before Accelerate: %s", plan)
		if !strings.HasPrefix(plan, "SCAN ") {
			t.Errorf("before Accelerate, plan for %s = %q, want a SCAN", table, plan)
		}
	}

	// Accelerate while FerretDB serves writes and reads on the same database.
	var wg sync.WaitGroup
	busyCtx, stopBusy := context.WithCancel(ctx)
	busyErr := make(chan error, 1)
	busyStarted := make(chan struct{})
	wg.Go(func() {
		busy := db.Collection("busy")
		for i := 0; busyCtx.Err() == nil; i++ {
			if i == 1 {
				close(busyStarted)
			}
			id := fmt.Sprintf("%020d", i)
			if _, err := busy.InsertOne(busyCtx, doc{ID: id}); err != nil {
				if busyCtx.Err() == nil {
					busyErr <- fmt.Errorf("insert %s: %w", id, err)
				}
				return
			}
			if err := busy.FindOne(busyCtx, bson.D{{Key: "_id", Value: id}}).Err(); err != nil {
				if busyCtx.Err() == nil {
					busyErr <- fmt.Errorf("find %s: %w", id, err)
				}
				return
			}
		}
	})
	select { // Accelerate once the writer has gone round once
	case <-busyStarted:
	case err := <-busyErr:
		t.Fatalf("serving before Accelerate: %v", err)
	}

	if err := s.Accelerate(ctx, dbName); err != nil {
		t.Fatalf("Accelerate: %v", err)
	}
	if err := s.Accelerate(ctx, dbName); err != nil {
		t.Fatalf("Accelerate again: %v", err)
	}

	stopBusy()
	wg.Wait()
	select {
	case err := <-busyErr:
		t.Fatalf("serving during Accelerate: %v", err)
	default:
	}

	for _, table := range []string{tokensTable, mixedTable} {
		plan := lookupPlan(t, s, dbName, table)
		t.Logf("after Accelerate: %s", plan)
		if want := "SEARCH " + table + " USING INDEX " + table + indexSuffix; !strings.HasPrefix(plan, want) {
			t.Errorf("after Accelerate, plan for %s = %q, want %q...", table, plan, want)
		}
	}
	if got, want := acceleratedIndexes(t, s, dbName), []string{
		tableOf(t, s, dbName, "busy") + indexSuffix, mixedTable + indexSuffix, tokensTable + indexSuffix,
	}; !slices.Equal(got, want) {
		t.Errorf("indexes = %v, want %v", got, want)
	}

	findName := func(t *testing.T, coll *mongo.Collection, id any) (string, error) {
		t.Helper()
		var d doc
		err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
		return d.Name, err
	}

	t.Run("finds", func(t *testing.T) {
		for i, id := range stringIDs {
			name, err := findName(t, tokens, id)
			if want := fmt.Sprintf("string %d", i); err != nil || name != want {
				t.Errorf("find %q: %q, %v; want %q", id, name, err, want)
			}
		}
		for _, id := range []any{"00000000000000000068", "0000000000000000066", "６６"} {
			if _, err := findName(t, tokens, id); !errors.Is(err, mongo.ErrNoDocuments) {
				t.Errorf("find missing %q: err = %v, want ErrNoDocuments", id, err)
			}
		}
		for _, c := range []struct {
			id   any
			want string
		}{{int64(66), "int64"}, {int32(66), "int64"}, {"66", "string"}, {oid, "objectid"}, {66.5, "double"}} {
			if name, err := findName(t, mixed, c.id); err != nil || name != c.want {
				t.Errorf("find %T %v in mixed: %q, %v; want %q", c.id, c.id, name, err, c.want)
			}
		}
		if _, err := findName(t, mixed, bson.NewObjectID()); !errors.Is(err, mongo.ErrNoDocuments) {
			t.Errorf("find a missing ObjectID: err = %v, want ErrNoDocuments", err)
		}
		n, err := tokens.CountDocuments(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: []string{"66", "", "nope"}}}}})
		if err != nil || n != 2 {
			t.Errorf("count $in: %d, %v; want 2", n, err)
		}
	})

	t.Run("writes", func(t *testing.T) {
		if _, err := tokens.InsertOne(ctx, doc{ID: "new", Name: "inserted after"}); err != nil {
			t.Fatalf("InsertOne: %v", err)
		}
		if name, err := findName(t, tokens, "new"); err != nil || name != "inserted after" {
			t.Errorf("find new: %q, %v", name, err)
		}

		_, err := tokens.InsertOne(ctx, doc{ID: "new"})
		if !mongo.IsDuplicateKeyError(err) {
			t.Errorf("InsertOne duplicate _id: err = %v, want a duplicate key error", err)
		}

		res, err := tokens.UpdateOne(ctx, bson.D{{Key: "_id", Value: "66"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: "updated"}}}})
		if err != nil || res.MatchedCount != 1 || res.ModifiedCount != 1 {
			t.Errorf("UpdateOne: %+v, %v", res, err)
		}
		if name, err := findName(t, tokens, "66"); err != nil || name != "updated" {
			t.Errorf("find after UpdateOne: %q, %v", name, err)
		}

		if _, err := tokens.ReplaceOne(ctx, bson.D{{Key: "_id", Value: ""}}, doc{ID: "", Name: "replaced"}); err != nil {
			t.Errorf("ReplaceOne: %v", err)
		}
		if name, err := findName(t, tokens, ""); err != nil || name != "replaced" {
			t.Errorf("find after ReplaceOne: %q, %v", name, err)
		}

		var before doc
		err = tokens.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: "upserted"}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: "upsert"}}}}, options.FindOneAndUpdate().SetUpsert(true)).Decode(&before)
		if !errors.Is(err, mongo.ErrNoDocuments) {
			t.Errorf("FindOneAndUpdate upsert: err = %v, want ErrNoDocuments (no document before)", err)
		}
		if name, err := findName(t, tokens, "upserted"); err != nil || name != "upsert" {
			t.Errorf("find after upsert: %q, %v", name, err)
		}

		del, err := tokens.DeleteOne(ctx, bson.D{{Key: "_id", Value: "00000000000000000066"}})
		if err != nil || del.DeletedCount != 1 {
			t.Errorf("DeleteOne: %+v, %v", del, err)
		}
		if _, err := findName(t, tokens, "00000000000000000066"); !errors.Is(err, mongo.ErrNoDocuments) {
			t.Errorf("find after DeleteOne: err = %v, want ErrNoDocuments", err)
		}
		if name, err := findName(t, tokens, "00000000000000000067"); err != nil || name != "string 1" {
			t.Errorf("find the neighbour after DeleteOne: %q, %v", name, err)
		}

		del, err = mixed.DeleteMany(ctx, bson.D{{Key: "name", Value: bson.D{{Key: "$in", Value: []string{"int64", "double"}}}}})
		if err != nil || del.DeletedCount != 2 {
			t.Errorf("DeleteMany: %+v, %v", del, err)
		}

		if _, err := tokens.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "name", Value: 1}}}); err != nil {
			t.Errorf("CreateOne index: %v", err)
		}
		specs, err := tokens.Indexes().ListSpecifications(ctx)
		if err != nil {
			t.Fatalf("ListSpecifications: %v", err)
		}
		var names []string
		for _, sp := range specs {
			names = append(names, sp.Name)
		}
		if want := []string{"_id_", "name_1"}; !slices.Equal(names, want) {
			t.Errorf("listIndexes = %v, want %v (the accelerator's index is invisible)", names, want)
		}
		if err := tokens.Indexes().DropAll(ctx); err != nil {
			t.Errorf("dropIndexes: %v", err)
		}
		if plan := lookupPlan(t, s, dbName, tokensTable); !strings.Contains(plan, indexSuffix) {
			t.Errorf("after dropIndexes, plan = %q, want the accelerator's index still used", plan)
		}
	})

	t.Run("drop and re-create the collection", func(t *testing.T) {
		if err := tokens.Drop(ctx); err != nil {
			t.Fatalf("Drop: %v", err)
		}
		if _, err := findName(t, tokens, "66"); !errors.Is(err, mongo.ErrNoDocuments) {
			t.Errorf("find after Drop: err = %v, want ErrNoDocuments", err)
		}
		if _, err := tokens.InsertOne(ctx, doc{ID: "66", Name: "again"}); err != nil {
			t.Fatalf("InsertOne after Drop: %v", err)
		}
		if name, err := findName(t, tokens, "66"); err != nil || name != "again" {
			t.Errorf("find after re-create: %q, %v", name, err)
		}

		table := tableOf(t, s, dbName, "tokens")
		if plan := lookupPlan(t, s, dbName, table); !strings.HasPrefix(plan, "SCAN ") {
			t.Errorf("re-created collection: plan = %q, want a SCAN (the index went with the table)", plan)
		}
		if err := s.Accelerate(ctx, dbName); err != nil {
			t.Fatalf("Accelerate: %v", err)
		}
		if plan := lookupPlan(t, s, dbName, table); !strings.Contains(plan, table+indexSuffix) {
			t.Errorf("re-created collection after Accelerate: plan = %q, want the index", plan)
		}
	})

	t.Run("drop and re-create the database", func(t *testing.T) {
		if err := db.Drop(ctx); err != nil {
			t.Fatalf("Drop database: %v", err)
		}
		names, err := client.ListDatabaseNames(ctx, bson.D{})
		if err != nil || slices.Contains(names, dbName) {
			t.Errorf("ListDatabaseNames after Drop: %v, %v", names, err)
		}
		// FerretDB deletes the .sqlite file only; its -wal and -shm files go
		// when the last handle closes, which Accelerate's must not be.
		if left, _ := filepath.Glob(filepath.Join(dir, dbName+fileExtension+"*")); len(left) != 0 {
			t.Errorf("files left after Drop: %v", left)
		}
		if err := s.Accelerate(ctx, dbName); err != nil {
			t.Errorf("Accelerate a dropped database: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, dbName+fileExtension)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Accelerate created the database file: %v", err)
		}

		if _, err := tokens.InsertOne(ctx, doc{ID: "66", Name: "reborn"}); err != nil {
			t.Fatalf("InsertOne after dropDatabase: %v", err)
		}
		if name, err := findName(t, tokens, "66"); err != nil || name != "reborn" {
			t.Errorf("find after re-create: %q, %v", name, err)
		}
		if got := acceleratedIndexes(t, s, dbName); len(got) != 0 {
			t.Errorf("re-created database has indexes %v, want none", got)
		}
		if err := s.Accelerate(ctx, dbName); err != nil {
			t.Fatalf("Accelerate: %v", err)
		}
		if name, err := findName(t, tokens, "66"); err != nil || name != "reborn" {
			t.Errorf("find after Accelerate: %q, %v", name, err)
		}
	})

	t.Run("restart keeps the index", func(t *testing.T) {
		if err := client.Disconnect(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}

		s2 := startServer(t, dir, nil)
		client2 := connect(t, s2.URI())
		if name, err := findName(t, client2.Database(dbName).Collection("tokens"), "66"); err != nil || name != "reborn" {
			t.Errorf("find after restart: %q, %v", name, err)
		}
		table := tableOf(t, s2, dbName, "tokens")
		if plan := lookupPlan(t, s2, dbName, table); !strings.Contains(plan, table+indexSuffix) {
			t.Errorf("after restart: plan = %q, want the index", plan)
		}
	})
}

func TestAccelerateArguments(t *testing.T) {
	s := startServer(t, t.TempDir(), nil)
	ctx := testContext(t)

	if err := s.Accelerate(ctx, "nothing-here"); err != nil {
		t.Errorf("Accelerate a database with no file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "nothing-here"+fileExtension)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Accelerate created a file: %v", err)
	}

	for _, name := range []string{"", "../etc", "a.b", "a/b", "_ferretdb_x", strings.Repeat("a", 64)} {
		if err := s.Accelerate(ctx, name); err == nil {
			t.Errorf("Accelerate(%q): no error", name)
		}
	}
}

// BenchmarkFindByStringID measures FindOne by _id on 10,000 documents,
// without and then with Accelerate, on a string _id (which FerretDB pushes
// down to SQL) and, for contrast, an int64 _id (which it does not).
//
//	go test ./store/embedded/ -run '^$' -bench FindByStringID
func BenchmarkFindByStringID(b *testing.B) {
	const (
		docs  = 10_000
		batch = 500
	)

	s := startServer(b, b.TempDir(), nil)
	client := connect(b, s.URI())
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute) // the seeding and each sub-benchmark
	defer cancel()
	db := client.Database("bench")

	type benchDoc struct {
		ID       any    `bson:"_id"`
		Name     string `bson:"name"`
		Email    string `bson:"email"`
		Role     string `bson:"role"`
		Status   string `bson:"status"`
		Created  int64  `bson:"created"`
		Attempts int32  `bson:"attempts"`
	}

	seed := func(coll *mongo.Collection, id func(i int) any) {
		for start := 0; start < docs; start += batch {
			page := make([]any, 0, batch)
			for i := start; i < start+batch; i++ {
				page = append(page, benchDoc{
					ID: id(i), Name: fmt.Sprintf("user %d", i), Email: fmt.Sprintf("u%d@example.test", i),
					Role: "member", Status: "active", Created: 1_700_000_000 + int64(i), Attempts: int32(i % 5),
				})
			}
			if _, err := coll.InsertMany(ctx, page); err != nil {
				b.Fatalf("InsertMany: %v", err)
			}
		}
	}

	stringIDs := make([]string, docs)
	for i := range stringIDs {
		stringIDs[i] = fmt.Sprintf("%020d", i)
	}
	strColl := db.Collection("string_ids")
	intColl := db.Collection("int64_ids")
	start := time.Now()
	seed(strColl, func(i int) any { return stringIDs[i] })
	seed(intColl, func(i int) any { return int64(i) })
	b.Logf("inserted 2 × %d documents in %v", docs, time.Since(start).Round(time.Millisecond))

	find := func(coll *mongo.Collection, id func(i int) any) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			// Walk the ids with a stride so lookups spread over the table.
			// Not from 0: an int64 lookup reads the table in Go until it
			// finds the document, so the first row would be found at once
			// and throw b.Loop's ramp-up (to 100 iterations of 0.2 s).
			i := 1
			for b.Loop() {
				if _, err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id((i * 7919) % docs)}}).Raw(); err != nil {
					b.Fatalf("FindOne: %v", err)
				}
				i++
			}
		}
	}
	findString := find(strColl, func(i int) any { return stringIDs[i] })
	findInt := find(intColl, func(i int) any { return int64(i) })

	b.Run("string/docs=10000/plain", findString)
	b.Run("int64/docs=10000/plain", findInt)

	start = time.Now()
	if err := s.Accelerate(ctx, "bench"); err != nil {
		b.Fatalf("Accelerate: %v", err)
	}
	b.Logf("Accelerate indexed 2 × %d documents in %v", docs, time.Since(start).Round(time.Millisecond))

	b.Run("string/docs=10000/accelerated", findString)
	b.Run("int64/docs=10000/accelerated", findInt)
}
