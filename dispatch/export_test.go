package dispatch

// The clock that moves only when told, for the tests of package
// dispatch_test that drive a dispatcher through time.

// ManualClock is a Clock a test moves by hand.
type ManualClock = manualClock

// NewManualClock returns a manual clock set to a fixed date.
var NewManualClock = newManualClock
