package dispatch

import "time"

// Clock is the dispatcher's time: what it compares with mailing dates,
// leases and retry times, and every wait it makes (polls, lease
// extensions, retries of a store write, the shutdown grace). Tests inject
// one they move, so that a lease passes when the test says and not when a
// loaded machine stalls. systemClock is the only code that reads the real
// time.
//
// Deadlines on single calls (a store call, a send, a webhook request)
// stay in real time, as context deadlines: they bound I/O that takes real
// time, the drivers pass them on to the server and the network, and a
// test clock that stands still must not let a hung call hang for good.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed on this clock.
	After(d time.Duration) <-chan time.Time
}

// systemClock is the real time.
type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
