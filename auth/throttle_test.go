package auth

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestBlockFor(t *testing.T) {
	def := DefaultThrottlePolicy()
	tests := []struct {
		name     string
		policy   ThrottlePolicy
		failures int
		want     time.Duration
	}{
		{"no failures", def, 0, 0},
		{"negative count", def, -5, 0},
		{"at the limit", def, 100, 0},
		{"first over the limit", def, 101, time.Second},
		{"second over", def, 102, 2 * time.Second},
		{"third over", def, 103, 4 * time.Second},
		{"tenth over", def, 110, 512 * time.Second},
		{"eleventh over: capped at 15 minutes", def, 111, 15 * time.Minute},
		{"far over: still 15 minutes, never a lockout", def, 100_000, 15 * time.Minute},
		{"huge count does not overflow", def, math.MaxInt, 15 * time.Minute},
		{"zero limit delays the first failure", ThrottlePolicy{Limit: 0, BaseDelay: time.Second, MaxDelay: time.Minute}, 1, time.Second},
		{"negative limit counts as zero", ThrottlePolicy{Limit: -3, BaseDelay: time.Second, MaxDelay: time.Minute}, 1, time.Second},
		{"base above max is capped", ThrottlePolicy{Limit: 1, BaseDelay: time.Hour, MaxDelay: time.Minute}, 2, time.Minute},
		{"odd base doubles exactly", ThrottlePolicy{Limit: 1, BaseDelay: 300 * time.Millisecond, MaxDelay: time.Hour}, 4, 1200 * time.Millisecond},
		{"max near the largest Duration", ThrottlePolicy{BaseDelay: time.Nanosecond, MaxDelay: math.MaxInt64}, 200, math.MaxInt64},
		{"max near the largest Duration still doubles from the base", ThrottlePolicy{BaseDelay: time.Second, MaxDelay: math.MaxInt64}, 2, 2 * time.Second},
		{"zero base delay blocks nothing, at once", ThrottlePolicy{Limit: 1, MaxDelay: time.Minute}, math.MaxInt, 0},
		{"zero policy blocks nothing", ThrottlePolicy{}, 1_000_000, 0},
		{"zero max delay blocks nothing", ThrottlePolicy{Limit: 1, BaseDelay: time.Second}, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.BlockFor(tt.failures); got != tt.want {
				t.Errorf("BlockFor(%d) = %v; want %v", tt.failures, got, tt.want)
			}
		})
	}
}

func TestDefaultThrottlePolicy(t *testing.T) {
	want := ThrottlePolicy{Limit: 100, Window: time.Hour, BaseDelay: time.Second, MaxDelay: 15 * time.Minute}
	if got := DefaultThrottlePolicy(); got != want {
		t.Errorf("DefaultThrottlePolicy() = %+v; want %+v", got, want)
	}
	if err := want.Validate(); err != nil {
		t.Errorf("the default policy does not validate: %v", err)
	}
}

func TestThrottleValidate(t *testing.T) {
	ok := DefaultThrottlePolicy()
	tests := []struct {
		name   string
		change func(*ThrottlePolicy)
		errHas string // "" for valid
	}{
		{"default", func(*ThrottlePolicy) {}, ""},
		{"limit zero is allowed", func(p *ThrottlePolicy) { p.Limit = 0 }, ""},
		{"negative limit", func(p *ThrottlePolicy) { p.Limit = -1 }, "limit"},
		{"no window", func(p *ThrottlePolicy) { p.Window = 0 }, "window"},
		{"no base delay", func(p *ThrottlePolicy) { p.BaseDelay = 0 }, "base delay"},
		{"max below base", func(p *ThrottlePolicy) { p.MaxDelay = time.Millisecond }, "max delay"},
		{"max equal to base: a fixed delay", func(p *ThrottlePolicy) { p.MaxDelay = p.BaseDelay }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.change(&p)
			err := p.Validate()
			switch {
			case tt.errHas == "" && err != nil:
				t.Errorf("Validate = %v; want nil", err)
			case tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)):
				t.Errorf("Validate = %v; want an error about %s", err, tt.errHas)
			}
		})
	}
}
