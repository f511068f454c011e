package dispatch

import "time"

// Clock is the dispatcher's time: what it compares with mailing dates,
// leases and retry times, and how it waits. Tests inject one they move.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed on this clock.
	After(d time.Duration) <-chan time.Time
}

// systemClock is the real time.
type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
