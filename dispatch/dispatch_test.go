package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/dispatch"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// A mailing created with its start in the past and its end in the future
// starts at once; every matching client gets one message, and only they;
// the mailing logs its start, each tenth and its end.
func TestDueMailingSendsToEveryMatchingClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ids := f.clients(120, "Europe/Moscow")
	// A client of another tag is not a recipient.
	if _, err := f.s.CreateClient(context.Background(), store.ClientInput{PhoneNumber: "79990000000", OperatorCodeID: f.code.ID, TagID: f.other.ID, Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m := f.mailing("Sale today", now.Add(-time.Minute), now.Add(time.Hour), nil)
	rcv := newReceiver(t, nil)
	logs := &logBuffer{}
	start(t, f.s, webhook(t, rcv, time.Second), config(logs))
	f.waitFinished(m.ID, 30*time.Second)

	if got := rcv.deliveredCount(); got != len(ids) {
		t.Errorf("delivered to %d clients, want %d", got, len(ids))
	}
	if n := rcv.acceptedTwice(); n != 0 {
		t.Errorf("%d duplicate deliveries", n)
	}
	st := f.stats(m.ID)
	if st.Count(store.MessageSent) != len(ids) || st.Total != len(ids) {
		t.Errorf("stats %v", st.ByStatus)
	}
	phones := map[int64]bool{}
	for _, c := range rcv.snapshot() {
		if c.Auth != "Bearer s3cret" || c.Text != "Sale today" {
			t.Errorf("call %+v", c)
		}
		phones[c.Phone] = true
	}
	if phones[79990000000] || len(phones) != len(ids) {
		t.Errorf("%d phones reached; the other tag's client reached: %v", len(phones), phones[79990000000])
	}
	for _, msg := range f.messages(m.ID) {
		if msg.Status != store.MessageSent || msg.Attempts != 1 || msg.SendDate == nil {
			t.Errorf("message %+v", msg)
			break
		}
	}
	done, err := f.s.MailingByID(context.Background(), m.ID)
	if err != nil || done.Status != store.MailingFinished || done.StartedAt == nil || done.FinishedAt == nil || done.StatusReason == "" {
		t.Errorf("mailing %+v, %v", done, err)
	}

	lines := mailingLines(t, logs, m.ID)
	var started, finished bool
	var progress []mailingLine
	for _, l := range lines {
		switch l.Msg {
		case "mailing started":
			started = true
		case "mailing progress":
			progress = append(progress, l)
		case "mailing finished":
			finished = l.Sent == len(ids)
		}
	}
	if !started || !finished {
		t.Errorf("log lines: started %v, finished %v", started, finished)
	}
	// How many tenths each look finds passed depends on how fast the sends
	// go, so the lines are checked for what each says: a higher tenth
	// than the line before, reached by the messages final then, up to all.
	last := 0
	for _, p := range progress {
		if p.Percent%10 != 0 || p.Percent <= last || p.Final*100 < p.Percent*len(ids) || p.Messages != len(ids) {
			t.Errorf("progress line %+v after %d%%", p, last)
		}
		last = p.Percent
	}
	if last != 100 {
		t.Errorf("progress lines %+v: none says 100%%", progress)
	}
}

// A mailing of one message goes from none final to all at once: its lead
// logs one progress line, at 100%, not a line for each tenth passed.
func TestProgressOfOneMessageIsOneLine(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clients(1, "UTC")
	now := time.Now()
	m := f.mailing("Just you", now.Add(-time.Minute), now.Add(time.Hour), nil)
	logs := &logBuffer{}
	start(t, f.s, webhook(t, newReceiver(t, nil), time.Second), config(logs))
	f.waitFinished(m.ID, 30*time.Second)
	var progress []mailingLine
	for _, l := range mailingLines(t, logs, m.ID) {
		if l.Msg == "mailing progress" {
			progress = append(progress, l)
		}
	}
	if len(progress) != 1 || progress[0].Percent != 100 || progress[0].Final != 1 || progress[0].Messages != 1 {
		t.Errorf("progress lines of a one-message mailing: %+v, want one at 100%%", progress)
	}
}

// mailingLine is a dispatcher's log line about a mailing.
type mailingLine struct {
	Msg      string
	Mailing  string
	Percent  int
	Final    int
	Messages int
	Sent     int
}

// mailingLines are the log lines about mailing id, in order.
func mailingLines(t *testing.T, logs *logBuffer, id store.ID) []mailingLine {
	t.Helper()
	var lines []mailingLine
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec mailingLine
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Mailing == id.String() {
			lines = append(lines, rec)
		}
	}
	return lines
}

