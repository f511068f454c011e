package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// A search index: an FTS5 table with the trigram tokenizer over the
// searched fields of each document, joined by newlines, kept by triggers.
// A case-insensitive "contains" of an ASCII word of three characters or
// more is then an index read (the rows holding the word's trigrams) instead
// of a LIKE over every row. The index only narrows: each row it names is
// still checked field by field, so a word the trigrams over-match (across
// two fields) costs nothing but a check.
//
// The full-text table is keyed by integers and documents by _id, so a
// keys table "<collection>$search_ids" gives each _id an INTEGER PRIMARY
// KEY of its own, n: unlike the collection's own rowids, VACUUM (and so a
// backup) keeps those.

// minSearchWord is the shortest word the trigram index can find.
const minSearchWord = 3

// A page of a search reads the index only when few documents hold the
// word. The index names every match before the first row is read, while a
// scan stops at the end of the page: at 100,000 users, a page for a word
// every user holds takes 66 ms through the index and 0.3 ms by scanning,
// and one for a word only a few hold 0.8 ms against 51 ms. A count reads
// every match either way, and so always uses the index (280 ms against
// 220 ms for a word in every row; under a millisecond against 88 ms for a
// rare one).
const fewForAPage = 1000

// query starts compiling a filter on t. For a page, it can tell which
// search words are held by too many documents to read through the index.
func (d *DB) query(ctx context.Context, t *table, page bool) *query {
	q := &query{t: t}
	if page && t.search != "" {
		q.common = func(word string) (bool, error) { return d.manyHold(ctx, t, word) }
	}
	return q
}

// manyHold tells whether fewForAPage documents or more hold word's
// trigrams, reading no further than that. A probe that fails fails the
// query: answering the page some other way would hide a broken index or a
// deadline the request has already run out of.
func (d *DB) manyHold(ctx context.Context, t *table, word string) (bool, error) {
	text := "SELECT count(*) FROM (SELECT 1 FROM " + quote(t.search) + " WHERE " + quote(t.search) + " MATCH ? LIMIT " +
		strconv.Itoa(fewForAPage) + ")"
	rows, err := reader{d}.QueryContext(ctx, text, ftsPhrase(word))
	if err != nil {
		return false, fmt.Errorf("probe the search index of %s: %w", t.name, err)
	}
	defer rows.Close()
	var n int
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("probe the search index of %s: %w", t.name, err)
		}
		return false, fmt.Errorf("probe the search index of %s: no answer", t.name)
	}
	if err := rows.Scan(&n); err != nil {
		return false, fmt.Errorf("probe the search index of %s: %w", t.name, err)
	}
	return n >= fewForAPage, nil
}

// ftsPhrase is word as one FTS5 phrase, its quotes doubled.
func ftsPhrase(word string) string { return `"` + strings.ReplaceAll(word, `"`, `""`) + `"` }

// searches tells whether the search index can narrow a search for word
// across fields.
func (t *table) searches(fields []string, word string) bool {
	if t.search == "" || len(word) < minSearchWord {
		return false
	}
	for _, f := range fields {
		if !t.searchFields[f] {
			return false
		}
	}
	return true
}

// searchMatch is the condition "the document holds word's trigrams".
func (q *query) searchMatch(word string) string {
	keys, text := quote(q.t.search+"_ids"), quote(q.t.search)
	return "id IN (SELECT k.id FROM " + text + " JOIN " + keys + " AS k ON k.n = " + text + ".rowid WHERE " +
		text + " MATCH " + q.arg(ftsPhrase(word)) + ")"
}

// searchIndex declares the search index of t over fields: its tables and
// the triggers that keep them. fill, run once when the index is new,
// indexes the documents already stored.
func searchIndex(t *table, fields []string) (create []string, fill []string) {
	side := t.name + "$search"
	t.search = side
	t.searchFields = map[string]bool{}
	for _, f := range fields {
		t.searchFields[f] = true
	}
	text := func(doc string) string {
		parts := make([]string, len(fields))
		for i, f := range fields {
			parts[i] = "coalesce(json_extract(" + doc + ", '$." + f + "'), '')"
		}
		return strings.Join(parts, " || char(10) || ")
	}
	keys, fts := quote(side+"_ids"), quote(side)
	index := "INSERT INTO " + keys + " (id) VALUES (NEW.id); " +
		"INSERT INTO " + fts + " (rowid, text) VALUES (last_insert_rowid(), " + text("NEW.doc") + ");"
	forget := "DELETE FROM " + fts + " WHERE rowid = (SELECT n FROM " + keys + " WHERE id = OLD.id); " +
		"DELETE FROM " + keys + " WHERE id = OLD.id;"
	create = []string{
		"CREATE TABLE IF NOT EXISTS " + keys + " (n INTEGER PRIMARY KEY, id NOT NULL UNIQUE)",
		"CREATE VIRTUAL TABLE IF NOT EXISTS " + fts + " USING fts5(text, tokenize = 'trigram', content = '', contentless_delete = 1)",
		"CREATE TRIGGER IF NOT EXISTS " + quote(side+"$insert") + " AFTER INSERT ON " + quote(t.name) + " BEGIN " + index + " END",
		// Most changes to a user (a sign-in's time) leave the searched
		// fields as they were, and the index with them.
		"CREATE TRIGGER IF NOT EXISTS " + quote(side+"$update") + " AFTER UPDATE OF doc ON " + quote(t.name) +
			" WHEN (" + text("OLD.doc") + ") IS NOT (" + text("NEW.doc") + ") BEGIN " + forget + " " + index + " END",
		"CREATE TRIGGER IF NOT EXISTS " + quote(side+"$delete") + " AFTER DELETE ON " + quote(t.name) + " BEGIN " + forget + " END",
	}
	fill = []string{
		"INSERT INTO " + keys + " (id) SELECT id FROM " + quote(t.name) + " ORDER BY id",
		"INSERT INTO " + fts + " (rowid, text) SELECT k.n, " + text("t.doc") + " FROM " + keys + " AS k JOIN " + quote(t.name) + " AS t ON t.id = k.id",
	}
	return create, fill
}
