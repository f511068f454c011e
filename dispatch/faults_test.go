package dispatch_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/dispatch"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// The faults a dispatcher must survive (a receiver that fails, hangs, asks
// to wait or commits and drops the answer; a sender that panics), a test
// each; crashes and two dispatchers are in cluster_test.go.

// callsByID groups the receiver's calls by message id, in arrival order.
func callsByID(calls []call) map[int64][]call {
	out := map[int64][]call{}
	for _, c := range calls {
		out[c.ID] = append(out[c.ID], c)
	}
	return out
}

// hardening: receiver answers 500, 502, 503, timeout → retried with
// exponential backoff and jitter, attempts capped, then FAILED with the
// reason. The backoff is on the test's clock, measured where each send
// starts; the timeout is a call the receiver holds until the sender gives
// up.
func TestTransientFailuresBackOffThenFail(t *testing.T) {
	t.Parallel()
	clock := dispatch.NewManualClock()
	f := fixtureOn(t, storetest.Open(t, store.Options{Now: clock.Now}))
	f.clients(3, "UTC")
	now := clock.Now()
	m := f.mailing("Try hard", now.Add(-time.Minute), now.Add(time.Hour), nil)
	rcv := newReceiver(t, func(c call) answer {
		switch c.Try {
		case 1:
			return answer{Status: 500}
		case 2:
			return answer{Status: 502}
		case 3:
			return answer{Status: 503}
		case 4:
			return answer{Status: 200, Delay: time.Hour} // never answers in time
		}
		return answer{Status: 500}
	})
	cfg := clockConfig(clock, nil)
	cfg.SendTimeout = 2 * time.Second
	cfg.Retry = dispatch.RetryPolicy{Base: 5 * time.Second, Max: time.Minute, MaxAttempts: 5, Jitter: 0.2}
	cfg.Random = func() float64 { return 0 } // the shortest jitter: waits are 0.8 of the backoff
	cfg.PauseAfter = 1000
	sender := &stamped{Sender: webhook(t, rcv, cfg.SendTimeout), clock: clock}
	start(t, f.s, sender, cfg)
	polled(t, clock, cfg)
	drive(t, clock, cfg, time.Minute, "the mailing finished", func() bool { return f.mailingStatus(m.ID).Final() })

	byID := map[store.ID][]time.Time{}
	for _, s := range sender.sends() {
		byID[s.id] = append(byID[s.id], s.at)
	}
	for id, starts := range byID {
		if len(starts) != 5 {
			t.Errorf("message %d: %d sends, want 5 (capped)", id, len(starts))
			continue
		}
		for k := 1; k < len(starts); k++ {
			least := time.Duration(float64(cfg.Retry.Base<<(k-1)) * 0.8)
			if gap := starts[k].Sub(starts[k-1]); gap < least {
				t.Errorf("message %d: attempt %d started %s after the one before, want at least %s", id, k+1, gap, least)
			}
		}
	}
	for _, msg := range f.messages(m.ID) {
		if msg.Status != store.MessageFailed || msg.Attempts != 5 ||
			!containsAll(msg.LastError, "Gave up after 5 attempts", "webhook answered 500 Internal Server Error") {
			t.Errorf("message %+v", msg)
		}
	}
	if rcv.deliveredCount() != 0 {
		t.Errorf("a timed-out call was committed")
	}
}

// hardening: receiver answers 429 with Retry-After → waits at least that
// long; the global rate holds.
func TestRetryAfterHoldsEverySend(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clients(12, "UTC")
	now := time.Now()
	m := f.mailing("Slow down", now.Add(-time.Minute), now.Add(time.Hour), nil)
	rcv := newReceiver(t, func(c call) answer {
		if c.N == 2 {
			return answer{Status: http.StatusTooManyRequests, RetryAfter: "1"}
		}
		return ok()
	})
	cfg := config(nil)
	cfg.Concurrency, cfg.Rate = 1, 5
	start(t, f.s, webhook(t, rcv, time.Second), cfg)
	f.waitFinished(m.ID, 30*time.Second)

	calls := rcv.snapshot()
	if len(calls) != 13 || rcv.deliveredCount() != 12 {
		t.Fatalf("%d calls, %d delivered", len(calls), rcv.deliveredCount())
	}
	held := calls[2]
	for _, c := range calls[3:] {
		if c.At.Sub(held.At) < time.Second {
			t.Errorf("call %d came %s after the 429, before its Retry-After", c.N, c.At.Sub(held.At))
		}
	}
	if retried := callsByID(calls)[held.ID]; len(retried) != 2 || retried[1].At.Sub(held.At) < time.Second {
		t.Errorf("the refused message: %+v", retried)
	}
	if most := maxInWindow(calls, time.Second); most > 5 {
		t.Errorf("%d calls in one second, the rate is 5", most)
	}
}

