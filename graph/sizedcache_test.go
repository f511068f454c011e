package graph

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// The cache holds at most its bytes, whatever the entries' sizes: a
// thousand large entries push the oldest out, and an entry over the
// per-entry bound is never kept.
func TestSizedCacheIsBoundedInBytes(t *testing.T) {
	ctx := context.Background()
	c := NewSizedCache(64<<10, 8<<10, func(k, v string) int { return len(k) + len(v) })
	for i := range 1000 {
		c.Add(ctx, fmt.Sprint(i), strings.Repeat("x", 4<<10))
		if c.Bytes() > 64<<10 {
			t.Fatalf("after %d entries the cache holds %d bytes", i+1, c.Bytes())
		}
	}
	if _, ok := c.Get(ctx, "999"); !ok {
		t.Error("the newest entry was dropped")
	}
	if _, ok := c.Get(ctx, "0"); ok {
		t.Error("the oldest entry was kept past the bound")
	}
	c.Add(ctx, "large", strings.Repeat("x", 8<<10))
	if _, ok := c.Get(ctx, "large"); ok {
		t.Error("an entry over the per-entry bound was kept")
	}
	// Used entries stay; the least recently used go first. The cache
	// holds 15 entries of this size; 10 new ones push out the 10 least
	// recently used.
	c.Get(ctx, "990")
	for i := range 10 {
		c.Add(ctx, fmt.Sprint("new", i), strings.Repeat("x", 4<<10))
	}
	if _, ok := c.Get(ctx, "990"); !ok {
		t.Error("a recently used entry was dropped before older ones")
	}
	if _, ok := c.Get(ctx, "991"); ok {
		t.Error("an entry older than ten newer ones was kept")
	}
}
