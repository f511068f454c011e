package main

// The bounds of a list's arguments over GraphQL: a search's words, the
// values of a filter's lists, positions and sizes of a page. Past a bound
// the answer is BAD_USER_INPUT naming the argument, at once, and never an
// internal error, a store timeout or a page of something else.

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/graph"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/storetest"
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
		// refusedBy is the code of the refusal: the search's own bound
		// (BAD_USER_INPUT on search), unless the admission sees more
		// conditions than one operation's scans may evaluate first.
		refusedBy string
	}{
		{"the most words", words(store.MaxSearchWords, "USER04"), nil, 5, ""},
		{"the most words, counted first", words(store.MaxSearchWords, "user04"), 2, 5, ""},
		{"the longest word", strings.Repeat("u", store.MaxSearchWordLength), nil, 0, ""},
		{"one word more", words(store.MaxSearchWords+1, "user04"), nil, -1, ""},
		{"one word more, counted first", words(store.MaxSearchWords+1, "user04"), 2, -1, ""},
		{"a character more", strings.Repeat("u", store.MaxSearchWordLength+1), nil, -1, ""},
		{"999 words", words(999, "user"), nil, -1, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"100,000 words", words(100_000, "a"), nil, -1, "COMPLEXITY_LIMIT_EXCEEDED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			r := w.g.query(t, w.token, query, map[string]any{"s": c.search, "last": c.last})
			if c.found < 0 {
				want := cmp.Or(c.refusedBy, "BAD_USER_INPUT")
				if r.code() != want || want == "BAD_USER_INPUT" && r.fields()["search"] == nil || r.Data["users"] != nil {
					t.Errorf("got %s %v %v, want %s", r.code(), r.Errors, r.Data, want)
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

// names is n usernames, user000 on.
func names(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%03d", i)
	}
	return out
}

// repeated is n copies of v.
func repeated(n int, v any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// The lists of a filter hold at most graph.MaxFilterValues values
// together, in every list field that takes a filter: at the bound it is
// answered, one value more is BAD_USER_INPUT on filter before the store is
// asked. The shapes are among them: one list of 7,000 names given to
// five lookups (past the embedded engine's 32,766 values of a statement),
// and one list given to 950 aliases, each refused without a store read.
func TestFilterListsAreBounded(t *testing.T) {
	// The values bound is the filters' own: the admission's bound on the
	// conditions scans evaluate, which would refuse many of these first,
	// is lifted.
	w := newPagingWorld(t, "--scan-limit=100000")
	root := w.g.staff(t, "root", true)
	max := graph.MaxFilterValues
	in := func(l []any) map[string]any { return map[string]any{"in": l} }
	for _, c := range []struct {
		name, field, filterType, query string
		filter                         any
		refused                        bool
	}{
		{"users at the bound", "users", "UserFilter", `users(filter: $f) { totalCount }`, map[string]any{"username": in(names(max))}, false},
		{"users, one more", "users", "UserFilter", `users(filter: $f) { totalCount }`, map[string]any{"username": in(names(max + 1))}, true},
		{"users, counted across and, or and not", "users", "UserFilter", `users(filter: $f) { totalCount }`, map[string]any{
			"email": in(names(max / 2)),
			"or":    []any{map[string]any{"not": map[string]any{"dateJoined": in(repeated(max/2, "2026-01-01T00:00:00Z"))}}},
			"and":   []any{map[string]any{"ids": []any{"1"}}},
		}, true},
		{"users, every lookup counted", "users", "UserFilter", `users(filter: $f) { totalCount }`,
			map[string]any{"or": repeated(max/everyLookupValues+1, everyLookup("x"))}, true},
		{"roles", "roles", "RoleFilter", `roles(filter: $f) { totalCount }`, map[string]any{"name": in(names(max + 1))}, true},
		{"roles by ids", "roles", "RoleFilter", `roles(filter: $f) { totalCount }`, map[string]any{"ids": repeated(max+1, "1")}, true},
		{"permissions", "permissions", "PermissionFilter", `permissions(filter: $f) { totalCount }`,
			map[string]any{"codename": in(names(max)), "name": in(names(1))}, true},
		{"tags", "tags", "LabelFilter", `tags(filter: $f) { totalCount }`, map[string]any{"value": in(names(max + 1))}, true},
		{"operator codes", "operatorCodes", "LabelFilter", `operatorCodes(filter: $f) { totalCount }`, map[string]any{"value": in(names(max + 1))}, true},
		{"clients", "clients", "ClientFilter", `clients(filter: $f) { totalCount }`, map[string]any{"tagIds": repeated(max, "1"), "operatorCodeIds": []any{"1"}}, true},
		{"mailings", "mailings", "MailingFilter", `mailings(filter: $f) { totalCount }`, map[string]any{"status": repeated(max+1, "SCHEDULED")}, true},
		{"mailings' statistics", "mailingsStats", "MailingFilter", `mailingsStats(filter: $f) { total }`, map[string]any{"status": repeated(max+1, "SCHEDULED")}, true},
		{"messages", "messages", "MessageFilter", `messages(filter: $f) { totalCount }`,
			map[string]any{"mailing": repeated(max/2, "1"), "client": repeated(max/2, "1"), "status": []any{"SENT"}}, true},
		{"messages at the bound", "messages", "MessageFilter", `messages(filter: $f) { totalCount }`,
			map[string]any{"mailing": repeated(max/2, "1"), "client": repeated(max/2, "1")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := w.g.query(t, root, "query($f: "+c.filterType+") { "+c.query+" }", map[string]any{"f": c.filter})
			if !c.refused {
				r.mustData(t)
				return
			}
			if r.code() != "BAD_USER_INPUT" || r.fields()["filter"] == nil || dig(r.Data, c.field) != nil && c.field != "roles" {
				t.Errorf("got %s %v %v, want BAD_USER_INPUT on filter", r.code(), r.Errors, r.Data)
			}
		})
	}
	// 7,000 names given to five lookups once answered INTERNAL ("too many
	// SQL variables"); used five times, the list is past the variables'
	// bound of the admission, before any resolver runs. 1,000 names pass
	// it, and the filter's own bound refuses their 5,000 values.
	fiveLookups := `query($l: [String!]) { users(filter: {username: {in: $l}, email: {in: $l}, phoneNumber: {in: $l},
		firstName: {in: $l}, lastName: {in: $l}}) { totalCount } }`
	t.Run("7,000 names given to five lookups", func(t *testing.T) {
		r := w.g.query(t, w.token, fiveLookups, map[string]any{"l": names(7000)})
		if r.code() != "VARIABLES_LIMIT_EXCEEDED" || r.Data != nil {
			t.Errorf("got %s %v", r.code(), r.Errors)
		}
	})
	t.Run("1,000 names given to five lookups", func(t *testing.T) {
		r := w.g.query(t, w.token, fiveLookups, map[string]any{"l": names(1000)})
		if r.code() != "BAD_USER_INPUT" || r.fields()["filter"] == nil {
			t.Errorf("got %s %v", r.code(), r.Errors)
		}
	})
	// A list sent once and used by 950 aliases counts 950 times.
	t.Run("a list in 950 aliases", func(t *testing.T) {
		var q strings.Builder
		q.WriteString("query($f: UserFilter) {")
		for i := range 950 {
			q.WriteString(" u" + strconv.Itoa(i) + ": users(filter: $f, first: 0) { totalCount }")
		}
		q.WriteString(" }")
		r := w.g.query(t, w.token, q.String(), map[string]any{"f": map[string]any{"username": map[string]any{"in": names(max + 1)}}})
		if len(r.Errors) != 1 || r.code() != "VARIABLES_LIMIT_EXCEEDED" || r.Data != nil {
			t.Errorf("got %d errors, the first %s %v", len(r.Errors), r.code(), r.Errors[0])
		}
	})
}

// everyLookupValues is how many values everyLookup's filter holds.
const everyLookupValues = 5*13 + 2*6 + 3

// everyLookup is a users filter with every lookup but the lists given:
// each of its values is one the store binds into its query.
func everyLookup(text string) map[string]any {
	str := func() map[string]any {
		l := map[string]any{"isNull": false}
		for _, op := range []string{"exact", "iExact", "contains", "iContains", "startsWith", "iStartsWith", "endsWith", "iEndsWith", "gt", "gte", "lt", "lte"} {
			l[op] = text
		}
		return l
	}
	at := "2026-01-01T00:00:00Z"
	tm := func() map[string]any {
		return map[string]any{"exact": at, "gt": at, "gte": at, "lt": at, "lte": at, "isNull": false}
	}
	return map[string]any{
		"username": str(), "email": str(), "phoneNumber": str(), "firstName": str(), "lastName": str(),
		"dateJoined": tm(), "lastLogin": tm(), "isActive": true, "isStaff": false, "isSuperuser": false,
	}
}

// The largest users filter the bounds let through is answered, as a count
// and as a page, on each engine, and at once: graph.MaxFilterNodes filters
// nested graph.MaxFilterDepth deep, holding graph.MaxFilterValues values
// (twelve with every lookup given, and lists), with the longest search;
// and the filter whose SQL nests deepest (SQLite refuses an expression
// more than 1,000 deep). One value more, or one filter more, is refused.
// The admission would refuse such a filter's conditions long before
// (--scan-limit); the store's own bounds are measured here with it lifted.
func TestTheLargestUsersFilterIsAnswered(t *testing.T) {
	w := newPagingWorld(t, "--scan-limit=100000")
	leaf := everyLookup("usér0")
	perLeaf := everyLookupValues
	leaves := graph.MaxFilterValues / perLeaf
	inList := (graph.MaxFilterValues - leaves*perLeaf) / 4
	lists := map[string]any{
		"ids":        repeated(inList, "1"),
		"username":   map[string]any{"in": names(inList)},
		"email":      map[string]any{"in": names(inList)},
		"dateJoined": map[string]any{"in": repeated(inList, "2026-01-01T00:00:00Z")},
	}
	// The outer filter, $lists, a chain of not down to the deepest filter
	// (a $leaf), and in an or the other $leafs and empty filters up to the
	// bound.
	chain := strings.Repeat("not: {", graph.MaxFilterDepth-2) + "and: [$leaf]" + strings.Repeat("}", graph.MaxFilterDepth-2)
	empty := graph.MaxFilterNodes - 2 - (graph.MaxFilterDepth - 1) - (leaves - 1)
	or := strings.Repeat("$leaf, ", leaves-1) + strings.Repeat("{}, ", empty)
	filter := "{and: [$lists], or: [" + or + "], " + chain + "}"
	query := `query($leaf: UserFilter!, $lists: UserFilter!, $s: String, $last: Int) {
		users(filter: ` + filter + `, search: $s, last: $last) { totalCount nodes { id } } }`
	search := strings.TrimSpace(strings.Repeat(strings.Repeat("é", store.MaxSearchWordLength)+" ", store.MaxSearchWords))
	vars := map[string]any{"leaf": leaf, "lists": lists, "s": search}
	if got := 2*inList + 2*inList + leaves*perLeaf; got != graph.MaxFilterValues {
		t.Fatalf("the filter holds %d values, not the bound", got)
	}
	for _, last := range []any{nil, 100} {
		vars["last"] = last
		start := time.Now()
		r := w.g.query(t, w.token, query, vars)
		if n := dig(r.mustData(t), "users", "totalCount"); n != 0.0 {
			t.Errorf("last %v: %v users hold every condition", last, n)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("last %v: answered after %v", last, d)
		}
	}
	// The deepest SQL the bounds allow: at every level the next filter
	// first in an and of empty filters (the SQL's chain of ANDs puts it
	// deepest), and every lookup at the bottom, under the longest search.
	perLevel := (graph.MaxFilterNodes - 1) / (graph.MaxFilterDepth - 1)
	deep := "$leaf"
	for range graph.MaxFilterDepth - 1 {
		deep = "{and: [" + deep + strings.Repeat(", {}", perLevel-1) + "]}"
	}
	r := w.g.query(t, w.token, `query($leaf: UserFilter!, $s: String) { users(filter: `+deep+`, search: $s) { totalCount } }`,
		map[string]any{"leaf": leaf, "s": search})
	if n := dig(r.mustData(t), "users", "totalCount"); n != 0.0 {
		t.Errorf("the deepest filter: %v users hold every condition", n)
	}

	vars["last"] = nil
	if r := w.g.query(t, w.token, strings.Replace(query, "or: [", "or: [{}, ", 1), vars); r.code() != "BAD_USER_INPUT" || r.fields()["filter"] == nil {
		t.Errorf("one filter more: %s %v", r.code(), r.Errors)
	}
	lists["ids"] = repeated(inList+1, "1")
	if r := w.g.query(t, w.token, query, vars); r.code() != "BAD_USER_INPUT" || r.fields()["filter"] == nil {
		t.Errorf("one value more: %s %v", r.code(), r.Errors)
	}
	// Every filter with every lookup given: some 16,000 values, which the
	// embedded engine took seconds to prepare a query for.
	full := strings.TrimSuffix(strings.Repeat("$leaf, ", graph.MaxFilterNodes-1), ", ")
	start := time.Now()
	r = w.g.query(t, w.token, `query($leaf: UserFilter!) { users(filter: {or: [`+full+`]}) { totalCount } }`, map[string]any{"leaf": leaf})
	if r.code() != "BAD_USER_INPUT" || r.fields()["filter"] == nil || time.Since(start) > 2*time.Second {
		t.Errorf("every filter with every lookup: %s %v after %v", r.code(), r.Errors, time.Since(start))
	}
}

// pagedFieldQueries reach each paged field of the schema (every field that
// takes first, after, last, before, offset and limit) with ARGS for its
// arguments.
var pagedFieldQueries = map[string]string{
	"Query.users":         `users(ARGS) { edges { cursor } pageInfo { hasNextPage } }`,
	"Query.roles":         `roles(ARGS) { edges { cursor } pageInfo { hasNextPage } }`,
	"Query.permissions":   `permissions(ARGS) { edges { cursor } pageInfo { hasNextPage } }`,
	"Query.tags":          `tags(ARGS) { edges { cursor } pageInfo { hasNextPage } }`,
	"Query.operatorCodes": `operatorCodes(ARGS) { edges { cursor } pageInfo { hasNextPage } }`,
	"Query.clients":       `clients(ARGS) { edges { cursor } pageInfo { hasNextPage } }`,
	"Query.mailings":      `mailings(ARGS) { edges { cursor } pageInfo { hasNextPage } }`,
	"Query.messages":      `messages(ARGS) { edges { cursor } pageInfo { hasNextPage } }`,
	"Role.users":          `roles(first: 1) { nodes { users(ARGS) { edges { cursor } pageInfo { hasNextPage } } } }`,
}

// cursorAt is the cursor of a position, any integer a client may write.
func cursorAt(position string) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:" + position))
}

// Every paged field range-checks its positions and sizes in one place:
// a cursor or offset past graph.MaxPosition (the largest GraphQL Int), or
// a negative size, is BAD_USER_INPUT naming the argument, never a wrap
// into a page from the start, nor a panic answered INTERNAL; a size past
// the largest page is served as that page, as documented.
func TestEveryPagedFieldRangeChecksItsArguments(t *testing.T) {
	w := newPagingWorld(t)
	root := w.g.staff(t, "root", true)
	if _, err := w.g.store.CreateRole(context.Background(), store.NewRole{Name: "members"}); err != nil {
		t.Fatal(err)
	}
	// The schema's paged fields, each of which must have a query above.
	schema := w.g.query(t, root, `{ __schema { types { name fields { name args { name } } } } }`, nil).mustData(t)
	var paged []string
	for _, typ := range dig(schema, "__schema", "types").([]any) {
		fields, _ := dig(typ, "fields").([]any)
		for _, f := range fields {
			var args []string
			for _, a := range dig(f, "args").([]any) {
				args = append(args, dig(a, "name").(string))
			}
			if slices.Contains(args, "after") && slices.Contains(args, "offset") {
				paged = append(paged, dig(typ, "name").(string)+"."+dig(f, "name").(string))
			}
		}
	}
	for _, f := range paged {
		if pagedFieldQueries[f] == "" {
			t.Errorf("the paged field %s has no query in pagedFieldQueries", f)
		}
	}
	if len(paged) != len(pagedFieldQueries) {
		t.Errorf("the schema's paged fields are %v", paged)
	}

	huge := strconv.Itoa(math.MaxInt)
	past := strconv.Itoa(graph.MaxPosition + 1)
	cases := []struct {
		name string
		vars map[string]any
		arg  string // the argument named in the error; "" for an answer
	}{
		{"an after cursor at int's end", map[string]any{"after": cursorAt(huge)}, "after"},
		{"an after cursor near int's end, with last", map[string]any{"after": cursorAt(strconv.Itoa(math.MaxInt - 2)), "last": 5}, "after"},
		{"an after cursor past int", map[string]any{"after": cursorAt("99999999999999999999")}, "after"},
		{"an after cursor past the furthest position", map[string]any{"after": cursorAt(past), "first": 5}, "after"},
		{"a before cursor at int's end", map[string]any{"before": cursorAt(huge), "last": 5}, "before"},
		{"a before cursor past the furthest position", map[string]any{"before": cursorAt(past)}, "before"},
		{"an offset of 2^62", map[string]any{"offset": 1 << 62, "limit": 5}, "offset"},
		{"an offset past the furthest position", map[string]any{"offset": graph.MaxPosition + 1}, "offset"},
		{"a negative offset", map[string]any{"offset": -1}, "offset"},
		{"a negative first", map[string]any{"first": -1}, "first"},
		{"a negative last", map[string]any{"last": -1}, "last"},
		{"a negative limit", map[string]any{"limit": -1}, "limit"},
		{"the furthest offset", map[string]any{"offset": graph.MaxPosition, "limit": 5}, ""},
		{"after the furthest position", map[string]any{"after": cursorAt(strconv.Itoa(graph.MaxPosition)), "first": 5}, ""},
		{"after the furthest position, with last", map[string]any{"after": cursorAt(strconv.Itoa(graph.MaxPosition)), "last": 5}, ""},
		{"after the end, with last", map[string]any{"after": cursorAt("100"), "last": 5}, ""},
		{"before the furthest position", map[string]any{"before": cursorAt(strconv.Itoa(graph.MaxPosition)), "last": 5}, ""},
	}
	const vars = `$first: Int, $after: String, $last: Int, $before: String, $offset: Int, $limit: Int`
	const args = `first: $first, after: $after, last: $last, before: $before, offset: $offset, limit: $limit`
	for _, field := range paged {
		for _, c := range cases {
			t.Run(field+"/"+c.name, func(t *testing.T) {
				query := "query(" + vars + ") { " + strings.Replace(pagedFieldQueries[field], "ARGS", args, 1) + " }"
				r := w.g.query(t, root, query, c.vars)
				if c.arg == "" {
					r.mustData(t)
					return
				}
				if r.code() != "BAD_USER_INPUT" || !namesArgument(r.Errors[0], c.arg) {
					t.Errorf("got %s %v, want BAD_USER_INPUT naming %s", r.code(), r.Errors, c.arg)
				}
			})
		}
	}
}

// namesArgument tells whether an error names arg: among its field errors,
// or, for a value GraphQL's Int cannot hold, as its path's end.
func namesArgument(e gqlError, arg string) bool {
	if fields, _ := e.Extensions["fields"].(map[string]any); fields[arg] != nil {
		return true
	}
	return len(e.Path) > 0 && e.Path[len(e.Path)-1] == arg
}

// --request-timeout interrupts the store's work, not only the answer: a
// users search that takes the store a second or more is answered
// UNAVAILABLE soon after the request's budget, the store's count itself
// ends then with the deadline, and the store answers the next request as
// before.
func TestTheRequestTimeoutInterruptsTheStore(t *testing.T) {
	if storetest.Engine() != storetest.SQLite {
		t.Skip("the MongoDB server bounds its own operations by the request's deadline")
	}
	const budget = 300 * time.Millisecond
	failed := make(chan time.Duration, 10)
	s := storetest.Open(t, store.Options{Observer: &docdb.Observer{
		Finished: func(_ context.Context, op docdb.Op, took time.Duration, err error) {
			if op.Collection == "users" && op.Name == "count" && errors.Is(err, context.DeadlineExceeded) {
				failed <- took
			}
		},
	}})
	g := newTestGatewayOn(t, s, "--request-timeout="+budget.String(), "--scan-limit=100000")
	users := make([]store.NewUser, 48000)
	for i := range users {
		users[i] = store.NewUser{Username: fmt.Sprintf("u%04d", i), LastName: "Zoé", PasswordHash: "!", IsActive: true}
	}
	ids, err := s.CreateUsers(context.Background(), users)
	if err != nil {
		t.Fatal(err)
	}
	token := signedIn(t, s, ids[0])
	// Every word is held by every user, in the third field searched, and
	// is beyond ASCII, so each is looked for in Go, field after field, in
	// every user.
	search := strings.TrimSpace(strings.Repeat("zoé ", store.MaxSearchWords))
	start := time.Now()
	if _, err := s.CountUsers(context.Background(), &store.UserFilter{Search: search}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 3*budget {
		t.Fatalf("the search takes the store %v, too short to tell", took)
	}
	start = time.Now()
	r := g.query(t, token, `query($s: String) { users(search: $s) { totalCount } }`, map[string]any{"s": search})
	if took := time.Since(start); r.code() != "UNAVAILABLE" || took > 2*budget {
		t.Errorf("answered %s %v after %v, the budget is %v", r.code(), r.Errors, took, budget)
	}
	select {
	case took := <-failed:
		if took > 2*budget {
			t.Errorf("the store's count ended after %v, the budget is %v", took, budget)
		}
	case <-time.After(5 * time.Second):
		t.Error("the store's count never ended with the deadline")
	}
	if n := dig(g.query(t, token, `{ users(search: "u0007 zoé") { totalCount } }`, nil).mustData(t), "users", "totalCount"); n != 1.0 {
		t.Errorf("the next search finds %v", n)
	}
}
