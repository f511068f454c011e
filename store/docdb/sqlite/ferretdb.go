package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Before this engine, Gatehouse's embedded store was FerretDB v1 on
// SQLite, which kept a database in <dir>/<database>.sqlite: a table per
// collection, each document a JSON text (dates as milliseconds, as here)
// with FerretDB's type schema under the key "$s", and the collections
// listed in _ferretdb_collections. Open finds such a file beside the new
// one and copies its documents over in the transaction that marks the new
// file as imported, so a data directory from that version is never read
// as empty, and two processes starting at once import it once.

// ferretDBExtension ends FerretDB v1's database file names.
const ferretDBExtension = ".sqlite"

// importMark is the _gatehouse key that records the import.
const importMark = "imported_from_ferretdb"

// importFerretDB imports <dir>/<database>.sqlite if it exists and has not
// been imported. It returns the documents copied per collection.
func (d *DB) importFerretDB(ctx context.Context, dir, database string) (map[string]int, error) {
	old := filepath.Join(dir, database+ferretDBExtension)
	if _, err := os.Stat(old); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("look for a FerretDB store: %w", err)
	}
	src, err := sql.Open("sqlite", "file:"+old+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("open FerretDB store %s: %w", old, err)
	}
	defer src.Close()
	colls, err := ferretCollections(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("read FerretDB store %s: %w", old, err)
	}
	copied := map[string]int{}
	err = d.writeTx(ctx, func(tx runner) error {
		mark, err := queryNames(ctx, tx, "SELECT value FROM _gatehouse WHERE key = ?", importMark)
		if err != nil {
			return err
		}
		if len(mark) > 0 {
			copied = nil
			return nil
		}
		for name, table := range colls {
			if err := checkPath(name); err != nil {
				continue // not a collection of Gatehouse's
			}
			n, err := copyFerretTable(ctx, src, tx, name, table)
			if err != nil {
				return fmt.Errorf("import %s: %w", name, err)
			}
			copied[name] = n
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO _gatehouse (key, value) VALUES (?, ?)", importMark, old)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("import FerretDB store %s: %w", old, classify(err))
	}
	return copied, nil
}

func ferretCollections(ctx context.Context, src *sql.DB) (map[string]string, error) {
	rows, err := src.QueryContext(ctx, "SELECT name, table_name FROM _ferretdb_collections")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, table string
		if err := rows.Scan(&name, &table); err != nil {
			return nil, err
		}
		out[name] = table
	}
	return out, rows.Err()
}

func copyFerretTable(ctx context.Context, src *sql.DB, tx runner, name, table string) (int, error) {
	if strings.ContainsRune(table, '"') {
		return 0, fmt.Errorf("odd table name %q", table)
	}
	if _, err := tx.ExecContext(ctx, createTable(name)); err != nil {
		return 0, err
	}
	rows, err := src.QueryContext(ctx, `SELECT json_extract(_ferretdb_sjson, '$._id'), json_remove(_ferretdb_sjson, '$."$s"') FROM "`+table+`"`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id any
		var doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return n, err
		}
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO "+quote(name)+" (id, doc) VALUES (?, jsonb(?))", id, doc); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}
