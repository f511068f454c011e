package dispatch

import (
	"fmt"
	"math"
	"time"
)

// RetryPolicy spaces the attempts of a message that failed for a reason
// that may pass: exponential backoff, capped, with jitter so that a
// receiver that failed many messages at once is not hit by all of them
// again at once. Retries also stop at the mailing's end.
type RetryPolicy struct {
	// Base is the wait after the first failure. Default 2s.
	Base time.Duration
	// Max caps every wait. Default 10m.
	Max time.Duration
	// MaxAttempts is how many sends a message gets before it is FAILED.
	// Default 8.
	MaxAttempts int
	// Jitter spreads each wait by up to this share either way. Default 0.2.
	Jitter float64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Base <= 0 {
		p.Base = 2 * time.Second
	}
	if p.Max <= 0 {
		p.Max = 10 * time.Minute
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 8
	}
	if p.Jitter <= 0 {
		p.Jitter = 0.2
	}
	return p
}

func (p RetryPolicy) validate() error {
	if p.Base > p.Max {
		return fmt.Errorf("retry base %s is longer than its cap %s", p.Base, p.Max)
	}
	if p.Jitter >= 1 {
		return fmt.Errorf("retry jitter must be below 1, not %g", p.Jitter)
	}
	return nil
}

// Delay is the wait after the attempts-th failed attempt (1 for the first).
// random returns a number in [0, 1).
func (p RetryPolicy) Delay(attempts int, random func() float64) time.Duration {
	d := float64(p.Base) * math.Pow(2, float64(max(attempts, 1)-1))
	d = min(d, float64(p.Max))
	d *= 1 - p.Jitter + 2*p.Jitter*random()
	return min(time.Duration(d), p.Max)
}
