package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func caller(userID int64) *Caller {
	return &Caller{UserID: userID, Username: fmt.Sprint("user", userID), IsActive: true}
}

// cached lists which of digests are in the cache, in order.
func cached(c *CallerCache, digests ...string) []string {
	var in []string
	for _, d := range digests {
		if _, ok := c.Get(d); ok {
			in = append(in, d)
		}
	}
	return in
}

func TestCacheExpiresAtExactlyTTL(t *testing.T) {
	clock := newFakeClock()
	c := NewCallerCache(time.Minute, 10, clock.Now)
	c.Put("d", caller(1))
	clock.Advance(time.Minute - time.Nanosecond)
	if _, ok := c.Get("d"); !ok {
		t.Fatal("entry gone before its TTL")
	}
	clock.Advance(time.Nanosecond)
	if _, ok := c.Get("d"); ok {
		t.Fatal("entry still there at exactly its TTL")
	}
	if n := c.Stats().Entries; n != 0 {
		t.Errorf("%d entries after the only one expired; want 0", n)
	}
}

func TestCachePutReplacesAndRenews(t *testing.T) {
	clock := newFakeClock()
	c := NewCallerCache(time.Minute, 10, clock.Now)
	c.Put("d", caller(1))
	clock.Advance(30 * time.Second)
	c.Put("d", caller(2))
	clock.Advance(45 * time.Second) // past the first Put's TTL, within the second's
	got, ok := c.Get("d")
	if !ok || got.UserID != 2 {
		t.Fatalf("Get = %+v, %v; want user 2", got, ok)
	}
	c.DeleteUser(1)
	if _, ok := c.Get("d"); !ok {
		t.Error("DeleteUser of the replaced caller's user dropped the new entry")
	}
	if n := c.Stats().Entries; n != 1 {
		t.Errorf("%d entries; want 1", n)
	}
}

func TestCacheDeletes(t *testing.T) {
	all := []string{"a1", "a2", "b1", "c1"}
	tests := []struct {
		name string
		do   func(*CallerCache)
		want []string
	}{
		{"Delete one token", func(c *CallerCache) { c.Delete("a1") }, []string{"a2", "b1", "c1"}},
		{"Delete an unknown token", func(c *CallerCache) { c.Delete("zz") }, all},
		{"DeleteUser drops every token of that user", func(c *CallerCache) { c.DeleteUser(1) }, []string{"b1", "c1"}},
		{"DeleteUser of an unknown user", func(c *CallerCache) { c.DeleteUser(42) }, all},
		{"Purge", func(c *CallerCache) { c.Purge() }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCallerCache(time.Minute, 10, newFakeClock().Now)
			c.Put("a1", caller(1))
			c.Put("a2", caller(1))
			c.Put("b1", caller(2))
			c.Put("c1", caller(3))
			tt.do(c)
			if got := cached(c, all...); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("cached after: %v; want %v", got, tt.want)
			}
			if got := c.Stats().Entries; got != len(tt.want) {
				t.Errorf("Stats().Entries = %d; want %d", got, len(tt.want))
			}
			// The index by user keeps no user whose tokens are all gone:
			// a cache that forgot a user's tokens but not the user would
			// grow with every user ever seen.
			users := map[int64]bool{}
			for _, d := range tt.want {
				users[map[byte]int64{'a': 1, 'b': 2, 'c': 3}[d[0]]] = true
			}
			if len(c.byUser) != len(users) {
				t.Errorf("the index by user holds %d users; want %d", len(c.byUser), len(users))
			}
		})
	}
}

