package auth

import (
	"errors"
	"time"
)

// ThrottlePolicy decides how long sign-in is refused after repeated
// attempts. It is only the policy: the store counts attempts (per account,
// and per client IP with a policy of its own) before any password is
// checked, so that every gateway instance sees the same count and a burst
// counts as much as the same attempts one by one; a success forgets the
// account's. A sign-in for a key with n attempts in the last Window, the
// latest at t, is refused until t + BlockFor(n).
//
// The delay is capped rather than permanent so that an attacker guessing an
// account's password slows to a crawl but cannot lock its owner out for
// good.
type ThrottlePolicy struct {
	Limit     int           // failures allowed in Window before any delay
	Window    time.Duration // how far back failures are counted
	BaseDelay time.Duration // delay after the first failure beyond Limit
	MaxDelay  time.Duration // the delay never grows past this
}

// DefaultThrottlePolicy is the per-account policy: 100 failures an hour
// free, then 1s, 2s, 4s... up to 15 minutes per further failure. A per-IP
// policy (say 300 an hour) is the caller's to choose.
func DefaultThrottlePolicy() ThrottlePolicy {
	return ThrottlePolicy{Limit: 100, Window: time.Hour, BaseDelay: time.Second, MaxDelay: 15 * time.Minute}
}

// BlockFor returns how long sign-in stays refused after failures failures
// in the window: 0 up to Limit, then BaseDelay doubled for each failure
// beyond the first one over Limit, never more than MaxDelay. A zero
// BaseDelay or MaxDelay blocks nothing; a negative Limit counts as 0.
func (p ThrottlePolicy) BlockFor(failures int) time.Duration {
	over := failures - max(p.Limit, 0)
	if over <= 0 || p.BaseDelay <= 0 || p.MaxDelay <= 0 {
		return 0
	}
	d := p.BaseDelay
	// At most 63 rounds: d at least doubles each time until it passes
	// MaxDelay, and the halving test keeps it from overflowing.
	for i := 1; i < over && d < p.MaxDelay; i++ {
		if d > p.MaxDelay/2 {
			d = p.MaxDelay
			break
		}
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// Validate reports a policy that would not throttle as configured: meant for
// checking configuration at start-up.
func (p ThrottlePolicy) Validate() error {
	var errs []error
	if p.Limit < 0 {
		errs = append(errs, errors.New("throttle limit must not be negative"))
	}
	if p.Window <= 0 {
		errs = append(errs, errors.New("throttle window must be positive"))
	}
	if p.BaseDelay <= 0 {
		errs = append(errs, errors.New("throttle base delay must be positive"))
	}
	if p.MaxDelay < p.BaseDelay {
		errs = append(errs, errors.New("throttle max delay must not be less than the base delay"))
	}
	return errors.Join(errs...)
}
