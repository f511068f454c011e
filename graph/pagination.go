package graph

import (
	"context"
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/graph/model"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// Page sizes: a list answers DefaultPageSize items unless asked for another
// size, and never more than MaxPageSize.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// pageArgs are the pagination arguments a list field takes: Relay cursors
// (first/after, last/before) or offset/limit.
type pageArgs struct {
	First, Last, Offset, Limit *int
	After, Before              *string
}

// pageOf gathers a list field's pagination arguments, in the order every
// list field of the schema declares them.
func pageOf(first *int, after *string, last *int, before *string, offset *int, limit *int) pageArgs {
	return pageArgs{First: first, After: after, Last: last, Before: before, Offset: offset, Limit: limit}
}

// window is the slice [start, end) of the full sorted list a request asks
// for; end < 0 means "to the end".
type window struct {
	start, end int
	// fromEnd: the size was given with `last` and no `before`, so the end
	// is the total count, which must be known first.
	fromEnd bool
	last    int
}

// MaxPosition is the furthest position in a list an offset or a cursor
// may name: the largest GraphQL Int (32 bits), which is as far as an
// offset can say, and which no list of the store reaches. Bounding
// positions keeps every sum of a window (a position, a page size, one more
// row) far from int's end, so none wraps.
const MaxPosition = math.MaxInt32

// Cursors encode a position in the sorted list, as Relay's own
// connectionFromArray does. They are opaque to clients.
const cursorPrefix = "cursor:"

func encodeCursor(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(offset)))
}

// decodeCursor reads a cursor given as arg: a position from 0 to
// MaxPosition, or bad input naming arg.
func decodeCursor(arg, cursor string) (int, error) {
	raw, err := base64.StdEncoding.DecodeString(cursor)
	if err == nil && strings.HasPrefix(string(raw), cursorPrefix) {
		if n, err := strconv.Atoi(strings.TrimPrefix(string(raw), cursorPrefix)); err == nil && n >= 0 && n <= MaxPosition {
			return n, nil
		}
	}
	return 0, fault.Field(arg, "Invalid cursor.")
}

// resolve checks the arguments and works out the window: every argument
// is range-checked here, so the window's start and end lie between 0 and
// MaxPosition plus a page, the end never before the start.
func (p pageArgs) resolve() (window, error) {
	v := &fault.FieldErrors{}
	nonNegative := func(name string, n *int) int {
		if n == nil {
			return -1
		}
		if *n < 0 {
			v.Add(name, "Ensure this value is greater than or equal to 0.")
			return -1
		}
		return *n
	}
	// Sizes are capped to a page; positions only to MaxPosition: an offset
	// past the largest page reads from there, never a page already read.
	pageSize := func(name string, n *int) int {
		if size := nonNegative(name, n); size >= 0 {
			return min(size, MaxPageSize)
		}
		return -1
	}
	first, last := pageSize("first", p.First), pageSize("last", p.Last)
	limit := pageSize("limit", p.Limit)
	offset := nonNegative("offset", p.Offset)
	if offset > MaxPosition {
		v.Add("offset", "Ensure this value is less than or equal to "+strconv.Itoa(MaxPosition)+".")
	}
	if (p.Offset != nil || p.Limit != nil) && (p.First != nil || p.Last != nil || p.After != nil || p.Before != nil) {
		v.Add(fault.NonField, "Use either offset and limit or cursors (first, after, last, before), not both.")
	}
	if err := v.Err(); err != nil {
		return window{}, err
	}

	w := window{start: 0, end: -1}
	if offset > 0 {
		w.start = offset
	}
	if p.After != nil {
		after, err := decodeCursor("after", *p.After)
		if err != nil {
			return window{}, err
		}
		w.start = after + 1
	}
	if p.Before != nil {
		before, err := decodeCursor("before", *p.Before)
		if err != nil {
			return window{}, err
		}
		w.end = max(before, w.start)
	}
	size := first
	if size < 0 {
		size = limit
	}
	if size >= 0 {
		if w.end < 0 || w.start+size < w.end {
			w.end = w.start + size
		}
	}
	if last >= 0 {
		if w.end < 0 {
			w.fromEnd, w.last = true, last
		} else {
			w.start = max(w.start, w.end-last)
		}
	}
	if w.end < 0 && !w.fromEnd {
		w.end = w.start + DefaultPageSize
	}
	return w, nil
}

// anchor fixes a window given with `last` alone, once the total is known.
// A start past the total (an after cursor beyond the end) is an empty
// window there.
func (w window) anchor(total int) window {
	if w.fromEnd {
		w.end = max(total, w.start)
		w.start = max(w.start, total-w.last)
		w.fromEnd = false
	}
	return w
}

func (w window) page() store.Page {
	// One more than asked for tells whether there is a next page.
	return store.Page{Offset: w.start, Limit: w.end - w.start + 1}
}

// list reads the page of a store list the arguments ask for and makes its
// edges: every connection is built by it. It reads once for the page (with
// one extra row, which tells whether a next page exists), and counts first
// only when `last` needs the end of the list.
func list[T, E any](ctx context.Context, args pageArgs, count model.Counter,
	fetch func(context.Context, store.Page) ([]T, error),
	edge func(cursor string, node *T) E,
) ([]T, []E, *model.PageInfo, error) {
	w, err := args.resolve()
	if err != nil {
		return nil, nil, nil, err
	}
	if w.fromEnd {
		total, err := count(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		w = w.anchor(total)
	}
	rows, err := fetch(ctx, w.page())
	if err != nil {
		return nil, nil, nil, err
	}
	size := w.end - w.start
	hasNext := len(rows) > size
	if hasNext {
		rows = rows[:size]
	}
	info := &model.PageInfo{HasNextPage: hasNext, HasPreviousPage: w.start > 0}
	edges := make([]E, len(rows))
	cursors := make([]string, len(rows))
	for i := range rows {
		cursors[i] = encodeCursor(w.start + i)
		edges[i] = edge(cursors[i], &rows[i])
	}
	if len(rows) > 0 {
		info.StartCursor = &cursors[0]
		info.EndCursor = &cursors[len(rows)-1]
	}
	return rows, edges, info, nil
}

// memo runs count at most once, for a connection whose count was already
// needed to find the page.
func memo(count model.Counter) model.Counter {
	var (
		once sync.Once
		n    int
		nErr error
	)
	return func(ctx context.Context) (int, error) {
		once.Do(func() { n, nErr = count(ctx) })
		return n, nErr
	}
}