// hardening: receiver answers 400 or 422 → not retried; FAILED with the
// reason.
func TestPermanentFailuresAreNotRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clients(9, "UTC")
	now := time.Now()
	m := f.mailing("Refused", now.Add(-time.Minute), now.Add(time.Hour), nil)
	status := func(id int64) int {
		switch id % 3 {
		case 0:
			return http.StatusBadRequest
		case 1:
			return http.StatusUnprocessableEntity
		}
		return http.StatusOK
	}
	rcv := newReceiver(t, func(c call) answer { return answer{Status: status(c.ID)} })
	start(t, f.s, webhook(t, rcv, time.Second), config(nil))
	f.waitFinished(m.ID, 20*time.Second)

	for id, calls := range callsByID(rcv.snapshot()) {
		if len(calls) != 1 {
			t.Errorf("message %d called %d times", id, len(calls))
		}
	}
	for _, msg := range f.messages(m.ID) {
		want := map[int]string{400: "webhook answered 400 Bad Request", 422: "webhook answered 422 Unprocessable Entity"}[status(int64(msg.ID))]
		switch {
		case want == "" && msg.Status != store.MessageSent:
			t.Errorf("message %+v", msg)
		case want != "" && (msg.Status != store.MessageFailed || msg.Attempts != 1 || !containsAll(msg.LastError, want, `{"status":`)):
			t.Errorf("message %+v, want FAILED with %q", msg, want)
		}
	}
}

// hardening: receiver commits, then the connection drops → the retry
// carries the same idempotency key.
func TestCommitThenDropRetriesWithTheSameKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clients(5, "UTC")
	now := time.Now()
	m := f.mailing("Once", now.Add(-time.Minute), now.Add(time.Hour), nil)
	rcv := newReceiver(t, func(c call) answer {
		if c.Try == 1 {
			return answer{Drop: true}
		}
		return ok()
	})
	start(t, f.s, webhook(t, rcv, time.Second), config(nil))
	f.waitFinished(m.ID, 20*time.Second)

	byID := callsByID(rcv.snapshot())
	if len(byID) != 5 || rcv.deliveredCount() != 5 {
		t.Fatalf("%d ids, %d delivered", len(byID), rcv.deliveredCount())
	}
	for id, calls := range byID {
		if len(calls) != 2 || calls[0].Key != calls[1].Key || calls[1].Key != calls[1].Key || !calls[1].Dup {
			t.Errorf("message %d: %+v", id, calls)
		}
	}
	for _, msg := range f.messages(m.ID) {
		if msg.Status != store.MessageSent || msg.Attempts != 2 {
			t.Errorf("message %+v", msg)
		}
	}
}

// hardening: many failures in a row → the mailing pauses itself, with a
// reason an operator can see; once the cause is fixed, resuming finishes
// it.
func TestManyFailuresPauseTheMailing(t *testing.T) {
	t.Parallel()
	clock := dispatch.NewManualClock()
	f := fixtureOn(t, storetest.Open(t, store.Options{Now: clock.Now}))
	f.clients(40, "UTC")
	now := clock.Now()
	m := f.mailing("Down", now.Add(-time.Minute), now.Add(time.Hour), nil)
	var healthy atomic.Bool
	rcv := newReceiver(t, func(call) answer {
		if healthy.Load() {
			return ok()
		}
		return answer{Status: http.StatusServiceUnavailable}
	})
	cfg := clockConfig(clock, nil)
	cfg.Concurrency, cfg.PauseAfter = 2, 5
	start(t, f.s, webhook(t, rcv, 10*time.Second), cfg)
	polled(t, clock, cfg)

	drive(t, clock, cfg, time.Minute, "the mailing paused", func() bool { return f.mailingStatus(m.ID) == store.MailingPaused })
	paused, _ := f.s.MailingByID(context.Background(), m.ID)
	if !containsAll(paused.StatusReason, "after 5 failed sends in a row", "webhook answered 503", "resume") {
		t.Errorf("reason %q", paused.StatusReason)
	}
	calls := quiet(t, clock, cfg, f, m.ID, rcv)
	if calls > cfg.PauseAfter+cfg.Concurrency {
		t.Errorf("%d calls at the pause; at most %d expected", calls, cfg.PauseAfter+cfg.Concurrency)
	}

	healthy.Store(true)
	if _, err := f.s.MoveMailing(context.Background(), m.ID, store.MoveResume, ""); err != nil {
		t.Fatal(err)
	}
	drive(t, clock, cfg, time.Minute, "the mailing finished", func() bool { return f.mailingStatus(m.ID).Final() })
	if rcv.deliveredCount() != 40 || f.stats(m.ID).Count(store.MessageSent) != 40 {
		t.Errorf("after resuming: delivered %d", rcv.deliveredCount())
	}
}

