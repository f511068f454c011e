package graph

import (
	recency "container/list"
	"context"
	"sync"
)

// SizedCache is a least-recently-used cache bounded by the bytes of its
// keys and values as a size function measures them, so that a few large
// entries cannot hold what a thousand small ones may. Entries larger than
// MaxEntry are not kept.
type SizedCache[V any] struct {
	maxBytes, maxEntry int
	size               func(key string, v V) int

	mu      sync.Mutex
	bytes   int
	order   *recency.List // front: most recently used
	entries map[string]*recency.Element
}

type sizedEntry[V any] struct {
	key   string
	value V
	size  int
}

// NewSizedCache keeps entries up to maxBytes in all, none over maxEntry.
func NewSizedCache[V any](maxBytes, maxEntry int, size func(key string, v V) int) *SizedCache[V] {
	return &SizedCache[V]{maxBytes: maxBytes, maxEntry: maxEntry, size: size, order: recency.New(), entries: map[string]*recency.Element{}}
}

// Get implements graphql.Cache.
func (c *SizedCache[V]) Get(_ context.Context, key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*sizedEntry[V]).value, true
	}
	var zero V
	return zero, false
}

// Add implements graphql.Cache.
func (c *SizedCache[V]) Add(_ context.Context, key string, value V) {
	n := c.size(key, value)
	if n > c.maxEntry || n > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.bytes -= e.Value.(*sizedEntry[V]).size
		c.order.Remove(e)
		delete(c.entries, key)
	}
	c.entries[key] = c.order.PushFront(&sizedEntry[V]{key, value, n})
	c.bytes += n
	for c.bytes > c.maxBytes {
		oldest := c.order.Back()
		e := oldest.Value.(*sizedEntry[V])
		c.order.Remove(oldest)
		delete(c.entries, e.key)
		c.bytes -= e.size
	}
}

// Bytes is what the cache holds now, as its size function measures it.
func (c *SizedCache[V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
