package dispatch

import (
	"sync"
	"time"
)

// manualClock moves only when the test says so; waiters fire as it passes
// their time.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	since time.Time // when the wait began
	at    time.Time
	ch    chan time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{since: c.now, at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock by d and fires every wait that has passed.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// WaitsFor tells whether a wait of d began at the clock's present time.
// A dispatcher's poll loop waits for the poll interval once it has
// polled, so a wait of that length begun now shows that it has polled at
// this time (provided nothing else waits that long).
func (c *manualClock) WaitsFor(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.since.Equal(c.now) && w.at.Sub(w.since) == d {
			return true
		}
	}
	return false
}
