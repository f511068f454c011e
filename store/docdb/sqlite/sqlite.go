// Package sqlite is the embedded engine of the storage port: every
// collection is a table of (id, doc) rows in one SQLite database file, doc
// being the document as JSONB, and every filter, sort, page and count runs
// in SQL (see query.go). Indexes are expression indexes on the fields they
// name; an index on an array field is a side table of (id, value) rows kept
// by triggers, so "users holding role 7" is an index lookup too.
//
// The file is in WAL mode: readers never wait for the writer, and several
// processes (a gateway and dispatchers) can share one data directory.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// FileExtension ends the database file's name: <dir>/<database>.db.
const FileExtension = ".db"

// Synchronous is SQLite's durability setting (PRAGMA synchronous).
//
// NORMAL, the default, loses nothing that was committed when the process
// crashes or is killed; after a power loss or an OS crash the last
// transactions may be rolled back (never corrupted). FULL also survives
// power loss, at the cost of an fsync per transaction.
type Synchronous string

const (
	SynchronousNormal Synchronous = "NORMAL"
	SynchronousFull   Synchronous = "FULL"
)

// Config says where the database lives and how it commits.
type Config struct {
	Dir      string
	Database string
	// Synchronous defaults to NORMAL.
	Synchronous Synchronous
	// BusyTimeout bounds how long a write waits for another process's
	// write to finish. Default 10s.
	BusyTimeout time.Duration
}

// DB is one SQLite database file.
type DB struct {
	name      string
	path      string
	pool      *sql.DB // the write connection's pool of one
	w         *writer // in-process writers queue here
	read      *sql.DB
	readStmts stmtCache

	mu     sync.RWMutex
	tables map[string]*table

	// Imported counts the documents Open copied, per collection, from a
	// store the FerretDB version of Gatehouse left in the directory; nil
	// when there was none to import.
	Imported map[string]int
}

func init() {
	sqlite3.MustRegisterDeterministicScalarFunction("gh_fold", 1, func(_ *sqlite3.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return fold(v), nil
		case nil:
			return nil, nil
		}
		return args[0], nil
	})
	var cache sync.Map // pattern → *regexp.Regexp
	sqlite3.MustRegisterDeterministicScalarFunction("gh_regexp", 2, func(_ *sqlite3.FunctionContext, args []driver.Value) (driver.Value, error) {
		pattern, _ := args[0].(string)
		subject, ok := args[1].(string)
		if !ok {
			return int64(0), nil
		}
		re, ok := cache.Load(pattern)
		if !ok {
			compiled, err := regexp.Compile(pattern)
			if err != nil {
				return nil, err
			}
			re, _ = cache.LoadOrStore(pattern, compiled)
		}
		if re.(*regexp.Regexp).MatchString(subject) {
			return int64(1), nil
		}
		return int64(0), nil
	})
}

// Open opens (creating if needed) the database file <dir>/<database>.db.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Dir == "" {
		return nil, errors.New("open SQLite store: no data directory given")
	}
	if !pathPart.MatchString(strings.ReplaceAll(cfg.Database, "-", "_")) {
		return nil, fmt.Errorf("open SQLite store: database name %q: use letters, digits, '_' and '-'", cfg.Database)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("open SQLite store in %q: %w", cfg.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open SQLite store: create data directory: %w", err)
	}
	sync := cfg.Synchronous
	if sync == "" {
		sync = SynchronousNormal
	}
	if sync != SynchronousNormal && sync != SynchronousFull {
		return nil, fmt.Errorf("open SQLite store: synchronous must be NORMAL or FULL, not %q", sync)
	}
	busy := cfg.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	path := filepath.Join(dir, cfg.Database+FileExtension)
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+string(sync)+")")
		q.Add("_pragma", "cache_size(-32000)")
		for _, e := range extra {
			k, v, _ := strings.Cut(e, "=")
			q.Add(k, v)
		}
		return (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String()
	}
	write, err := sql.Open("sqlite", dsn())
	if err != nil {
		return nil, fmt.Errorf("open SQLite store %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", dsn("_pragma=query_only(1)"))
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open SQLite store %s: %w", path, err)
	}
	conns := 2 * runtime.GOMAXPROCS(0)
	read.SetMaxOpenConns(conns)
	read.SetMaxIdleConns(conns)
	w, err := newWriter(ctx, write)
	if err != nil {
		_ = write.Close()
		_ = read.Close()
		return nil, fmt.Errorf("open SQLite store %s: %w", path, classify(err))
	}
	d := &DB{name: cfg.Database, path: path, pool: write, w: w, read: read, tables: map[string]*table{}}
	// The first connection sets WAL mode in the file, which needs a write.
	err = d.writeTx(ctx, func(tx runner) error {
		if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS _gatehouse (key TEXT PRIMARY KEY, value TEXT)"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO _gatehouse (key, value) VALUES ('format', 'gatehouse-docdb-1')")
		return err
	})
	if err != nil {
		_ = d.Close(ctx)
		return nil, fmt.Errorf("open SQLite store %s: %w", path, err)
	}
	imported, err := d.importFerretDB(ctx, dir, cfg.Database)
	if err != nil {
		_ = d.Close(ctx)
		return nil, err
	}
	d.Imported = imported
	return d, nil
}

