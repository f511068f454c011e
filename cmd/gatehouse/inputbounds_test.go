package main

// The bounds of a list's arguments over GraphQL: a search's words, the
// values of a filter's lists, positions and sizes of a page. Past a bound
// the answer is BAD_USER_INPUT naming the argument, at once, and never an
// internal error, a store timeout or a page of something else.

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

func TestUsersSearchIsBounded(t *testing.T) {
	w := newPagingWorld(t)
	const query = `query($s: String, $last: Int) { users(search: $s, last: $last) { totalCount nodes { username } } }`
	words := func(n int, word string) string { return strings.TrimSpace(strings.Repeat(word+" ", n)) }
	for _, c := range []struct {
		name   string
		search string
		last   any
		found  int // -1: refused
	}{
		{"the most words", words(store.MaxSearchWords, "USER04"), nil, 5},
		{"the most words, counted first", words(store.MaxSearchWords, "user04"), 2, 5},
		{"the longest word", strings.Repeat("u", store.MaxSearchWordLength), nil, 0},
		{"one word more", words(store.MaxSearchWords+1, "user04"), nil, -1},
		{"one word more, counted first", words(store.MaxSearchWords+1, "user04"), 2, -1},
		{"a character more", strings.Repeat("u", store.MaxSearchWordLength+1), nil, -1},
		{"999 words", words(999, "user"), nil, -1},
		{"100,000 words", words(100_000, "a"), nil, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			r := w.g.query(t, w.token, query, map[string]any{"s": c.search, "last": c.last})
			if c.found < 0 {
				if r.code() != "BAD_USER_INPUT" || r.fields()["search"] == nil || r.Data["users"] != nil {
					t.Errorf("got %s %v %v, want BAD_USER_INPUT on search", r.code(), r.Errors, r.Data)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("refused after %v", d)
				}
				return
			}
			if n := dig(r.mustData(t), "users", "totalCount"); n != float64(c.found) {
				t.Errorf("found %v, want %d", n, c.found)
			}
		})
	}
}
