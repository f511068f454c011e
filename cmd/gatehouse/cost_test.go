package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// doublingFragments is `{ ...F<levels> }` where each fragment spreads the
// one below it twice: a document of a few hundred bytes that names 2^levels
// copies of leaf. type is the type every fragment is on.
func doublingFragments(levels int, onType, root, leaf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{ %s } fragment F0 on %s { %s }", strings.ReplaceAll(root, "SPREAD", fmt.Sprintf("...F%d", levels)), onType, leaf)
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, " fragment F%d on %s { ...F%d ...F%d }", i, onType, i-1, i-1)
	}
	return b.String()
}

// queryWithin POSTs an operation that must be answered before the deadline;
// the deadline only keeps a runaway server from hanging the test.
func (g *testGateway) queryWithin(t testing.TB, d time.Duration, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.srv.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	return g.do(t, req)
}

// Fragments that spread each other twice name 2^40 fields in about 1.6 KB.
// The cost and depth checks price each fragment once, so such a document
// is refused at once, before authentication matters and without a store
// round trip, whether it is too costly or too deep.
func TestFragmentSpreadExplosionIsRefusedAtOnce(t *testing.T) {
	rt := &roundTrips{}
	g := newTestGatewayOn(t, storetest.Open(t, store.Options{Observer: rt.observer()}))
	deep := "me { " + strings.Repeat("createdBy { ", 14) + "id" + strings.Repeat(" }", 14) + " }"
	for _, c := range []struct {
		name, query, code string
	}{
		{"costly", doublingFragments(40, "Query", "SPREAD", "__typename"), "COMPLEXITY_LIMIT_EXCEEDED"},
		{"costly under a field", doublingFragments(40, "User", "me { SPREAD }", "id"), "COMPLEXITY_LIMIT_EXCEEDED"},
		{"too deep", doublingFragments(40, "Query", "SPREAD", deep), "DEPTH_LIMIT_EXCEEDED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt.reset()
			r := g.queryWithin(t, 5*time.Second, "", c.query, nil)
			if r.code() != c.code || r.Data != nil {
				t.Errorf("%d bytes: %+v %+v", len(c.query), r.Data, r.Errors)
			}
			if n := rt.snapshot()["total"]; n != 0 {
				t.Errorf("the refused operation sent %d commands to the store", n)
			}
		})
	}
	// A fragment spread a few times is priced as often as it is spread.
	token := g.signUp(t, "spreader", "spreader-pass")
	r := g.query(t, token, `{ a: me { ...U } b: me { ...U } } fragment U on User { id username }`, nil)
	if dig(r.mustData(t), "b", "username") != "spreader" {
		t.Errorf("a small document with fragments: %+v", r)
	}
}

// orFilter is a users filter of n alternatives, each a username lookup.
func orFilter(n int) map[string]any {
	alternatives := make([]any, n)
	for i := range alternatives {
		alternatives[i] = map[string]any{"username": map[string]any{"exact": fmt.Sprintf("nobody%05d", i)}}
	}
	return map[string]any{"or": alternatives}
}

// notFilter is a users filter of n nested nots around an isActive test.
func notFilter(n int) map[string]any {
	f := map[string]any{"isActive": true}
	for range n {
		f = map[string]any{"not": f}
	}
	return f
}

