package graph

import (
	"context"
	"encoding/base64"
	"math"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

func TestPageArgsResolve(t *testing.T) {
	n := func(v int) *int { return &v }
	c := func(offset int) *string { s := encodeCursor(offset); return &s }
	bad := "not a cursor"
	for _, tc := range []struct {
		name  string
		args  pageArgs
		total int
		want  store.Page // the read, after anchoring at total
		field string     // the field of the error, when one is expected
	}{
		{name: "default page", args: pageArgs{}, want: store.Page{Offset: 0, Limit: DefaultPageSize + 1}},
		{name: "first", args: pageArgs{First: n(5)}, want: store.Page{Offset: 0, Limit: 6}},
		{name: "first after", args: pageArgs{First: n(5), After: c(9)}, want: store.Page{Offset: 10, Limit: 6}},
		{name: "first is capped", args: pageArgs{First: n(5000)}, want: store.Page{Offset: 0, Limit: MaxPageSize + 1}},
		{name: "offset is not capped", args: pageArgs{Offset: n(150), Limit: n(3)}, want: store.Page{Offset: 150, Limit: 4}},
		{name: "limit is capped", args: pageArgs{Offset: n(7), Limit: n(1000)}, want: store.Page{Offset: 7, Limit: MaxPageSize + 1}},
		{name: "last alone counts from the end", args: pageArgs{Last: n(3)}, total: 50, want: store.Page{Offset: 47, Limit: 4}},
		{name: "last of fewer than asked", args: pageArgs{Last: n(10)}, total: 4, want: store.Page{Offset: 0, Limit: 5}},
		{name: "last before", args: pageArgs{Last: n(2), Before: c(10)}, want: store.Page{Offset: 8, Limit: 3}},
		{name: "after and before", args: pageArgs{After: c(2), Before: c(6)}, want: store.Page{Offset: 3, Limit: 4}},
		{name: "before ahead of after", args: pageArgs{After: c(6), Before: c(2)}, want: store.Page{Offset: 7, Limit: 1}},
		{name: "a negative first", args: pageArgs{First: n(-1)}, field: "first"},
		{name: "a negative offset", args: pageArgs{Offset: n(-3)}, field: "offset"},
		{name: "offsets and cursors mixed", args: pageArgs{Offset: n(1), First: n(2)}, field: fault.NonField},
		{name: "a cursor that is not one", args: pageArgs{After: &bad}, field: "after"},
		{name: "the furthest offset", args: pageArgs{Offset: n(MaxPosition), Limit: n(3)}, want: store.Page{Offset: MaxPosition, Limit: 4}},
		{name: "an offset past the furthest position", args: pageArgs{Offset: n(MaxPosition + 1)}, field: "offset"},
		{name: "an offset of 2^62", args: pageArgs{Offset: n(1 << 62), Limit: n(5)}, field: "offset"},
		{name: "after the furthest position", args: pageArgs{First: n(5), After: c(MaxPosition)}, want: store.Page{Offset: MaxPosition + 1, Limit: 6}},
		{name: "an after cursor past the furthest position", args: pageArgs{After: c(MaxPosition + 1)}, field: "after"},
		{name: "an after cursor at int's end", args: pageArgs{After: c(math.MaxInt)}, field: "after"},
		{name: "an after cursor near int's end, with last", args: pageArgs{After: c(math.MaxInt - 2), Last: n(5)}, field: "after"},
		{name: "a before cursor at int's end", args: pageArgs{Before: c(math.MaxInt), Last: n(5)}, field: "before"},
		{name: "after the end, with last", args: pageArgs{After: c(100), Last: n(5)}, total: 45, want: store.Page{Offset: 101, Limit: 1}},
		{name: "after the furthest position, with last", args: pageArgs{After: c(MaxPosition), Last: n(5)}, total: 45,
			want: store.Page{Offset: MaxPosition + 1, Limit: 1}},
		{name: "a negative last", args: pageArgs{Last: n(-1)}, field: "last"},
		{name: "a negative limit", args: pageArgs{Limit: n(-1)}, field: "limit"},
		{name: "a huge first is a page", args: pageArgs{First: n(math.MaxInt)}, want: store.Page{Offset: 0, Limit: MaxPageSize + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := tc.args.resolve()
			if tc.field != "" {
				if v, ok := fault.As(err); !ok || len(v.Fields[tc.field]) == 0 {
					t.Fatalf("want an error on %s, got %v", tc.field, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := w.anchor(tc.total).page(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("reads %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCursorsRoundTrip(t *testing.T) {
	for _, offset := range []int{0, 1, 99, MaxPosition} {
		got, err := decodeCursor("after", encodeCursor(offset))
		if err != nil || got != offset {
			t.Errorf("%d came back as %d, %v", offset, got, err)
		}
	}
	past := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, cursor := range []string{"", "Y3Vyc29yOi0x" /* cursor:-1 */, "eA==" /* x */, "%%%", encodeCursor(MaxPosition + 1),
		encodeCursor(math.MaxInt), past("cursor:9223372036854775808"), past("cursor:99999999999999999999")} {
		if _, err := decodeCursor("after", cursor); err == nil {
			t.Errorf("%q was taken for a cursor", cursor)
		}
	}
}

// TestListMakesThePageAndItsEdges pages through a list of five, as every
// connection does: each edge carries its node's cursor, the page info says
// what lies either side, and the list is counted only when `last` needs
// its end.
func TestListMakesThePageAndItsEdges(t *testing.T) {
	all := []int{0, 1, 2, 3, 4}
	n := func(v int) *int { return &v }
	c := func(offset int) *string { s := encodeCursor(offset); return &s }
	for _, tc := range []struct {
		name             string
		args             pageArgs
		want             []int
		hasNext, hasPrev bool
		counts           int
	}{
		{name: "first after", args: pageArgs{First: n(2), After: c(0)}, want: []int{1, 2}, hasNext: true, hasPrev: true},
		{name: "the whole list", args: pageArgs{}, want: all},
		{name: "last", args: pageArgs{Last: n(2)}, want: []int{3, 4}, hasPrev: true, counts: 1},
		{name: "past the end", args: pageArgs{Offset: n(9)}, want: []int{}, hasPrev: true},
		{name: "last, after the end", args: pageArgs{Last: n(2), After: c(8)}, want: []int{}, hasPrev: true, counts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counted := 0
			count := func(context.Context) (int, error) { counted++; return len(all), nil }
			fetch := func(_ context.Context, pg store.Page) ([]int, error) {
				start := min(pg.Offset, len(all))
				return append([]int{}, all[start:min(start+pg.Limit, len(all))]...), nil
			}
			type edge struct {
				cursor string
				node   int
			}
			nodes, edges, info, err := list(context.Background(), tc.args, count, fetch,
				func(cursor string, node *int) edge { return edge{cursor, *node} })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(nodes, tc.want) || len(edges) != len(nodes) {
				t.Fatalf("nodes %v and %d edges, want %v", nodes, len(edges), tc.want)
			}
			for i, e := range edges {
				if e.node != nodes[i] || e.cursor != encodeCursor(nodes[i]) {
					t.Errorf("edge %d is %+v, for node %d", i, e, nodes[i])
				}
			}
			if info.HasNextPage != tc.hasNext || info.HasPreviousPage != tc.hasPrev {
				t.Errorf("next %v, previous %v; want %v, %v", info.HasNextPage, info.HasPreviousPage, tc.hasNext, tc.hasPrev)
			}
			if len(edges) > 0 && (*info.StartCursor != edges[0].cursor || *info.EndCursor != edges[len(edges)-1].cursor) {
				t.Errorf("page from %s to %s, edges from %s to %s", *info.StartCursor, *info.EndCursor, edges[0].cursor, edges[len(edges)-1].cursor)
			}
			if len(edges) == 0 && (info.StartCursor != nil || info.EndCursor != nil) {
				t.Error("an empty page has cursors")
			}
			if counted != tc.counts {
				t.Errorf("counted %d times, want %d", counted, tc.counts)
			}
		})
	}
}
