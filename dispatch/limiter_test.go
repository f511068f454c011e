package dispatch

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// span is one send as the limiter let it happen: from the grant to the
// return of the call.
type span struct{ from, to time.Time }

// No sliding second holds more than R sends, whichever instant of a send
// an observer counts (its start or its end), with sends that take time and
// more senders than slots.
func TestLimiterSlidingWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rate, senders, sends int
		call                 time.Duration
	}{
		{rate: 5, senders: 8, sends: 40, call: 30 * time.Millisecond},
		{rate: 3, senders: 2, sends: 20, call: 0},
		{rate: 10, senders: 16, sends: 60, call: 400 * time.Millisecond},
	} {
		clock := newManualClock()
		l := newLimiter(tc.rate, time.Second, clock)
		var (
			mu    sync.Mutex
			spans []span
			wg    sync.WaitGroup
		)
		work := make(chan int, tc.sends)
		for i := range tc.sends {
			work <- i
		}
		close(work)
		for range tc.senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					release, err := l.acquire(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					from := clock.Now()
					<-clock.After(tc.call)
					to := clock.Now()
					release()
					mu.Lock()
					spans = append(spans, span{from, to})
					mu.Unlock()
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		deadline := time.After(20 * time.Second)
	drive:
		for {
			select {
			case <-done:
				break drive
			case <-deadline:
				t.Fatalf("rate %d: sends did not finish", tc.rate)
			default:
				clock.Advance(10 * time.Millisecond)
				time.Sleep(200 * time.Microsecond) // let the senders run
			}
		}
		if len(spans) != tc.sends {
			t.Fatalf("rate %d: %d sends", tc.rate, len(spans))
		}
		for _, edge := range []func(span) time.Time{func(s span) time.Time { return s.from }, func(s span) time.Time { return s.to }} {
			times := make([]time.Time, len(spans))
			for i, s := range spans {
				times[i] = edge(s)
			}
			if most := mostInWindow(times, time.Second); most > tc.rate {
				t.Errorf("rate %d: %d sends in one second", tc.rate, most)
			}
		}
	}
}

// A slot is free at once, and again exactly one window after its send
// returned: the limiter is no slower than the rule it keeps.
func TestLimiterReusesASlotAfterOneWindow(t *testing.T) {
	clock := newManualClock()
	l := newLimiter(3, time.Second, clock)
	blocked := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		release, err := l.acquire(ctx)
		if err == nil {
			release()
		}
		return err != nil
	}
	var releases []func()
	for range 3 {
		release, err := l.acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	if !blocked() {
		t.Fatal("a fourth send in the same second")
	}
	clock.Advance(300 * time.Millisecond)
	releases[0]() // returned at +300ms: its slot is free again at +1.3s
	clock.Advance(999 * time.Millisecond)
	if !blocked() {
		t.Error("the slot came back before a window had passed since its send returned")
	}
	clock.Advance(time.Millisecond)
	if blocked() {
		t.Error("the slot did not come back one window after its send returned")
	}
}

func mostInWindow(times []time.Time, w time.Duration) int {
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	most, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= w {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

// A Retry-After holds every send, with or without a rate.
func TestLimiterHold(t *testing.T) {
	for _, rate := range []int{0, 100} {
		clock := newManualClock()
		l := newLimiter(rate, time.Second, clock)
		l.holdUntil(clock.Now().Add(2 * time.Second))
		l.holdUntil(clock.Now().Add(time.Second)) // an earlier hold does not shorten it
		got := make(chan time.Time, 1)
		go func() {
			release, err := l.acquire(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- clock.Now()
			release()
		}()
		var at time.Time
	wait:
		for range 1000 {
			select {
			case at = <-got:
				break wait
			default:
				clock.Advance(50 * time.Millisecond)
				time.Sleep(200 * time.Microsecond)
			}
		}
		if at.IsZero() || at.Before(newManualClock().Now().Add(2*time.Second)) {
			t.Errorf("rate %d: sent at %v, before the hold ended", rate, at)
		}
	}
	// A wait ends with its context.
	l := newLimiter(1, time.Second, newManualClock())
	release, _ := l.acquire(context.Background())
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.acquire(ctx); err == nil {
		t.Error("a second slot in the same second")
	}
}

func TestRetryPolicyDelay(t *testing.T) {
	p := RetryPolicy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: 10, Jitter: 0.2}
	middle := func() float64 { return 0.5 }
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 40: 30 * time.Second} {
		if got := p.Delay(attempt, middle); got != want {
			t.Errorf("attempt %d: %s, want %s", attempt, got, want)
		}
	}
	if lo := p.Delay(3, func() float64 { return 0 }); lo != 3200*time.Millisecond {
		t.Errorf("least jitter: %s", lo)
	}
	if hi := p.Delay(3, func() float64 { return 0.999999 }); hi < 4790*time.Millisecond || hi > 4800*time.Millisecond {
		t.Errorf("most jitter: %s", hi)
	}
	if capped := p.Delay(6, func() float64 { return 0.99 }); capped != 30*time.Second {
		t.Errorf("jitter past the cap: %s", capped)
	}
	if err := (RetryPolicy{Base: time.Minute, Max: time.Second}).validate(); err == nil {
		t.Error("base above the cap accepted")
	}
}

func TestNextOpen(t *testing.T) {
	msk, _ := time.LoadLocation("Europe/Moscow") // UTC+3
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := &store.Window{From: "09:00", To: "21:00"}
	night := &store.Window{From: "22:00", To: "06:00"}
	early := &store.Window{From: "02:30", To: "05:00"}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	for _, tc := range []struct {
		w        *store.Window
		now      string
		loc      *time.Location
		wantOpen string
	}{
		{day, "2026-01-10T07:00:00Z", msk, "2026-01-10T07:00:00Z"}, // 10:00 local: open
		{day, "2026-01-10T19:30:00Z", msk, "2026-01-11T06:00:00Z"}, // 22:30 local: tomorrow 09:00
		{day, "2026-01-10T03:00:00Z", msk, "2026-01-10T06:00:00Z"}, // 06:00 local: today 09:00
		{night, "2026-01-10T12:00:00Z", msk, "2026-01-10T19:00:00Z"},
		{night, "2026-01-10T23:00:00Z", msk, "2026-01-10T23:00:00Z"}, // 02:00 local: open
		{nil, "2026-01-10T12:00:00Z", msk, "2026-01-10T12:00:00Z"},
		// 02:30 does not exist in Berlin on 2026-03-29 (clocks jump 02:00 to 03:00).
		{early, "2026-03-28T23:00:00Z", berlin, "2026-03-29T01:30:00Z"},
	} {
		got := nextOpen(tc.w, at(tc.now), tc.loc)
		if !got.Equal(at(tc.wantOpen)) {
			t.Errorf("%v at %s: opens %s, want %s", tc.w, tc.now, got.UTC().Format(time.RFC3339), tc.wantOpen)
		}
		if tc.w != nil && !tc.w.Contains(got, tc.loc) {
			t.Errorf("%v: %s is not in the window", tc.w, got)
		}
	}
}