// A filter's conditions are weighed by the admission, each evaluated on
// every row the filter scans: one operation's scans may weigh at most 50
// (--scan-limit), 5 of them the walk itself, so a filter holds at most 45. The filter carries bounds of its own besides: at most
// 200 nodes (its and, or and not entries, conditions or not), nested at
// most 16 deep. Past any of them the request is refused before the store
// sees it: by the admission, or as bad input naming the filter.
func TestFilterSizeAndNestingAreBounded(t *testing.T) {
	rt := &roundTrips{}
	g := newTestGatewayOn(t, storetest.Open(t, store.Options{Observer: rt.observer()}))
	token := g.signUp(t, "filterer", "filterer-pass")
	g.query(t, token, meQuery, nil).mustData(t) // the token is cached from here on
	const usersQuery = `query($f: UserFilter) { users(filter: $f) { totalCount nodes { id } } }`

	for _, c := range []struct {
		name   string
		filter map[string]any
	}{
		{"45 conditions", orFilter(45)},
		{"200 nodes", emptyOrFilter(199)},
		{"a filter 16 deep", notFilter(15)},
	} {
		r := g.query(t, token, usersQuery, map[string]any{"f": c.filter})
		if dig(r.mustData(t), "users", "totalCount") == nil {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
	for _, c := range []struct {
		name   string
		filter map[string]any
		code   string
	}{
		{"46 conditions", orFilter(46), "COMPLEXITY_LIMIT_EXCEEDED"},
		{"a 5,000-way or", orFilter(5000), "COMPLEXITY_LIMIT_EXCEEDED"},
		{"201 nodes", emptyOrFilter(200), "BAD_USER_INPUT"},
		{"17 deep", notFilter(16), "BAD_USER_INPUT"},
		{"40 deep", notFilter(40), "BAD_USER_INPUT"},
	} {
		rt.reset()
		r := g.query(t, token, usersQuery, map[string]any{"f": c.filter})
		if r.code() != c.code || c.code == "BAD_USER_INPUT" && r.fields()["filter"] == nil || r.Data["users"] != nil {
			t.Errorf("%s: %+v, want %s", c.name, r.Errors, c.code)
		}
		if n := rt.snapshot()["total"]; n != 0 {
			t.Errorf("%s: the refused filter sent %d commands to the store", c.name, n)
		}
	}
}

// emptyOrFilter is a users filter of n empty alternatives: nodes without
// conditions.
func emptyOrFilter(n int) map[string]any {
	alternatives := make([]any, n)
	for i := range alternatives {
		alternatives[i] = map[string]any{}
	}
	return map[string]any{"or": alternatives}
}

// restList sends a REST list request as token and decodes its JSON body.
func (g *testGateway) restList(t testing.TB, token, method, path, body string) (int, any) {
	t.Helper()
	req, err := http.NewRequest(method, g.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Token "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	r := g.raw(t, req)
	var doc any
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("%s %s: %d %q", method, path, r.Status, r.Body)
	}
	return r.Status, doc
}

// Only the page size is capped: an offset past the largest page reads from
// there, so no page repeats another, and a REST list that reads its users
// a chunk at a time reads each once and stops at the end.
func TestOffsetIsNotCapped(t *testing.T) {
	rt := &roundTrips{}
	g := newTestGatewayOn(t, storetest.Open(t, store.Options{Observer: rt.observer()}))
	ids := seedUsers(t, g.store, "paged", 206, "!unusable")
	token := g.staff(t, "pager", true)

	r := g.query(t, token, `{ users(offset: 150, limit: 3) { nodes { id } } }`, nil)
	nodes := dig(r.mustData(t), "users", "nodes").([]any)
	if len(nodes) != 3 || dig(nodes[0], "id") != fmt.Sprint(ids[150]) {
		t.Errorf("offset 150: %v, want ids from %d", nodes, ids[150])
	}

	_, page := g.restList(t, token, http.MethodGet, "/api/users?offset=180&limit=3", "")
	if first := dig(page, "results", 0, "id"); first != float64(ids[180]) {
		t.Errorf("accounts ?offset=180: first id %v, want %d", first, ids[180])
	}

	rt.reset()
	status, list := g.restList(t, token, http.MethodPost, "/v1/users/list", "{}")
	users, _ := list.([]any)
	seen := map[any]bool{}
	for _, u := range users {
		seen[dig(u, "pk")] = true
	}
	if status != http.StatusOK || len(users) != 207 || len(seen) != 207 {
		t.Errorf("v1 list: %d, %d users, %d distinct, want 207", status, len(users), len(seen))
	}
	// Five chunks of 50, and the token and permission checks around them.
	if n := rt.snapshot()["users"]; n > 8 {
		t.Errorf("the v1 list read the users %d times", n)
	}
}

// Every list is priced by the rows it may answer: a connection by its page
// size times its selection, a list read in one go (mailingsStats, a user's
// roles) by its bound times the store reads each row makes. So a request
// that would fan out into thousands of store reads is refused up front,
// while the same fields asked once, or over a small page, are answered.
func TestListsArePricedByTheirRows(t *testing.T) {
	rt := &roundTrips{}
	s := storetest.Open(t, store.Options{Observer: rt.observer()})
	seedRoles(t, s, 10, 100)
	g := newTestGatewayOn(t, s)
	token := g.signUp(t, "nobody-special", "nobody-special-pass")
	g.query(t, token, meQuery, nil).mustData(t) // the token is cached from here on

	for _, c := range []struct{ name, query string }{
		{"160 role pages of user pages", "{ " + aliases(160, "roles(limit: 100) { nodes { users(limit: 100) { totalCount nodes { id } } } }") + "}"},
		{"backward role pages of user pages", "{ roles(last: 100) { nodes { users(last: 100) { nodes { id } } } } }"},
		{"one role page of user pages", "{ roles(limit: 100) { nodes { users(limit: 20) { nodes { id } } } } }"},
		{"tags, codes, clients, mailings, messages", "{ " + aliases(3, "tags(first: 100) { totalCount nodes { id name } } operatorCodes(first: 100) { totalCount nodes { id code } } clients(first: 100) { totalCount nodes { id tag { name } } } mailings(first: 100) { nodes { id stats { total } } } messages(first: 100) { nodes { id } }") + "}"},
		{"per-mailing counts of every mailing", "{ mailingsStats { matchedClients firstSend lastSend } }"},
		{"a page of users with a page of each role's users", "{ users(first: 20) { nodes { roles { users(first: 5) { totalCount } } } } }"},
	} {
		rt.reset()
		r := g.query(t, token, c.query, nil)
		if r.code() != "COMPLEXITY_LIMIT_EXCEEDED" || r.Data != nil {
			t.Errorf("%s: %+v", c.name, r.Errors)
		}
		if n := rt.snapshot()["total"]; n != 0 {
			t.Errorf("%s: the refused operation sent %d commands to the store", c.name, n)
		}
	}
	// Priced under the limit, each runs: it is answered, or refused only
	// field by field for what the caller, who holds no permission, may not
	// see (denied names the permission those fields need; being non-null,
	// they leave no data).
	for _, c := range []struct{ name, query, denied string }{
		{"statistics of every mailing", "{ mailingsStats { mailing { id text } total pending sending sent failed expired } }", ""},
		{"one mailing's counts", "{ mailings(first: 10) { nodes { stats { matchedClients firstSend lastSend } } } }", ""},
		{"a page of users with their roles", "{ users(first: 50) { totalCount nodes { id username roles { name permissions { codename } } effectivePermissions { codename } } } }", "view_permission"},
		{"a page of roles with their user count", "{ roles(first: 100) { nodes { name } } }", ""},
	} {
		r := g.query(t, token, c.query, nil)
		if c.denied == "" && (len(r.Data) == 0 || slices.Contains(slices.Collect(maps.Values(r.Data)), nil)) {
			t.Errorf("%s: no answer: %+v %+v", c.name, r.Data, r.Errors)
		}
		if c.denied != "" && len(r.Errors) == 0 {
			t.Errorf("%s: answered without %s", c.name, c.denied)
		}
		for _, e := range r.Errors {
			if c.denied == "" || e.Message != "You do not have permission to perform this action." ||
				e.Extensions["code"] != "FORBIDDEN" || e.Extensions["permission"] != c.denied {
				t.Errorf("%s: %+v, want only FORBIDDEN errors for %q", c.name, e, c.denied)
			}
		}
	}
}

// Variables are coerced before any filter bound can look at them, and
// coercing them costs time in proportion to their size (and, for nesting,
// to its square): variables nested deeper than 64 levels or holding more
// than 20,000 values are refused as a request error before they are
// coerced.
func TestHugeVariablesAreRefusedBeforeCoercion(t *testing.T) {
	g := newTestGateway(t)
	token := g.signUp(t, "variable", "variable-pass")
	const usersQuery = `query($f: UserFilter) { users(filter: $f) { totalCount } }`
	for _, c := range []struct {
		name   string
		filter map[string]any
	}{
		{"a 20,000-way or", orFilter(20_000)},
		{"a not 9,000 deep", notFilter(9_000)},
		{"a not 64 deep", notFilter(64)},
	} {
		r := g.query(t, token, usersQuery, map[string]any{"f": c.filter})
		if r.code() != "VARIABLES_LIMIT_EXCEEDED" || r.Data != nil || !strings.Contains(r.Errors[0].Message, "variables") {
			t.Errorf("%s: %d %+v", c.name, r.Status, r.Errors)
		}
	}
	// Strings count as one value whatever they hold.
	r := g.query(t, token, usersQuery, map[string]any{"f": map[string]any{"username": map[string]any{"exact": strings.Repeat(`{[,"\`, 1000)}}})
	if dig(r.mustData(t), "users", "totalCount") != 0.0 {
		t.Errorf("a string of brackets: %+v", r)
	}
}