// quiet checks that a paused mailing stays quiet: once the dispatcher has
// polled with the mailing paused (no send starts after that) and its sends
// in flight are recorded, ten more polls make no call. It returns the calls
// made until the pause took hold.
func quiet(t *testing.T, clock *dispatch.ManualClock, cfg dispatch.Config, f *fixture, id store.ID, rcv *receiver) int {
	t.Helper()
	nextPoll(t, clock, cfg)
	waitFor(t, 20*time.Second, "sends stopped", func() bool { return f.stats(id).Count(store.MessageSending) == 0 })
	calls := len(rcv.snapshot())
	for range 10 {
		nextPoll(t, clock, cfg)
	}
	if later := len(rcv.snapshot()); later != calls {
		t.Errorf("calls while paused: %d when the pause took hold, %d ten polls later", calls, later)
	}
	return calls
}

// hardening: pause, then resume → nobody sent twice.
func TestPauseThenResumeSendsNobodyTwice(t *testing.T) {
	t.Parallel()
	storetest.NeedsRealMongo(t, "300 messages, paused and resumed mid-mailing")
	clock := dispatch.NewManualClock()
	f := fixtureOn(t, storetest.Open(t, store.Options{Now: clock.Now}))
	f.clients(300, "UTC")
	now := clock.Now()
	m := f.mailing("Pause me", now.Add(-time.Minute), now.Add(time.Hour), nil)
	rcv := newReceiver(t, func(call) answer { return answer{Status: 200, Delay: 5 * time.Millisecond} })
	cfg := clockConfig(clock, nil)
	cfg.Concurrency = 4
	start(t, f.s, webhook(t, rcv, 10*time.Second), cfg)
	polled(t, clock, cfg)
	ctx := context.Background()

	drive(t, clock, cfg, time.Minute, "some deliveries", func() bool { return rcv.deliveredCount() >= 50 })
	if _, err := f.s.MoveMailing(ctx, m.ID, store.MovePause, "operator"); err != nil {
		t.Fatal(err)
	}
	if calls := quiet(t, clock, cfg, f, m.ID, rcv); calls == 300 {
		t.Fatal("every message was sent before the pause")
	}
	if _, err := f.s.MoveMailing(ctx, m.ID, store.MoveResume, ""); err != nil {
		t.Fatal(err)
	}
	drive(t, clock, cfg, time.Minute, "the mailing finished", func() bool { return f.mailingStatus(m.ID).Final() })
	all := rcv.snapshot()
	if len(all) != 300 || rcv.deliveredCount() != 300 || rcv.acceptedTwice() != 0 {
		t.Errorf("%d calls for 300 clients, %d delivered, %d twice", len(all), rcv.deliveredCount(), rcv.acceptedTwice())
	}
}

// hardening: rate limit R per second → no sliding second holds more than
// R sends (as the receiver counts them).
func TestRateLimitHoldsInEverySlidingSecond(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clients(35, "UTC")
	now := time.Now()
	m := f.mailing("Steady", now.Add(-time.Minute), now.Add(time.Hour), nil)
	rcv := newReceiver(t, nil)
	cfg := config(nil)
	cfg.Rate = 10
	start(t, f.s, webhook(t, rcv, time.Second), cfg)
	f.waitFinished(m.ID, 30*time.Second)
	calls := rcv.snapshot()
	if len(calls) != 35 {
		t.Fatalf("%d calls", len(calls))
	}
	if most := maxInWindow(calls, time.Second); most > 10 {
		t.Errorf("%d calls in the busiest second; the rate is 10", most)
	}
	if span := calls[len(calls)-1].At.Sub(calls[0].At); span < 3*time.Second {
		t.Errorf("35 calls at 10 a second took only %s", span)
	}
}

