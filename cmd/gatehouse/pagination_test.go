package main

// Paging users through GraphQL: Relay cursors both ways, offset/limit, and
// the arguments that do not go together, on 45 seeded users.

import (
	"fmt"
	"slices"
	"testing"
)

const pageQuery = `query($first: Int, $after: String, $last: Int, $before: String, $offset: Int, $limit: Int, $filter: UserFilter, $orderBy: [UserOrder!]) {
  users(first: $first, after: $after, last: $last, before: $before, offset: $offset, limit: $limit, filter: $filter, orderBy: $orderBy) {
    totalCount
    nodes { id username }
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`

// userPage is one answer of pageQuery.
type userPage struct {
	ids, usernames []string
	cursors        []string
	total          int
	hasNext        bool
	hasPrev        bool
	start, end     string
}

type pagingWorld struct {
	g     *testGateway
	token string
	ids   []string // every user's id, in id order
}

func newPagingWorld(t *testing.T, args ...string) *pagingWorld {
	t.Helper()
	g := newTestGateway(t, args...)
	seeded := seedUsers(t, g.store, "user", 45, "!unusable")
	w := &pagingWorld{g: g, token: signedIn(t, g.store, seeded[0])}
	for _, id := range seeded {
		w.ids = append(w.ids, id.String())
	}
	return w
}

func (w *pagingWorld) page(t *testing.T, vars map[string]any) userPage {
	t.Helper()
	conn := dig(w.g.query(t, w.token, pageQuery, vars).mustData(t), "users")
	var p userPage
	for _, n := range dig(conn, "nodes").([]any) {
		p.ids = append(p.ids, dig(n, "id").(string))
		p.usernames = append(p.usernames, dig(n, "username").(string))
	}
	for i, e := range dig(conn, "edges").([]any) {
		p.cursors = append(p.cursors, dig(e, "cursor").(string))
		if dig(e, "node", "id") != p.ids[i] {
			t.Fatalf("edge %d is %v, node %s", i, dig(e, "node", "id"), p.ids[i])
		}
	}
	p.total = int(dig(conn, "totalCount").(float64))
	p.hasNext = dig(conn, "pageInfo", "hasNextPage").(bool)
	p.hasPrev = dig(conn, "pageInfo", "hasPreviousPage").(bool)
	p.start, _ = dig(conn, "pageInfo", "startCursor").(string)
	p.end, _ = dig(conn, "pageInfo", "endCursor").(string)
	if len(p.cursors) > 0 && (p.start != p.cursors[0] || p.end != p.cursors[len(p.cursors)-1]) {
		t.Fatalf("pageInfo cursors %q…%q, edges %q", p.start, p.end, p.cursors)
	}
	return p
}

func TestPageForward(t *testing.T) {
	w := newPagingWorld(t)
	var seen []string
	vars := map[string]any{"first": 10}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("more than ten pages of ten for 45 users")
		}
		p := w.page(t, vars)
		if p.total != 45 {
			t.Errorf("totalCount %d", p.total)
		}
		if want := min(10, 45-len(seen)); len(p.ids) != want {
			t.Fatalf("page %d has %d users, want %d", pages, len(p.ids), want)
		}
		if p.hasPrev != (pages > 0) {
			t.Errorf("page %d: hasPreviousPage %v", pages, p.hasPrev)
		}
		seen = append(seen, p.ids...)
		if !p.hasNext {
			break
		}
		vars["after"] = p.end
	}
	if !slices.Equal(seen, w.ids) {
		t.Errorf("forward walk:\n got %v\nwant %v", seen, w.ids)
	}
}

func TestPageBackward(t *testing.T) {
	w := newPagingWorld(t)
	var seen []string
	vars := map[string]any{"last": 10}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("more than ten pages of ten for 45 users")
		}
		p := w.page(t, vars)
		if want := min(10, 45-len(seen)); len(p.ids) != want {
			t.Fatalf("page %d has %d users, want %d", pages, len(p.ids), want)
		}
		if pages == 0 && p.hasNext {
			t.Error("the last page has a next page")
		}
		seen = append(slices.Clone(p.ids), seen...)
		if !p.hasPrev {
			break
		}
		vars["before"] = p.start
	}
	if !slices.Equal(seen, w.ids) {
		t.Errorf("backward walk:\n got %v\nwant %v", seen, w.ids)
	}
}

