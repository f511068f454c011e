package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver; FerretDB registers it too
)

// Names and expressions of FerretDB v1.24.2's SQLite backend
// (internal/backends/sqlite/metadata and .../metadata/pool).
const (
	// fileExtension ends each database's file: <dir>/<database>.sqlite
	// (pool.filenameExtension).
	fileExtension = ".sqlite"

	// metadataTable maps collections to tables, in columns name, table_name
	// and settings (metadata.metadataTableName).
	metadataTable = "_ferretdb_collections"

	// idExpression is the expression FerretDB compares with the _id it
	// pushes down, in SELECT, UPDATE and DELETE alike (metadata.IDColumn).
	idExpression = `_ferretdb_sjson->'$._id'`

	// indexSuffix names the index Accelerate adds: <table>_gatehouse_id.
	indexSuffix = "_gatehouse_id"
)

// Accelerate adds, to every collection of database that exists now, an
// index that turns FerretDB's lookups by _id into index seeks. It is
// idempotent, and safe while the store is serving. Collections created
// later do not get it, nor do collections dropped and created again, nor
// a database dropped and created again: call Accelerate once the
// collections exist (after creating the indexes at startup, say), and again
// after re-creating them. A database with no file yet has nothing to index,
// and Accelerate returns nil. Do not run it while the same database is
// being dropped (see below).
//
// Why this exists. FerretDB v1's SQLite backend keeps each document as JSON
// in one column, _ferretdb_sjson, and pushes a filter down to SQL only when
// the filter is exactly {_id: <string or ObjectID>}, as
//
//	WHERE _ferretdb_sjson->'$._id' = ?
//
// (updates and deletes then address each document the same way). The unique
// _id index it creates is on _ferretdb_sjson->"_id", which names the same
// value but is not the same expression, and SQLite uses an expression index
// only for the very expression it was built on. So every lookup by _id reads
// the whole table: 16-18 ms a findOne at 10,000 documents, 28 ms at 20,000,
// growing with the collection. Gatehouse keys its hot collections by string
// _id (token digests, zero-padded integer ids), and the token check runs on
// every authenticated request. An index on exactly FerretDB's expression
// makes that lookup a seek. Measured at 10,000 documents on a 2-core
// machine (driver v2.10.0, loopback): findOne by string _id 16-18 ms
// without, 0.38-0.42 ms with, about 40 times faster (BenchmarkFindByStringID);
// updateOne by _id 23 ms and 0.38 ms; a bulkWrite of 50 updateOne 1.6 s and
// 33 ms. Building the index took about 75 ms per 10,000-document collection.
// Filters on anything else, int32 and int64 _ids included, are still applied
// in Go to every row (findOne by int64 _id: 0.24-0.38 s at 10,000, with or
// without): this index does nothing for them.
//
// How. Accelerate opens the database's file with its own short-lived
// database/sql handle (FerretDB's pool is internal), with the busy timeout
// and WAL journal FerretDB uses, and in one BEGIN IMMEDIATE transaction
// reads the collection → table mapping from FerretDB's metadata table and
// creates the missing indexes. The write lock makes the mapping and the
// tables agree (FerretDB creates a table before its metadata row and drops
// the row before the table); FerretDB's writers wait on it under their own
// busy timeout, its readers do not wait (WAL); its connections see the new
// schema at their next statement. FerretDB lists only the indexes recorded
// in its metadata, so listIndexes does not show this one and dropIndexes
// cannot remove it; dropping the collection drops the table and the index,
// dropping the database deletes the file.
//
// The one unsafe moment: FerretDB drops a database by closing its own
// handle and deleting the .sqlite file, not the -wal and -shm files beside
// it. If Accelerate's handle is open on that database then, FerretDB's
// close is not the last, those files survive, and a database re-created
// under the same name would find them. Hence: not concurrently with
// dropDatabase of the same database.
func (s *Server) Accelerate(ctx context.Context, database string) error {
	if err := checkDatabaseName(database); err != nil {
		return fmt.Errorf("accelerate embedded database %q: %w", database, err)
	}

	file := filepath.Join(s.dir, database+fileExtension)
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("accelerate embedded database %q: %w", database, err)
	}

	n, err := accelerateFile(ctx, file)
	if err != nil {
		return fmt.Errorf("accelerate embedded database %q: %w", database, err)
	}

	s.logger.DebugContext(ctx, "embedded store: _id lookups indexed",
		"database", database, "collections", n)

	return nil
}

// accelerateFile creates the _id index on every collection table listed in
// the FerretDB database file, and returns how many tables it looked at.
func accelerateFile(ctx context.Context, file string) (n int, err error) {
	db, err := sql.Open("sqlite", sqliteURI(file, url.Values{
		"mode":    {"rw"},        // never create: a database with no file has no collections
		"_txlock": {"immediate"}, // BeginTx takes the write lock at once
	}))
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", file, err)
	}
	defer db.Close()

	db.SetMaxOpenConns(1)

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // after Commit, it does nothing

	// FerretDB creates the file a moment before its metadata table.
	var found int
	err = tx.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, metadataTable).Scan(&found)
	if err != nil {
		return 0, fmt.Errorf("look for %s: %w", metadataTable, err)
	}
	if found == 0 {
		return 0, nil
	}

	tables, err := collectionTables(ctx, tx)
	if err != nil {
		return 0, err
	}

	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, createIndexSQL(t)); err != nil {
			return 0, fmt.Errorf("index table %s: %w", t, err)
		}
	}

	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}

	return len(tables), nil
}

// collectionTables returns the tables of the collections in FerretDB's
// metadata table.
func collectionTables(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT table_name FROM `+quoteIdent(metadataTable)+` ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", metadataTable, err)
	}
	defer rows.Close()

	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("read %s: %w", metadataTable, err)
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", metadataTable, err)
	}

	return tables, nil
}

// createIndexSQL returns the statement that indexes table on idExpression.
func createIndexSQL(table string) string {
	return `CREATE INDEX IF NOT EXISTS ` + quoteIdent(table+indexSuffix) +
		` ON ` + quoteIdent(table) + ` (` + idExpression + `)`
}

// sqliteURI returns the "file:" URI for a database file with FerretDB's
// pragmas (pool.setDefaultValues: busy_timeout first, then WAL) and extra.
// Like FerretDB, it writes the path unescaped (Start refuses '?', '#', '%').
func sqliteURI(file string, extra url.Values) string {
	q := url.Values{"_pragma": {"busy_timeout(10000)", "journal_mode(wal)"}}
	for k, v := range extra {
		q[k] = append(q[k], v...)
	}

	u := url.URL{Scheme: "file", Opaque: file, RawQuery: q.Encode()}

	return u.String()
}

// quoteIdent quotes an SQLite identifier.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// checkDatabaseName applies FerretDB's rule for database names
// (backends.validation.go: ^[a-zA-Z0-9_-]{1,63}$, no "_ferretdb_" prefix),
// which also keeps the name a plain file name.
func checkDatabaseName(name string) error {
	if name == "" || len(name) > 63 {
		return errors.New("a database name has 1 to 63 characters")
	}

	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("a database name has letters, digits, '_' and '-' only, not %q", c)
		}
	}

	if strings.HasPrefix(name, "_ferretdb_") {
		return errors.New(`a database name does not start with "_ferretdb_"`)
	}

	return nil
}
