package dispatch

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Config tunes a Dispatcher. The zero value of every field means its
// default.
type Config struct {
	// Owner names this dispatcher in its claims. Default: host, pid and a
	// random suffix.
	Owner string
	// Concurrency is how many sends may be in flight at once. Default 8.
	Concurrency int
	// Rate is the most sends in any sliding second; 0 means no limit.
	Rate int
	// Retry spaces the attempts of a message that failed for a passing
	// reason.
	Retry RetryPolicy
	// PauseAfter is how many sends of one mailing may fail in a row before
	// the dispatcher pauses the mailing. Default 50.
	PauseAfter int

	// Lease is how long a claim holds work without being extended; a dead
	// dispatcher's work is taken over once it has passed. Default 1m.
	Lease time.Duration
	// ClockSkew is how far apart the dispatchers' clocks may be: a lease is
	// taken over only this long after it has passed. Default 2s.
	ClockSkew time.Duration
	// SendTimeout bounds one Send. Default 10s.
	SendTimeout time.Duration
	// PollInterval is how often the store is asked for due work and due
	// mailings when nothing else wakes the dispatcher. Default 1s.
	PollInterval time.Duration
	// ProgressInterval is how often a mailing's lead looks at its progress
	// (log lines, the end, finishing). Default 2s.
	ProgressInterval time.Duration
	// RescanInterval is how often a running mailing looks for recipients
	// that appeared since it started. Default 1m.
	RescanInterval time.Duration
	// StoreTimeout bounds each store call of the dispatcher: the embedded
	// store can stop answering for good, and a dispatcher must give up on
	// a call rather than hang. Default 30s.
	StoreTimeout time.Duration
	// ShutdownGrace is how long in-flight sends have to finish and be
	// recorded once Run's context is done; what is not done by then stays
	// leased and is taken over when the lease passes. Default 10s; a
	// negative value abandons everything at once, as a crash would.
	ShutdownGrace time.Duration

	// Clock is the time; default the system's.
	Clock Clock
	// Logger receives the dispatcher's lines. Default slog.Default().
	Logger *slog.Logger
	// Random returns numbers in [0, 1) for retry jitter. Default a
	// generator of the dispatcher's own.
	Random func() float64
	// Observer hears sends and claims, for metrics. Default: nobody.
	Observer Observer
}

func (c Config) withDefaults() Config {
	if c.Owner == "" {
		c.Owner = defaultOwner()
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.PauseAfter <= 0 {
		c.PauseAfter = 50
	}
	c.Retry = c.Retry.withDefaults()
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Lease, time.Minute)
	def(&c.ClockSkew, 2*time.Second)
	def(&c.SendTimeout, 10*time.Second)
	def(&c.PollInterval, time.Second)
	def(&c.ProgressInterval, 2*time.Second)
	def(&c.RescanInterval, time.Minute)
	def(&c.StoreTimeout, 30*time.Second)
	def(&c.ShutdownGrace, 10*time.Second)
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Observer == nil {
		c.Observer = noObserver{}
	}
	return c
}

// Validate refuses settings, defaults filled in, that would break the
// lease guarantee: a send starts only while the lease has
// SendTimeout+ClockSkew left, and the lease is extended every third of its
// length.
func (c Config) Validate() error {
	return c.withDefaults().validate()
}

func (c Config) validate() error {
	var errs []error
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("the send rate must not be negative, not %d", c.Rate))
	}
	if c.Lease*2/3 <= c.SendTimeout+c.ClockSkew {
		errs = append(errs, fmt.Errorf("the lease (%s) must exceed 1.5 times the send timeout plus the clock skew (%s + %s)", c.Lease, c.SendTimeout, c.ClockSkew))
	}
	for name, d := range map[string]time.Duration{"clock skew": c.ClockSkew, "send timeout": c.SendTimeout, "poll interval": c.PollInterval,
		"progress interval": c.ProgressInterval, "rescan interval": c.RescanInterval, "store timeout": c.StoreTimeout} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("the %s must be positive, not %s", name, d))
		}
	}
	if err := c.Retry.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func defaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
