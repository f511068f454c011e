package graph

import (
	"fmt"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// Bounds of a users filter. A filter arrives as a variable, which the
// complexity check does not price, and the store answers it in one query
// whose cost grows with every condition: a 20,000-way or, or a not nested
// thousands deep, would hold the store for many seconds.
const (
	// MaxFilterNodes is the most filters one users filter may hold, itself
	// and every filter in its and, or and not counted.
	MaxFilterNodes = 200
	// MaxFilterDepth is how deep and, or and not may nest, the outer
	// filter being 1.
	MaxFilterDepth = 16
)

// checkUserFilter refuses a users filter past the bounds, as bad input
// naming the filter. It stops counting as soon as a bound is passed.
func checkUserFilter(f *store.UserFilter) error {
	nodes := 0
	var within func(f *store.UserFilter, depth int) bool
	within = func(f *store.UserFilter, depth int) bool {
		if f == nil {
			return true
		}
		nodes++
		if nodes > MaxFilterNodes || depth > MaxFilterDepth {
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
		return fault.Field("filter", fmt.Sprintf(
			"A filter may hold at most %d conditions (itself and each one in and, or and not), nested at most %d deep.",
			MaxFilterNodes, MaxFilterDepth))
	}
	return nil
}