func TestPageLastAlone(t *testing.T) {
	w := newPagingWorld(t)
	p := w.page(t, map[string]any{"last": 5})
	if !slices.Equal(p.ids, w.ids[40:]) || !p.hasPrev || p.hasNext {
		t.Errorf("last 5: %v, hasPreviousPage %v, hasNextPage %v", p.ids, p.hasPrev, p.hasNext)
	}
	// A cursor from one walk works in the other: the five before the last five.
	p = w.page(t, map[string]any{"last": 5, "before": p.start})
	if !slices.Equal(p.ids, w.ids[35:40]) || !p.hasNext {
		t.Errorf("5 before them: %v, hasNextPage %v", p.ids, p.hasNext)
	}
	// first and after from a middle cursor.
	p = w.page(t, map[string]any{"first": 3, "after": p.end})
	if !slices.Equal(p.ids, w.ids[40:43]) {
		t.Errorf("3 after them: %v", p.ids)
	}
}

func TestPageOffsetLimit(t *testing.T) {
	w := newPagingWorld(t)
	cases := []struct {
		offset, limit any
		from, to      int
		hasNext       bool
	}{
		{nil, 3, 0, 3, true},
		{10, 10, 10, 20, true},
		{40, 10, 40, 45, false},
		{35, 10, 35, 45, false},
		{45, 10, 45, 45, false},
		{100, nil, 45, 45, false},
		{5, nil, 5, 25, true}, // the default page of 20
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("offset %v limit %v", c.offset, c.limit), func(t *testing.T) {
			p := w.page(t, map[string]any{"offset": c.offset, "limit": c.limit})
			if !slices.Equal(p.ids, w.ids[c.from:c.to]) || p.hasNext != c.hasNext || p.total != 45 {
				t.Errorf("got %v (next %v, total %d), want users %d to %d (next %v)", p.ids, p.hasNext, p.total, c.from, c.to, c.hasNext)
			}
		})
	}
}

func TestPageArgumentErrors(t *testing.T) {
	w := newPagingWorld(t)
	cursor := w.page(t, map[string]any{"first": 1}).end
	cases := []struct {
		name  string
		vars  map[string]any
		field string
	}{
		{"offset with after", map[string]any{"offset": 5, "after": cursor}, "non_field_errors"},
		{"limit with first", map[string]any{"limit": 5, "first": 5}, "non_field_errors"},
		{"garbage cursor", map[string]any{"first": 5, "after": "garbage"}, "after"},
		{"cursor of another kind", map[string]any{"first": 5, "after": "Y3Vyc29yOi0x"}, "after"}, // "cursor:-1"
		{"garbage before", map[string]any{"last": 5, "before": "!!!"}, "before"},
		{"negative first", map[string]any{"first": -1}, "first"},
		{"negative last", map[string]any{"last": -3}, "last"},
		{"negative offset", map[string]any{"offset": -1}, "offset"},
		{"negative limit", map[string]any{"limit": -1}, "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := w.g.query(t, w.token, pageQuery, c.vars)
			if r.code() != "BAD_USER_INPUT" || r.fields()[c.field] == nil || r.Data["users"] != nil {
				t.Errorf("got %s %v %v, want BAD_USER_INPUT on %s", r.code(), r.fields(), r.Data, c.field)
			}
		})
	}
}

func TestPageFilteredAndOrdered(t *testing.T) {
	w := newPagingWorld(t)
	// user10 … user19 start with "user01" (user010 … user019).
	filter := map[string]any{"username": map[string]any{"startsWith": "user01"}}
	p := w.page(t, map[string]any{"filter": filter, "first": 3})
	if p.total != 10 || !slices.Equal(p.ids, w.ids[10:13]) || !p.hasNext {
		t.Errorf("filtered: total %d, %v, next %v", p.total, p.ids, p.hasNext)
	}
	p = w.page(t, map[string]any{"filter": filter, "first": 3, "after": p.end})
	if p.total != 10 || !slices.Equal(p.ids, w.ids[13:16]) {
		t.Errorf("filtered, second page: total %d, %v", p.total, p.ids)
	}
	or := map[string]any{"or": []any{filter, map[string]any{"email": map[string]any{"iExact": "USER044@EXAMPLE.COM"}}}}
	if p := w.page(t, map[string]any{"filter": or, "first": 1}); p.total != 11 || len(p.ids) != 1 {
		t.Errorf("or: total %d, %v", p.total, p.ids)
	}

	desc := []any{map[string]any{"field": "USERNAME", "direction": "DESC"}}
	var names []string
	vars := map[string]any{"orderBy": desc, "first": 20}
	for {
		p := w.page(t, vars)
		names = append(names, p.usernames...)
		if !p.hasNext {
			break
		}
		vars["after"] = p.end
	}
	var want []string
	for i := 44; i >= 0; i-- {
		want = append(want, fmt.Sprintf("user%03d", i))
	}
	if !slices.Equal(names, want) {
		t.Errorf("USERNAME DESC:\n got %v\nwant %v", names, want)
	}
	p = w.page(t, map[string]any{"orderBy": desc, "last": 2})
	if !slices.Equal(p.usernames, []string{"user001", "user000"}) {
		t.Errorf("USERNAME DESC, last 2: %v", p.usernames)
	}
}