// A mailing whose end has passed sends nothing; its messages are recorded
// EXPIRED for its statistics, and it is FINISHED.
func TestMailingEndedBeforeStartSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clients(30, "UTC")
	now := time.Now()
	m := f.mailing("Too late", now.Add(-2*time.Hour), now.Add(-time.Hour), nil)
	rcv := newReceiver(t, nil)
	start(t, f.s, webhook(t, rcv, time.Second), config(nil))
	f.waitFinished(m.ID, 20*time.Second)
	if calls := len(rcv.snapshot()); calls != 0 {
		t.Errorf("%d calls for an ended mailing", calls)
	}
	st := f.stats(m.ID)
	if st.Count(store.MessageExpired) != 30 || st.Total != 30 {
		t.Errorf("stats %v", st.ByStatus)
	}
	msgs := f.messages(m.ID)
	if msgs[0].LastError != "The mailing ended before it started." {
		t.Errorf("reason %q", msgs[0].LastError)
	}
	if done, _ := f.s.MailingByID(context.Background(), m.ID); done.Status != store.MailingFinished || !strings.Contains(done.StatusReason, "nothing was sent") {
		t.Errorf("mailing %s: %q", done.Status, done.StatusReason)
	}
}

// A scheduled mailing waits for its start: the dispatcher polls past it,
// and sends nothing before; at its start it sends.
func TestScheduledMailingStartsWhenDue(t *testing.T) {
	t.Parallel()
	clock := dispatch.NewManualClock()
	f := fixtureOn(t, storetest.Open(t, store.Options{Now: clock.Now}))
	f.clients(10, "UTC")
	now := clock.Now()
	m := f.mailing("Soon", now.Add(time.Hour), now.Add(2*time.Hour), nil)
	rcv := newReceiver(t, nil)
	cfg := clockConfig(clock, nil)
	start(t, f.s, webhook(t, rcv, 10*time.Second), cfg)
	polled(t, clock, cfg)
	// Each poll looks at the mailing; before its start it makes no work
	// for it, so nothing can be sent.
	for range 10 {
		nextPoll(t, clock, cfg)
	}
	work, err := f.s.DueWork(context.Background(), store.DueWorkFilter{Now: m.End})
	if err != nil {
		t.Fatal(err)
	}
	if calls := len(rcv.snapshot()); calls != 0 || len(work) != 0 || f.mailingStatus(m.ID) != store.MailingScheduled {
		t.Fatalf("before the start: %d calls, %d work items, the mailing %s", calls, len(work), f.mailingStatus(m.ID))
	}
	clock.Advance(m.Start.Sub(clock.Now()))
	drive(t, clock, cfg, time.Minute, "the mailing finished", func() bool { return f.mailingStatus(m.ID).Final() })
	if rcv.deliveredCount() != 10 {
		t.Errorf("delivered %d", rcv.deliveredCount())
	}
}

// zoneAt names a fixed-offset zone where it is now about hour o'clock.
func zoneAt(now time.Time, hour int) string {
	k := ((hour-now.UTC().Hour())%24 + 24) % 24
	if k > 11 {
		k -= 24
	}
	switch {
	case k > 0:
		return fmt.Sprintf("Etc/GMT-%d", k) // POSIX signs: GMT-3 is three hours ahead
	case k < 0:
		return fmt.Sprintf("Etc/GMT+%d", -k)
	}
	return "Etc/GMT"
}

// waitKept waits until every chunk of the mailing is released with n open
// messages, due no sooner than an hour from now: the dispatcher has looked
// at them and decided to wait.
func (f *fixture) waitKept(m *store.Mailing, n int, clock *offsetClock) {
	f.t.Helper()
	waitFor(f.t, 20*time.Second, fmt.Sprintf("%d messages kept for later", n), func() bool {
		chunks, err := f.s.MailingChunks(context.Background(), m.ID)
		if err != nil {
			f.t.Fatal(err)
		}
		open := 0
		for _, c := range chunks {
			if c.Due.Before(clock.Now().Add(time.Hour)) {
				return false
			}
			open += c.Open
		}
		return open == n
	})
}

