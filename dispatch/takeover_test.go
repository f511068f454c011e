package dispatch_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/dispatch"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// Takeover on a clock the test moves: a dead dispatcher's leases are
// written into the store as it would have left them, and time passes only
// when the test says. A lease passes at the instant the test chooses, and
// never because a loaded machine stalled.

// clockConfig is a dispatcher on clock, with production's lease, skew and
// intervals. No wait but the poll lasts PollInterval (WaitsFor tells the
// polls apart by that length).
func clockConfig(clock *dispatch.ManualClock, logs *logBuffer) dispatch.Config {
	return dispatch.Config{
		Clock:            clock,
		Logger:           logs.logger(),
		Lease:            time.Minute,
		ClockSkew:        2 * time.Second,
		PollInterval:     time.Second,
		ProgressInterval: 2 * time.Second,
		RescanInterval:   time.Minute,
		ShutdownGrace:    10 * time.Second,
	}
}

// polled waits (in real time, bounded) until the dispatcher has polled at
// the clock's present time.
func polled(t testing.TB, clock *dispatch.ManualClock, cfg dispatch.Config) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !clock.WaitsFor(cfg.PollInterval) {
		if time.Now().After(deadline) {
			t.Fatalf("the dispatcher did not poll at %s", clock.Now().Format(time.TimeOnly))
		}
		time.Sleep(time.Millisecond)
	}
}

// nextPoll moves the clock to the dispatcher's next poll and waits until
// it has polled.
func nextPoll(t testing.TB, clock *dispatch.ManualClock, cfg dispatch.Config) {
	t.Helper()
	clock.Advance(cfg.PollInterval)
	polled(t, clock, cfg)
}

// drive moves the clock a poll at a time, one every 20ms of real time,
// until cond holds: leases of a minute pass in a second or two, while the
// sends, which take real time, keep up with the clock.
func drive(t testing.TB, clock *dispatch.ManualClock, cfg dispatch.Config, within time.Duration, what string, cond func() bool) {
	t.Helper()
	waitFor(t, within, what, func() bool {
		if cond() {
			return true
		}
		nextPoll(t, clock, cfg)
		return false
	})
}

// claimCount counts the work a dispatcher claims: taken over from a
// holder whose lease passed, or free.
type claimCount struct {
	over, free atomic.Int64
}

func (*claimCount) SendAttempted(dispatch.Outcome, bool) {}

func (c *claimCount) WorkClaimed(_ store.WorkKind, takenOver bool) {
	if takenOver {
		c.over.Add(1)
	} else {
		c.free.Add(1)
	}
}

// abandoned is a running mailing as a dispatcher that died left it.
type abandoned struct {
	m       *store.Mailing
	sentAt  time.Time
	sent    []store.ID // recorded SENT by the dead dispatcher
	sending []store.ID // in flight when it died: SENDING, no result
	pending []store.ID // not tried yet
	work    int        // the items it held: the lead and every chunk
}

// abandon seeds n clients and a mailing that started an hour before now,
// and leaves it as a dispatcher that died would have, through the store's
// own calls: the lead started the mailing and created its messages, the
// dead dispatcher claimed the lead and every chunk at claimed, until
// until, recorded the first ten messages of a chunk SENT and had the next
// five in flight.
func (f *fixture) abandon(n int, now, claimed, until time.Time) *abandoned {
	f.t.Helper()
	ctx := context.Background()
	clients := f.clients(n, "UTC")
	a := &abandoned{m: f.mailing("Taken over", now.Add(-time.Hour), now.Add(time.Hour), nil), sentAt: claimed.UTC().Truncate(time.Millisecond)}
	must := func(err error) {
		f.t.Helper()
		if err != nil {
			f.t.Fatal(err)
		}
	}
	_, err := f.s.EnsureMailingWork(ctx, a.m.ID, claimed)
	must(err)
	_, err = f.s.MoveMailing(ctx, a.m.ID, store.MoveStart, "")
	must(err)
	created, err := f.s.CreateMessages(ctx, a.m.ID, clients, store.NewMessages{Status: store.MessagePending, Now: claimed})
	must(err)
	if created != n {
		f.t.Fatalf("%d messages created for %d clients", created, n)
	}
	due, err := f.s.DueWork(ctx, store.DueWorkFilter{Now: claimed})
	must(err)
	var chunk *store.Work
	for i, w := range due {
		if w.MailingID != a.m.ID {
			continue
		}
		l, err := f.s.ClaimWork(ctx, &w, "dead", claimed, until)
		must(err)
		a.work++
		switch w.Kind {
		case store.WorkMailing:
			must(f.s.SetMailingProgress(ctx, l, store.MailingProgress{Total: n, Rescanned: &a.sentAt}))
		case store.WorkChunk:
			if chunk == nil {
				chunk = &due[i]
			}
			a.pending = append(a.pending, w.Messages...)
		}
	}
	if chunk == nil || len(chunk.Messages) < 15 || a.work < 3 {
		f.t.Fatalf("the mailing's work: %+v", due)
	}
	a.sent, a.sending = chunk.Messages[:10], chunk.Messages[10:15]
	a.pending = slices.DeleteFunc(a.pending, func(id store.ID) bool { return slices.Contains(chunk.Messages[:15], id) })
	must(f.s.MarkSending(ctx, chunk.Messages[:15]))
	results := make([]store.MessageResult, len(a.sent))
	for i, id := range a.sent {
		results[i] = store.MessageResult{ID: id, Status: store.MessageSent, Attempts: 1, SendDate: &a.sentAt, NextAttempt: claimed}
	}
	must(f.s.RecordResults(ctx, results))
	return a
}

