package graph

import (
	"fmt"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// Bounds of a list's filter. A filter arrives as a variable, which the
// complexity check does not price, and the store answers it in one query
// whose cost grows with every condition and every value: a 20,000-way or,
// a not nested thousands deep, or an `in` of 7,000 names given five times
// would hold the store for many seconds, or pass the embedded engine's
// bound on the values of one statement (32,766) and fail.
const (
	// MaxFilterNodes is the most filters one users filter may hold, itself
	// and every filter in its and, or and not counted.
	MaxFilterNodes = 200
	// MaxFilterDepth is how deep and, or and not may nest, the outer
	// filter being 1.
	MaxFilterDepth = 16
	// MaxFilterValues is the most values one filter may hold in all: each
	// lookup given, and each item of its lists (in, ids, statuses), in
	// every filter it nests. Each is a value the store binds into its
	// query, and the embedded engine's work to prepare a query grows with
	// the square of those: 16,000 (200 filters with every lookup given)
	// took seconds. A filter names what a client already holds, a few
	// conditions or the ids of a few pages (100 rows at most each), so
	// 1,000 leaves it ten full pages; the longest search adds 165 more.
	MaxFilterValues = 1000
)

var errTooManyValues = fault.Field("filter", fmt.Sprintf(
	"A filter may hold at most %d values in all (each lookup given, each item of its lists).", MaxFilterValues))

// checkUserFilter refuses a users filter past the bounds, as bad input
// naming the filter. It stops counting as soon as a bound is passed.
func checkUserFilter(f *store.UserFilter) error {
	nodes, values := 0, 0
	var within func(f *store.UserFilter, depth int) bool
	within = func(f *store.UserFilter, depth int) bool {
		if f == nil {
			return true
		}
		nodes++
		values += f.Values()
		if nodes > MaxFilterNodes || depth > MaxFilterDepth || values > MaxFilterValues {
			return false
		}
		for _, list := range [][]*store.UserFilter{f.And, f.Or, {f.Not}} {
			for _, sub := range list {
				if !within(sub, depth+1) {
					return false
				}
			}
		}
		return true
	}
	if !within(f, 1) {
		if values > MaxFilterValues {
			return errTooManyValues
		}
		return fault.Field("filter", fmt.Sprintf(
			"A filter may hold at most %d conditions (itself and each one in and, or and not), nested at most %d deep.",
			MaxFilterNodes, MaxFilterDepth))
	}
	return nil
}

// valued is a filter that counts its values.
type valued interface{ Values() int }

// checkFilterValues refuses a filter of more than MaxFilterValues values,
// as bad input naming the filter.
func checkFilterValues(f valued) error {
	if f.Values() > MaxFilterValues {
		return errTooManyValues
	}
	return nil
}