// Each client gets the message within their own window, in their own zone.
func TestSendingWindowPerClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	clock := &offsetClock{}
	now := clock.Now()
	open := f.clients(5, zoneAt(now, 12))  // noon there: the window is open
	closed := f.clients(5, zoneAt(now, 3)) // 3 a.m. there: it opens at 09:00
	m := f.mailing("Good morning", now.Add(-time.Minute), now.Add(24*time.Hour), &store.Window{From: "09:00", To: "21:00"})
	rcv := newReceiver(t, nil)
	cfg := config(nil)
	cfg.Clock = clock
	start(t, f.s, webhook(t, rcv, time.Second), cfg)

	waitFor(t, 20*time.Second, "the open window's clients served", func() bool { return rcv.deliveredCount() == len(open) })
	f.waitKept(m, len(closed), clock)
	if rcv.deliveredCount() != len(open) {
		t.Fatalf("sent outside the window: %d", rcv.deliveredCount())
	}
	clock.Advance(7 * time.Hour) // 10 a.m. for the others
	f.waitFinished(m.ID, 20*time.Second)
	if rcv.deliveredCount() != len(open)+len(closed) || rcv.acceptedTwice() != 0 {
		t.Errorf("delivered %d, %d twice", rcv.deliveredCount(), rcv.acceptedTwice())
	}
}

// Changes made after a mailing started apply to what it has not sent: the
// new text, a client who no longer matches (EXPIRED, with the reason), and
// clients added since, who get theirs.
func TestChangesAfterStartApplyToUnsent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	clock := &offsetClock{}
	now := clock.Now()
	zone := zoneAt(now, 3)
	ids := f.clients(10, zone)
	m := f.mailing("Old text", now.Add(-time.Minute), now.Add(24*time.Hour), &store.Window{From: "09:00", To: "21:00"})
	rcv := newReceiver(t, nil)
	cfg := config(nil)
	cfg.Clock = clock
	cfg.RescanInterval = 200 * time.Millisecond // look for new clients often
	start(t, f.s, webhook(t, rcv, time.Second), cfg)
	f.waitKept(m, 10, clock)

	text := "New text"
	if _, err := f.s.UpdateMailing(ctx, m.ID, store.MailingUpdate{Text: &text}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UpdateClient(ctx, ids[0], store.ClientUpdate{TagID: &f.other.ID}); err != nil {
		t.Fatal(err)
	}
	later := f.clients(3, zone)
	waitFor(t, 20*time.Second, "messages for the clients added later", func() bool { return len(f.messages(m.ID)) == 13 })
	f.waitKept(m, 13, clock)

	clock.Advance(7 * time.Hour)
	f.waitFinished(m.ID, 20*time.Second)
	if rcv.deliveredCount() != 12 {
		t.Errorf("delivered %d, want 12", rcv.deliveredCount())
	}
	for _, c := range rcv.snapshot() {
		if c.Text != text {
			t.Errorf("sent the old text: %+v", c)
		}
	}
	for _, msg := range f.messages(m.ID) {
		switch {
		case msg.ClientID == ids[0]:
			if msg.Status != store.MessageExpired || !strings.Contains(msg.LastError, "no longer matches") {
				t.Errorf("the changed client's message: %+v", msg)
			}
		case msg.Status != store.MessageSent:
			t.Errorf("message %+v", msg)
		}
	}
	if len(later) != 3 {
		t.Fatal(later)
	}
}

// Cancelling a running mailing stops its sends; what was not sent is
// EXPIRED with the reason.
func TestCancelExpiresUnsent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clients(200, "UTC")
	now := time.Now()
	m := f.mailing("Cancel me", now.Add(-time.Minute), now.Add(time.Hour), nil)
	rcv := newReceiver(t, func(call) answer { return answer{Status: 200, Delay: 20 * time.Millisecond} })
	logs := &logBuffer{}
	cfg := config(logs)
	cfg.Concurrency = 2
	start(t, f.s, webhook(t, rcv, time.Second), cfg)
	waitFor(t, 20*time.Second, "some deliveries", func() bool { return rcv.deliveredCount() >= 20 })
	if _, err := f.s.MoveMailing(context.Background(), m.ID, store.MoveCancel, "changed our minds"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "every message final", func() bool {
		st := f.stats(m.ID)
		return st.Count(store.MessageSent)+st.Count(store.MessageExpired) == 200
	})
	calls := len(rcv.snapshot())
	waitFor(t, 20*time.Second, "the cancel logged", func() bool { return strings.Contains(logs.String(), `"msg":"mailing cancelled"`) })
	st := f.stats(m.ID)
	if st.Count(store.MessageSent) != rcv.deliveredCount() || st.Count(store.MessageExpired) == 0 || len(rcv.snapshot()) != calls {
		t.Errorf("stats %v, delivered %d, calls %d then %d", st.ByStatus, rcv.deliveredCount(), calls, len(rcv.snapshot()))
	}
	for _, msg := range f.messages(m.ID) {
		if msg.Status == store.MessageExpired && !strings.Contains(msg.LastError, "cancelled") {
			t.Errorf("reason %q", msg.LastError)
			break
		}
	}
}
