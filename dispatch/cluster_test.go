package dispatch_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/dispatch"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// counting counts the sends one dispatcher makes.
type counting struct {
	dispatch.Sender
	n atomic.Int64
}

func (c *counting) Send(ctx context.Context, m dispatch.Message) error {
	c.n.Add(1)
	return c.Sender.Send(ctx, m)
}

// hardening: two dispatchers on one database → each message claimed
// once. Two gateways (two store handles on one database) share a mailing
// of 2,000 clients; the receiver sees every message exactly once.
func TestTwoDispatchersSendEachMessageOnce(t *testing.T) {
	t.Parallel()
	storetest.NeedsRealMongo(t, "two dispatchers share 2,000 messages, a write or more each")
	a, b := twoStores(t)
	f := fixtureOn(t, a)
	f.clients(2000, "UTC")
	now := time.Now()
	m := f.mailing("Shared", now.Add(-time.Minute), now.Add(time.Hour), nil)
	rcv := newReceiver(t, nil)
	one, two := &counting{Sender: webhook(t, rcv, time.Second)}, &counting{Sender: webhook(t, rcv, time.Second)}
	logs := &logBuffer{}
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	cfgA, cfgB := config(logs), config(logs)
	cfgA.Owner, cfgB.Owner = "dispatcher-a", "dispatcher-b"
	// Exactly once holds while no lease passes. The tests' five-second
	// leases can pass when a loaded machine stalls the store for seconds;
	// then the work is taken over and its in-flight sends go out again
	// (TestKilledDispatcherIsTakenOver bounds those). Leases as long as
	// production's keep this test about sharing, not stalls.
	cfgA.Lease, cfgB.Lease = time.Minute, time.Minute
	start(t, a, one, cfgA)
	start(t, b, two, cfgB)
	f.waitFinished(m.ID, 3*time.Minute)

	calls := rcv.snapshot()
	if len(calls) != 2000 || rcv.deliveredCount() != 2000 || rcv.acceptedTwice() != 0 {
		t.Errorf("%d calls, %d delivered, %d twice; want 2000 calls, each once", len(calls), rcv.deliveredCount(), rcv.acceptedTwice())
	}
	if st := f.stats(m.ID); st.Count(store.MessageSent) != 2000 {
		t.Errorf("stats %v", st.ByStatus)
	}
	if one.n.Load() == 0 || two.n.Load() == 0 {
		t.Errorf("the work was not shared: %d and %d sends", one.n.Load(), two.n.Load())
	}
	t.Logf("sends: %d by one, %d by the other", one.n.Load(), two.n.Load())
}

// hardening: process killed mid-mailing, restarted → no recipient lost;
// duplicates at most the in-flight window, and zero at a receiver that
// honours the idempotency key. The first dispatcher is killed while every
// one of its send slots certainly holds a call (the receiver holds the
// calls after the first 230 unanswered until the kill): its context is
// cancelled with no grace (nothing released, nothing recorded after). A
// second, on another store handle, takes its leases over once they pass.
// Each outcome is recorded before its slot takes another message, so the
// receiver sees at most one repeat per send slot, whatever the kill left
// marked SENDING. Both run on a clock the test moves, so the leases pass
// when the test moves the clock past them, not after a wait in real time
// (the processes in cmd/gatehouse are killed and taken over in real time).
func TestKilledDispatcherIsTakenOver(t *testing.T) {
	t.Parallel()
	storetest.NeedsRealMongo(t, "1,000 messages, so that the kill comes mid-mailing with chunks in progress (TestOutcomeIsRecordedBeforeTheSlotSendsAgain checks the same recording on the stand-in)")
	a, b := twoStores(t)
	f := fixtureOn(t, a)
	f.clients(1000, "UTC")
	clock := dispatch.NewManualClock()
	now := clock.Now()
	m := f.mailing("Survive", now.Add(-time.Minute), now.Add(time.Hour), nil)
	// 230 is no multiple of a chunk's 50 messages: some of the answered
	// sends belong to chunks still in progress at the kill.
	const answered = 230
	var holding atomic.Bool
	holding.Store(true)
	rcv := newReceiver(t, func(c call) answer {
		if c.N >= answered && holding.Load() {
			return answer{Status: 200, Delay: time.Hour} // until the caller gives up
		}
		return answer{Status: 200, Delay: 2 * time.Millisecond}
	})
	logs := &logBuffer{}
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	cfg := clockConfig(clock, logs)
	cfg.Concurrency = 8
	cfg.ShutdownGrace = -1 // a crash: nothing finishes, nothing is released
	// The held calls must still be under way at the kill: the webhook's
	// own limit is the send timeout's, well beyond the moment it takes.
	first := start(t, a, webhook(t, rcv, cfg.SendTimeout+10*time.Second), cfg)
	polled(t, clock, cfg)
	drive(t, clock, cfg, time.Minute, "every send slot holding a call", func() bool { return len(rcv.snapshot()) >= answered+cfg.Concurrency })
	first.halt(t)
	holding.Store(false)
	if calls := len(rcv.snapshot()); calls != answered+cfg.Concurrency {
		t.Fatalf("%d calls at the kill, want %d answered and one per send slot", calls, answered)
	}
	sending := f.stats(m.ID).Count(store.MessageSending)
	// The second starts once the leases the first held, and the clock
	// skew, have passed: whatever it held is free to take over.
	clock.Advance(cfg.Lease + cfg.ClockSkew)

	claims := &claimCount{}
	cfg2 := clockConfig(clock, logs)
	cfg2.Observer = claims
	start(t, b, webhook(t, rcv, time.Second), cfg2)
	drive(t, clock, cfg2, 3*time.Minute, "the mailing finished", func() bool { return f.mailingStatus(m.ID).Final() })

	st := f.stats(m.ID)
	if rcv.deliveredCount() != 1000 || st.Count(store.MessageSent) != 1000 {
		t.Errorf("delivered %d, stats %v: recipients lost", rcv.deliveredCount(), st.ByStatus)
	}
	// A receiver that ignored the key would have seen these twice: the
	// calls in flight at the kill, one per send slot, and no more.
	repeated := 0
	for _, calls := range callsByID(rcv.snapshot()) {
		if len(calls) > 1 {
			repeated++
		}
	}
	if repeated > cfg.Concurrency {
		t.Errorf("%d messages sent twice, more than the %d send slots of the killed dispatcher", repeated, cfg.Concurrency)
	}
	if claims.over.Load() == 0 {
		t.Error("nothing was taken over")
	}
	t.Logf("marked SENDING at the kill: %d; sent twice: %d (%d accepted twice); %d items taken over", sending, repeated, rcv.acceptedTwice(), claims.over.Load())
}