// The flaky receiver: it fails a share of the calls and is slow at times
// (slower than the timeout: those calls do not commit). Every client gets
// exactly one delivery, each attempt is recorded, and the statistics match
// the receiver's own count. The retries wait on the test's clock; the
// calls take real time, under a timeout that an answer given at once
// meets however loaded the machine.
func TestFlakyWebhookDeliversExactlyOnce(t *testing.T) {
	t.Parallel()
	storetest.NeedsRealMongo(t, "300 messages retried up to five times each")
	clock := dispatch.NewManualClock()
	f := fixtureOn(t, storetest.Open(t, store.Options{Now: clock.Now}))
	f.clients(300, "UTC")
	now := clock.Now()
	m := f.mailing("Flaky", now.Add(-time.Minute), now.Add(time.Hour), nil)
	rcv := newReceiver(t, func(c call) answer {
		switch (c.ID*7 + int64(c.Try)) % 10 { // deterministic: never more than four failures in a row per message
		case 0, 1, 2:
			return answer{Status: http.StatusServiceUnavailable}
		case 3:
			if c.ID%30 == 0 {
				return answer{Status: 200, Delay: time.Hour} // too slow: held until the sender gives up
			}
			return answer{Status: http.StatusBadGateway}
		case 4:
			return answer{Status: 200, Delay: 50 * time.Millisecond}
		}
		return ok()
	})
	cfg := clockConfig(clock, nil)
	cfg.SendTimeout = 2 * time.Second
	cfg.Retry.MaxAttempts, cfg.PauseAfter = 10, 1000
	start(t, f.s, webhook(t, rcv, cfg.SendTimeout), cfg)
	polled(t, clock, cfg)
	drive(t, clock, cfg, 2*time.Minute, "the mailing finished", func() bool { return f.mailingStatus(m.ID).Final() })

	st := f.stats(m.ID)
	if rcv.deliveredCount() != 300 || st.Count(store.MessageSent) != rcv.deliveredCount() || st.Total != 300 {
		t.Errorf("delivered %d; stats %v", rcv.deliveredCount(), st.ByStatus)
	}
	byID := callsByID(rcv.snapshot())
	// A message reaches the receiver again only after an answer that came
	// too late (the receiver committed, the sender had given up): the
	// retry carries the same key, and the receiver delivers it once.
	for _, calls := range byID {
		for i, c := range calls {
			if c.Dup && (calls[i-1].ID*7+int64(calls[i-1].Try))%10 != 4 {
				t.Errorf("message %d sent again after a call that was answered in time: %+v", c.ID, calls)
			}
		}
	}
	retried, timedOut := 0, 0
	for _, msg := range f.messages(m.ID) {
		if n := len(byID[int64(msg.ID)]); msg.Attempts != n {
			t.Errorf("message %d: %d attempts recorded, %d calls", msg.ID, msg.Attempts, n)
		}
		if msg.Attempts > 1 {
			retried++
		}
		if msg.ID%30 == 0 && msg.Attempts > 3 {
			timedOut++
		}
	}
	if retried == 0 || timedOut == 0 {
		t.Errorf("%d messages retried, %d after a timeout: the receiver did not fail", retried, timedOut)
	}
}

// Retries stop at the mailing's end: the messages that never got through
// are FAILED with the reason, and no send starts after the end. The end
// and the retries are on the test's clock: how many attempts fit before
// the end does not depend on the machine's load.
func TestRetriesStopAtMailingEnd(t *testing.T) {
	t.Parallel()
	clock := dispatch.NewManualClock()
	f := fixtureOn(t, storetest.Open(t, store.Options{Now: clock.Now}))
	f.clients(20, "UTC")
	now := clock.Now()
	end := now.Add(90 * time.Second)
	m := f.mailing("Until the end", now.Add(-time.Minute), end, nil)
	rcv := newReceiver(t, func(call) answer { return answer{Status: http.StatusBadGateway} })
	cfg := clockConfig(clock, nil)
	cfg.Retry = dispatch.RetryPolicy{Base: 5 * time.Second, Max: 20 * time.Second, MaxAttempts: 100}
	cfg.PauseAfter = 10000
	sender := &stamped{Sender: webhook(t, rcv, 10*time.Second), clock: clock}
	start(t, f.s, sender, cfg)
	polled(t, clock, cfg)
	drive(t, clock, cfg, time.Minute, "the mailing finished", func() bool { return f.mailingStatus(m.ID).Final() })

	// Measured where the send starts, on the dispatcher's clock: it checks
	// the end just before.
	for _, s := range sender.sends() {
		if !s.at.Before(end) {
			t.Errorf("a send started at %s, not before the end %s", s.at.Format(time.TimeOnly), end.Format(time.TimeOnly))
		}
	}
	most := 0
	for _, msg := range f.messages(m.ID) {
		most = max(most, msg.Attempts)
		if msg.Status != store.MessageFailed || msg.Attempts < 1 || !strings.HasPrefix(msg.LastError, "Retries stopped at the mailing's end after") {
			t.Errorf("message %+v", msg)
		}
	}
	// Backoff of about 5s, 10s, 20s, 20s...: five attempts or more fit in
	// ninety seconds.
	if most < 4 {
		t.Errorf("at most %d attempts of a message before the end", most)
	}
}

// stamped notes which message each send carries and when, on its clock,
// it starts.
type stamped struct {
	dispatch.Sender
	clock dispatch.Clock
	mu    sync.Mutex
	log   []stamp
}

type stamp struct {
	id store.ID
	at time.Time
}

func (s *stamped) Send(ctx context.Context, m dispatch.Message) error {
	s.mu.Lock()
	s.log = append(s.log, stamp{id: m.ID, at: s.clock.Now()})
	s.mu.Unlock()
	return s.Sender.Send(ctx, m)
}

func (s *stamped) sends() []stamp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stamp(nil), s.log...)
}
