package dispatch

import (
	"context"
	"sync"
	"time"
)

// limiter holds one dispatcher to at most rate sends in any sliding window
// of one second, as a receiver would count them.
//
// It owns rate slots. A send takes a slot and gives it back when the call
// returns; the slot may be taken again one window after that. Whatever
// instant an observer assigns to a send (when it was started, received,
// or answered), it lies inside that send's call, so two sends of one slot
// are at least a window apart and no window holds more than rate sends,
// however the network delays them. The price is a little throughput: a
// slot is idle for the window plus the call.
//
// It also holds every send until a time a receiver asked for (Retry-After).
type limiter struct {
	clock  Clock
	window time.Duration
	rate   int // 0: no limit on the rate, only holds

	mu     sync.Mutex
	ready  []time.Time // when each free slot may be taken again, ascending
	hold   time.Time
	change chan struct{} // closed and replaced when a slot comes back or the hold moves
}

func newLimiter(rate int, window time.Duration, clock Clock) *limiter {
	l := &limiter{clock: clock, window: window, rate: max(rate, 0), change: make(chan struct{})}
	l.ready = make([]time.Time, l.rate) // zero times: ready at once
	return l
}

// acquire waits for a slot, and returns the function that gives it back
// once the send has returned. Errors: ctx's.
func (l *limiter) acquire(ctx context.Context) (release func(), err error) {
	for {
		l.mu.Lock()
		now := l.clock.Now()
		at := l.hold
		free := l.rate == 0 || len(l.ready) > 0
		if l.rate > 0 && len(l.ready) > 0 && l.ready[0].After(at) {
			at = l.ready[0]
		}
		if free && !at.After(now) {
			if l.rate > 0 {
				l.ready = l.ready[1:]
			}
			l.mu.Unlock()
			return l.giveBack, nil
		}
		change := l.change
		l.mu.Unlock()
		var timer <-chan time.Time
		if free {
			timer = l.clock.After(at.Sub(now))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-change:
		case <-timer:
		}
	}
}

func (l *limiter) giveBack() {
	if l.rate == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	at := l.clock.Now().Add(l.window)
	// Keep the list sorted even if the clock was set back.
	i := len(l.ready)
	for i > 0 && l.ready[i-1].After(at) {
		i--
	}
	l.ready = append(l.ready, time.Time{})
	copy(l.ready[i+1:], l.ready[i:])
	l.ready[i] = at
	l.signal()
}

// holdUntil keeps every send from starting before t.
func (l *limiter) holdUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.hold) {
		l.hold = t
		l.signal()
	}
}

func (l *limiter) signal() {
	close(l.change)
	l.change = make(chan struct{})
}