// Each outcome is in the store before its slot takes another message, so
// that a dispatcher that dies leaves at most one unrecorded send per slot.
// With one slot, every send finds the message sent before it SENT.
func TestOutcomeIsRecordedBeforeTheSlotSendsAgain(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clients(30, "UTC")
	now := time.Now()
	m := f.mailing("In order", now.Add(-time.Minute), now.Add(time.Hour), nil)
	cfg := config(nil)
	cfg.Concurrency = 1
	var (
		mu     sync.Mutex
		prev   store.ID
		behind bool // reported once
	)
	sender := dispatch.SenderFunc(func(ctx context.Context, msg dispatch.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if prev != 0 {
			msgs, err := f.s.MessagesByIDs(ctx, []store.ID{prev})
			if (err != nil || len(msgs) != 1 || msgs[0].Status != store.MessageSent) && !behind {
				behind = true
				t.Errorf("message %d sent before the previous one's outcome was recorded: %+v, %v", msg.ID, msgs, err)
			}
		}
		prev = msg.ID
		return nil
	})
	start(t, f.s, sender, cfg)
	f.waitFinished(m.ID, 30*time.Second)
	if st := f.stats(m.ID); st.Count(store.MessageSent) != 30 {
		t.Errorf("stats %v", st.ByStatus)
	}
}

// A restart loses nothing, and SENT messages are never sent again: a
// dispatcher stopped gracefully mid-mailing finishes its sends, records
// them and lets its work go; the next one sends the rest, each once.
func TestRestartLosesNothingAndResendsNothing(t *testing.T) {
	t.Parallel()
	storetest.NeedsRealMongo(t, "1,000 messages sent by two dispatchers in turn")
	f := newFixture(t)
	f.clients(1000, "UTC")
	now := time.Now()
	m := f.mailing("Resume", now.Add(-time.Minute), now.Add(time.Hour), nil)
	rcv := newReceiver(t, func(call) answer { return answer{Status: 200, Delay: 2 * time.Millisecond} })
	first := start(t, f.s, webhook(t, rcv, time.Second), config(nil))
	waitFor(t, time.Minute, "some delivered", func() bool { return rcv.deliveredCount() >= 300 })
	first.halt(t)
	stoppedAt := time.Now()
	st := f.stats(m.ID)
	if st.Count(store.MessageSending) != 0 || st.Count(store.MessageSent) != rcv.deliveredCount() || st.Count(store.MessageSent) == 1000 {
		t.Fatalf("after a graceful stop: stats %v, %d delivered", st.ByStatus, rcv.deliveredCount())
	}

	start(t, f.s, webhook(t, rcv, time.Second), config(nil))
	f.waitFinished(m.ID, 3*time.Minute)
	if rcv.deliveredCount() != 1000 || rcv.acceptedTwice() != 0 || len(rcv.snapshot()) != 1000 {
		t.Errorf("delivered %d, %d calls, %d twice", rcv.deliveredCount(), len(rcv.snapshot()), rcv.acceptedTwice())
	}
	// Released work is taken up at once, not when a lease passes.
	for _, c := range rcv.snapshot() {
		if c.At.After(stoppedAt) {
			if gap := c.At.Sub(stoppedAt); gap >= config(nil).Lease {
				t.Errorf("resumed %s after the stop", gap)
			}
			break
		}
	}
}