// Path is the database file.
func (d *DB) Path() string { return d.path }

// Engine names this engine.
func (d *DB) Engine() string { return "sqlite" }

// Name is the database's name.
func (d *DB) Name() string { return d.name }

// Ping checks that the file can be read.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	if err := d.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping SQLite store: %w", classify(err))
	}
	return nil
}

// Close closes the file's connections.
func (d *DB) Close(context.Context) error {
	d.readStmts.close()
	return errors.Join(d.read.Close(), d.w.close(), d.pool.Close())
}

// Drop removes every collection, with the side tables and search indexes
// that serve it: search indexes first, since dropping one drops the tables
// it keeps its index in.
func (d *DB) Drop(ctx context.Context) error {
	const tables = `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name != '_gatehouse'`
	err := d.writeTx(ctx, func(tx runner) error {
		for _, list := range []string{tables + " AND sql LIKE 'CREATE VIRTUAL TABLE%'", tables} {
			names, err := queryNames(ctx, tx, list)
			if err != nil {
				return err
			}
			for _, n := range names {
				if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+quote(n)); err != nil {
					return fmt.Errorf("drop %s: %w", n, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.tables = map[string]*table{}
	d.mu.Unlock()
	return nil
}

// Prepare creates the declared tables, indexes and array side tables.
func (d *DB) Prepare(ctx context.Context, specs []docdb.CollectionSpec) error {
	for _, spec := range specs {
		if err := checkPath(spec.Name); err != nil {
			return err
		}
		t := &table{name: spec.Name, declared: true, arrays: map[string]string{}}
		for _, a := range spec.Arrays {
			t.arrays[a] = ""
		}
		stmts := []string{createTable(spec.Name)}
		for _, ix := range spec.Indexes {
			s, err := indexStatements(t, ix)
			if err != nil {
				return err
			}
			stmts = append(stmts, s...)
		}
		var fill []string
		if len(spec.Search) > 0 {
			for _, f := range spec.Search {
				if err := checkPath(f); err != nil {
					return err
				}
			}
			var create []string
			create, fill = searchIndex(t, spec.Search)
			stmts = append(stmts, create...)
		}
		err := d.writeTx(ctx, func(tx runner) error {
			// A search index declared on a collection that already holds
			// documents indexes them when it is made.
			searchIsNew := false
			if t.search != "" {
				found, err := queryNames(ctx, tx, "SELECT name FROM sqlite_master WHERE name = ?", t.search)
				if err != nil {
					return err
				}
				searchIsNew = len(found) == 0
			}
			for _, s := range stmts {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return fmt.Errorf("prepare %s: %s: %w", spec.Name, s, err)
				}
			}
			if searchIsNew {
				for _, s := range fill {
					if _, err := tx.ExecContext(ctx, s); err != nil {
						return fmt.Errorf("prepare %s: index what is stored for search: %w", spec.Name, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			return classify(err)
		}
		d.mu.Lock()
		d.tables[spec.Name] = t
		d.mu.Unlock()
	}
	return nil
}

func createTable(name string) string {
	return "CREATE TABLE IF NOT EXISTS " + quote(name) + " (id NOT NULL PRIMARY KEY, doc BLOB NOT NULL)"
}

// indexStatements declares an index: an expression index, or for an array
// field a side table "<collection>$<field>" filled by triggers.
func indexStatements(t *table, ix docdb.Index) ([]string, error) {
	if err := checkPath(ix.Name); err != nil {
		return nil, err
	}
	for _, f := range ix.Fields {
		if err := checkPath(f); err != nil {
			return nil, err
		}
	}
	if len(ix.Fields) == 1 {
		if t.isArray(ix.Fields[0]) {
			if ix.Unique {
				return nil, docdb.Unsupported("a unique index on array field %s", ix.Fields[0])
			}
			return arrayIndex(t, ix), nil
		}
	}
	exprs := make([]string, len(ix.Fields))
	for i, f := range ix.Fields {
		if t.isArray(f) {
			return nil, docdb.Unsupported("array field %s in compound index %s", f, ix.Name)
		}
		exprs[i] = fieldExpr(f)
	}
	unique := ""
	if ix.Unique {
		unique = "UNIQUE "
	}
	return []string{"CREATE " + unique + "INDEX IF NOT EXISTS " + quote(ix.Name) + " ON " + quote(t.name) + " (" + strings.Join(exprs, ", ") + ")"}, nil
}

func arrayIndex(t *table, ix docdb.Index) []string {
	field := ix.Fields[0]
	side := t.name + "$" + field
	t.arrays[field] = side
	path := "'$." + field + "'"
	fill := "INSERT INTO " + quote(side) + " (id, value) SELECT NEW.id, value FROM json_each(NEW.doc, " + path + ");"
	drop := "DELETE FROM " + quote(side) + " WHERE id = OLD.id;"
	return []string{
		"CREATE TABLE IF NOT EXISTS " + quote(side) + " (id NOT NULL, value)",
		"CREATE INDEX IF NOT EXISTS " + quote(ix.Name) + " ON " + quote(side) + " (value, id)",
		"CREATE INDEX IF NOT EXISTS " + quote(ix.Name+"_id") + " ON " + quote(side) + " (id)",
		"CREATE TRIGGER IF NOT EXISTS " + quote(side+"$insert") + " AFTER INSERT ON " + quote(t.name) + " BEGIN " + fill + " END",
		"CREATE TRIGGER IF NOT EXISTS " + quote(side+"$update") + " AFTER UPDATE OF doc ON " + quote(t.name) + " BEGIN " + drop + " " + fill + " END",
		"CREATE TRIGGER IF NOT EXISTS " + quote(side+"$delete") + " AFTER DELETE ON " + quote(t.name) + " BEGIN " + drop + " END",
	}
}

// Collection returns a collection handle; its table is created on first
// use when Prepare did not declare it.
func (d *DB) Collection(name string) docdb.Collection {
	return &collection{db: d, name: name}
}

func (d *DB) table(ctx context.Context, name string) (*table, error) {
	d.mu.RLock()
	t := d.tables[name]
	d.mu.RUnlock()
	if t != nil {
		return t, nil
	}
	if err := checkPath(name); err != nil {
		return nil, err
	}
	err := d.writeTx(ctx, func(tx runner) error {
		_, err := tx.ExecContext(ctx, createTable(name))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if t = d.tables[name]; t == nil {
		t = &table{name: name, arrays: map[string]string{}}
		d.tables[name] = t
	}
	return t, nil
}

// queryNames reads a list of names.
func queryNames(ctx context.Context, tx runner, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// writeTx runs fn in an immediate transaction on the write connection.
func (d *DB) writeTx(ctx context.Context, fn func(tx runner) error) error {
	return classify(d.w.tx(ctx, fn))
}

// classify maps SQLite's errors onto the port's.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, docdb.ErrUnavailable) || errors.Is(err, docdb.ErrDuplicate) || errors.Is(err, docdb.ErrUnsupported) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", docdb.ErrUnavailable, err)
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED, sqlite3lib.SQLITE_IOERR, sqlite3lib.SQLITE_FULL, sqlite3lib.SQLITE_CANTOPEN,
			sqlite3lib.SQLITE_INTERRUPT:
			return fmt.Errorf("%w: %w", docdb.ErrUnavailable, err)
		}
	}
	return err
}

// duplicate recognises a unique-constraint failure and names its index.
func duplicate(t *table, err error) error {
	var se *sqlite3.Error
	if !errors.As(err, &se) || se.Code() != sqlite3lib.SQLITE_CONSTRAINT_UNIQUE && se.Code() != sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY {
		return nil
	}
	msg := se.Error()
	index := ""
	if i := strings.Index(msg, "index '"); i >= 0 {
		index, _, _ = strings.Cut(msg[i+len("index '"):], "'")
	} else if strings.Contains(msg, t.name+".id") {
		index = "_id"
	}
	return &docdb.DuplicateKeyError{Index: index, Count: 1, Cause: err}
}

// decodeAll decodes docs into out, a pointer to a slice.
func decodeAll(docs []bson.Raw, out any) error {
	if p, ok := out.(*[]bson.Raw); ok {
		*p = docs
		return nil
	}
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Slice {
		return fmt.Errorf("decode: want a pointer to a slice, got %T", out)
	}
	slice := v.Elem()
	elemType := slice.Type().Elem()
	result := reflect.MakeSlice(slice.Type(), len(docs), len(docs))
	for i, raw := range docs {
		target := result.Index(i)
		if elemType.Kind() == reflect.Pointer {
			target.Set(reflect.New(elemType.Elem()))
			if err := bson.Unmarshal(raw, target.Interface()); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			continue
		}
		if err := bson.Unmarshal(raw, target.Addr().Interface()); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
	}
	slice.Set(result)
	return nil
}

// Backup writes a consistent copy of the database to the file at path,
// which must not exist yet, while the store goes on serving (SQLite's
// VACUUM INTO reads one snapshot, and writers do not wait for it).
func (d *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("back up to %s: the file exists", path)
	}
	conn, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: d.path}).String())
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("back up to %s: %w", path, classify(err))
	}
	return nil
}