func TestCacheBound(t *testing.T) {
	t.Run("full: the oldest goes", func(t *testing.T) {
		clock := newFakeClock()
		c := NewCallerCache(time.Minute, 3, clock.Now)
		for i, d := range []string{"a", "b", "c", "d", "e"} {
			c.Put(d, caller(int64(i)))
			clock.Advance(time.Second)
		}
		if got := cached(c, "a", "b", "c", "d", "e"); fmt.Sprint(got) != "[c d e]" {
			t.Errorf("cached: %v; want [c d e]", got)
		}
		if s := c.Stats(); s.Entries != 3 || s.Evictions != 2 {
			t.Errorf("Stats = %+v; want 3 entries, 2 evictions", s)
		}
		c.DeleteUser(0) // a's user: a is already gone, and nothing breaks
	})
	t.Run("full: expired entries go before live ones", func(t *testing.T) {
		clock := newFakeClock()
		c := NewCallerCache(time.Minute, 3, clock.Now)
		c.Put("a", caller(1))
		c.Put("b", caller(2))
		clock.Advance(30 * time.Second)
		c.Put("c", caller(3))
		clock.Advance(30 * time.Second) // a and b expire now
		c.Put("d", caller(4))
		if s := c.Stats(); s.Entries != 2 || s.Evictions != 0 {
			t.Errorf("Stats = %+v; want 2 entries (c, d), no live entry evicted", s)
		}
		if got := cached(c, "a", "b", "c", "d"); fmt.Sprint(got) != "[c d]" {
			t.Errorf("cached: %v; want [c d]", got)
		}
	})
}

func TestCacheStoresACopy(t *testing.T) {
	c := NewCallerCache(time.Minute, 10, newFakeClock().Now)
	orig := caller(1)
	orig.Permissions = NewPermissionSet("auth.view_user")
	c.Put("d", orig)
	orig.IsSuperuser = true
	orig.Permissions["auth.delete_user"] = struct{}{}
	got, _ := c.Get("d")
	if got.IsSuperuser || got.Permissions.Has("auth.delete_user") || !got.Permissions.Has("auth.view_user") {
		t.Errorf("changing the caller after Put changed the cached one: %+v", got)
	}
}

func TestCacheStats(t *testing.T) {
	clock := newFakeClock()
	c := NewCallerCache(time.Minute, 10, clock.Now)
	c.Get("d")
	c.Put("d", caller(1))
	c.Get("d")
	c.Get("d")
	clock.Advance(time.Minute)
	c.Get("d")
	want := CacheStats{Hits: 2, Misses: 2}
	if got := c.Stats(); got != want {
		t.Errorf("Stats = %+v; want %+v", got, want)
	}
}

func TestCacheDisabled(t *testing.T) {
	tests := []struct {
		name string
		c    *CallerCache
	}{
		{"nil", nil},
		{"zero TTL", NewCallerCache(0, 10, nil)},
		{"zero size", NewCallerCache(time.Minute, 0, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Put("d", caller(1))
			if _, ok := tt.c.Get("d"); ok {
				t.Error("a disabled cache returned an entry")
			}
			tt.c.Delete("d")
			tt.c.DeleteUser(1)
			tt.c.Purge()
			if n := tt.c.Stats().Entries; n != 0 {
				t.Errorf("%d entries", n)
			}
		})
	}
}

// TestCachePutIfSkipsStaleLookups: a lookup that began before a Delete,
// DeleteUser or Purge may carry what was just revoked.
func TestCachePutIfSkipsStaleLookups(t *testing.T) {
	tests := []struct {
		name   string
		remove func(*CallerCache)
		cached bool
	}{
		{"nothing removed meanwhile", func(*CallerCache) {}, true},
		{"Delete meanwhile", func(c *CallerCache) { c.Delete("d") }, false},
		{"DeleteUser meanwhile", func(c *CallerCache) { c.DeleteUser(1) }, false},
		{"Purge meanwhile", func(c *CallerCache) { c.Purge() }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCallerCache(time.Minute, 10, newFakeClock().Now)
			gen := c.generation()
			tt.remove(c)
			c.putIf(gen, "d", caller(1))
			if _, ok := c.Get("d"); ok != tt.cached {
				t.Errorf("cached = %v; want %v", ok, tt.cached)
			}
		})
	}
}

// TestCacheConcurrent is for the race detector: every method at once.
func TestCacheConcurrent(t *testing.T) {
	c := NewCallerCache(time.Minute, 8, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				d := fmt.Sprint(i % 16)
				uid := int64(i % 4)
				switch (g + i) % 5 {
				case 0, 1:
					c.Put(d, caller(uid))
				case 2:
					if got, ok := c.Get(d); ok && got == nil {
						t.Error("Get returned ok with a nil caller")
					}
				case 3:
					c.DeleteUser(uid)
				case 4:
					c.Delete(d)
				}
			}
		})
	}
	wg.Wait()
	if n := c.Stats().Entries; n > 8 {
		t.Errorf("%d entries; bound is 8", n)
	}
}
