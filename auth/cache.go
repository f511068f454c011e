package auth

import (
	"container/list"
	"sync"
	"time"
)

// CallerCache remembers authenticated callers by token digest for a short
// TTL, so that most requests cost no store round trip. It is per instance:
// when a user is deactivated, loses a permission or signs out, the instance
// that made the change drops the entries at once (Delete, DeleteUser), and
// the other instances within ttl. Keep ttl short (seconds to a minute) for
// that reason.
//
// Entries live in a list in order of insertion. As every entry has the same
// ttl, that is also the order of expiry, so both "drop what has expired" and
// "drop the oldest when full" take entries from the front: Put is O(1)
// amortised, DeleteUser is O(entries of that user), Purge is O(1).
//
// The cache stores its own copy of each caller and hands that copy out to
// every Get: treat returned callers as read-only.
//
// A nil *CallerCache, or one built with ttl <= 0 or maxEntries <= 0, caches
// nothing, which is how caching is turned off. It is safe for concurrent use.
type CallerCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // digest -> element holding a *cacheEntry
	order   *list.List               // oldest first
	byUser  map[int64]map[string]struct{}
	// gen changes on every removal that is not an expiry or eviction. A
	// lookup that started before such a removal may have read what the
	// removal was meant to drop, so its result is not cached (putIf).
	gen   uint64
	stats CacheStats
}

type cacheEntry struct {
	digest  string
	caller  *Caller
	expires time.Time
}

// CacheStats are counters for metrics.
type CacheStats struct {
	Hits      uint64
	Misses    uint64 // includes lookups that found only an expired entry
	Evictions uint64 // live entries dropped because the cache was full
	Entries   int
}

// NewCallerCache returns a cache holding at most maxEntries callers, each
// for ttl. now is the clock (time.Now when nil); tests inject their own.
func NewCallerCache(ttl time.Duration, maxEntries int, now func() time.Time) *CallerCache {
	if now == nil {
		now = time.Now
	}
	return &CallerCache{
		ttl:     ttl,
		max:     maxEntries,
		now:     now,
		entries: make(map[string]*list.Element),
		order:   list.New(),
		byUser:  make(map[int64]map[string]struct{}),
	}
}

// enabled reports whether the cache stores anything.
func (c *CallerCache) enabled() bool {
	return c != nil && c.ttl > 0 && c.max > 0
}

// Get returns the caller cached for digest, if any and not expired. An
// entry expires at exactly its insertion time plus ttl.
func (c *CallerCache) Get(digest string) (*Caller, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[digest]
	if !ok {
		c.stats.Misses++
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.removeLocked(el)
		c.stats.Misses++
		return nil, false
	}
	c.stats.Hits++
	return e.caller, true
}

// Put caches a copy of caller under digest for ttl, replacing any entry
// for digest. A nil caller is not cached.
func (c *CallerCache) Put(digest string, caller *Caller) {
	if !c.enabled() || caller == nil {
		return
	}
	cp := caller.Clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(digest, cp)
}

// generation returns a value to hand to putIf after a lookup.
func (c *CallerCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// putIf caches caller, which the cache now owns, unless something was
// deleted since generation returned gen.
func (c *CallerCache) putIf(gen uint64, digest string, caller *Caller) {
	if !c.enabled() || caller == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	c.putLocked(digest, caller)
}

func (c *CallerCache) putLocked(digest string, caller *Caller) {
	if el, ok := c.entries[digest]; ok {
		c.removeLocked(el)
	}
	now := c.now()
	// Expired entries sit at the front; drop them while we are here so
	// the cache does not hold dead callers until it fills.
	for el := c.order.Front(); el != nil && !now.Before(el.Value.(*cacheEntry).expires); el = c.order.Front() {
		c.removeLocked(el)
	}
	for c.order.Len() >= c.max {
		c.removeLocked(c.order.Front())
		c.stats.Evictions++
	}
	el := c.order.PushBack(&cacheEntry{digest: digest, caller: caller, expires: now.Add(c.ttl)})
	c.entries[digest] = el
	u := c.byUser[caller.UserID]
	if u == nil {
		u = make(map[string]struct{})
		c.byUser[caller.UserID] = u
	}
	u[digest] = struct{}{}
}

func (c *CallerCache) removeLocked(el *list.Element) {
	e := c.order.Remove(el).(*cacheEntry)
	delete(c.entries, e.digest)
	if u := c.byUser[e.caller.UserID]; u != nil {
		delete(u, e.digest)
		if len(u) == 0 {
			delete(c.byUser, e.caller.UserID)
		}
	}
}

// Delete drops the entry for digest: call it when that token is revoked.
func (c *CallerCache) Delete(digest string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if el, ok := c.entries[digest]; ok {
		c.removeLocked(el)
	}
}

// DeleteUser drops every entry of the user: call it after the user is
// deactivated or deleted, their password changes, or their roles or
// permissions change.
func (c *CallerCache) DeleteUser(userID int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for digest := range c.byUser[userID] {
		c.removeLocked(c.entries[digest])
	}
}

// Purge drops every entry: call it when a change affects many users, such
// as a role's permissions changing.
func (c *CallerCache) Purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = make(map[string]*list.Element)
	c.order.Init()
	c.byUser = make(map[int64]map[string]struct{})
}

// Stats returns the cache's counters so far and its current size.
func (c *CallerCache) Stats() CacheStats {
	if c == nil {
		return CacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries = c.order.Len()
	return s
}