// check checks what the dispatcher that took the mailing over did: it
// sent every message the dead one had not recorded SENT (those in flight
// at its death again, under the same ids), each once, and nothing else;
// the statistics count every message SENT once; the lead it took over did
// not announce the start again; the mailing is FINISHED.
func (a *abandoned) check(t *testing.T, f *fixture, rcv *receiver, logs *logBuffer) {
	t.Helper()
	var want []int64
	for _, id := range slices.Concat(a.sending, a.pending) {
		want = append(want, int64(id))
	}
	var got []int64
	for _, c := range rcv.snapshot() {
		got = append(got, c.ID)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("sent %d messages, want the %d the dead dispatcher had not sent, each once", len(got), len(want))
	}
	n := len(a.sent) + len(a.sending) + len(a.pending)
	if st := f.stats(a.m.ID); st.Total != n || st.Count(store.MessageSent) != n {
		t.Errorf("stats %v of %d, want every message SENT", st.ByStatus, st.Total)
	}
	for _, msg := range f.messages(a.m.ID) {
		if msg.Status != store.MessageSent || msg.Attempts != 1 || msg.SendDate == nil {
			t.Errorf("message %+v", msg)
			break
		}
		if slices.Contains(a.sent, msg.ID) && !msg.SendDate.Equal(a.sentAt) {
			t.Errorf("the dead dispatcher's send of %d redated: %s, not %s", msg.ID, msg.SendDate, a.sentAt)
		}
	}
	if f.mailingStatus(a.m.ID) != store.MailingFinished {
		t.Errorf("mailing %s", f.mailingStatus(a.m.ID))
	}
	if strings.Contains(logs.String(), `"msg":"mailing started"`) {
		t.Error("the lead taken over announced the mailing's start again")
	}
}

// heir is a dispatcher started beside a mailing a dead one abandoned.
type heir struct {
	clock  *dispatch.ManualClock
	cfg    dispatch.Config
	f      *fixture
	a      *abandoned
	rcv    *receiver
	logs   *logBuffer
	claims *claimCount
}

// inherit abandons a mailing of 120 clients, its work claimed ago before
// the clock's time for lease, and starts a dispatcher on the clock that
// has polled once.
func inherit(t *testing.T, ago, lease time.Duration) *heir {
	t.Helper()
	h := &heir{clock: dispatch.NewManualClock(), rcv: newReceiver(t, nil), logs: &logBuffer{}, claims: &claimCount{}}
	h.f = fixtureOn(t, storetest.Open(t, store.Options{Now: h.clock.Now}))
	now := h.clock.Now()
	h.a = h.f.abandon(120, now, now.Add(-ago), now.Add(lease-ago))
	h.cfg = clockConfig(h.clock, h.logs)
	h.cfg.Observer = h.claims
	start(t, h.f.s, webhook(t, h.rcv, time.Second), h.cfg)
	polled(t, h.clock, h.cfg)
	return h
}

// finish drives the clock until the mailing is finished and checks what
// the heir did (see abandoned.check); it took every item over once.
func (h *heir) finish(t *testing.T) {
	t.Helper()
	drive(t, h.clock, h.cfg, time.Minute, "the mailing finished", func() bool { return h.f.mailingStatus(h.a.m.ID).Final() })
	h.a.check(t, h.f, h.rcv, h.logs)
	if h.claims.over.Load() != int64(h.a.work) {
		t.Errorf("%d items taken over, want %d", h.claims.over.Load(), h.a.work)
	}
}

// A lease that passed is taken over at the first poll, with no wait: the
// lead and every chunk, and their messages that were not recorded SENT
// are sent.
func TestExpiredLeasesAreTakenOver(t *testing.T) {
	t.Parallel()
	h := inherit(t, 2*time.Minute, time.Minute) // passed a minute ago
	if h.claims.over.Load() != int64(h.a.work) {
		t.Errorf("the first poll took %d of %d items over", h.claims.over.Load(), h.a.work)
	}
	h.finish(t)
}

// A lease that holds is not taken, nor once it has passed until the clock
// skew has too; the first poll after that takes everything over.
func TestLiveLeaseIsNotTakenOver(t *testing.T) {
	t.Parallel()
	h := inherit(t, 0, 5500*time.Millisecond) // ends between two polls
	passed := h.clock.Now().Add(5500*time.Millisecond + h.cfg.ClockSkew)
	for ; h.clock.Now().Before(passed); nextPoll(t, h.clock, h.cfg) {
		if n, calls := h.claims.over.Load()+h.claims.free.Load(), len(h.rcv.snapshot()); n != 0 || calls != 0 {
			t.Fatalf("%s before the lease counts as passed: %d items claimed, %d sends", passed.Sub(h.clock.Now()), n, calls)
		}
	}
	if h.claims.over.Load() != int64(h.a.work) {
		t.Errorf("the first poll after the lease and the skew took %d of %d items over", h.claims.over.Load(), h.a.work)
	}
	h.finish(t)
}
