package dispatch_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/dispatch"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// fixture is a store with one tag ("vip") and one operator code ("916")
// that every seeded client and mailing uses.
type fixture struct {
	t     testing.TB
	s     *store.Store
	tag   *store.Tag
	code  *store.OperatorCode
	other *store.Tag // a tag no mailing targets
	seq   int
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return fixtureOn(t, storetest.Open(t, store.Options{}))
}

func fixtureOn(t testing.TB, s *store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, s: s}
	var err error
	if f.tag, err = s.CreateTag(ctx, "vip"); err != nil {
		t.Fatal(err)
	}
	if f.other, err = s.CreateTag(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if f.code, err = s.CreateOperatorCode(ctx, "916"); err != nil {
		t.Fatal(err)
	}
	return f
}

// twoStores returns two handles on one new database (two gateways).
func twoStores(t testing.TB) (*store.Store, *store.Store) {
	t.Helper()
	s := storetest.OpenShared(t, 2)
	return s[0], s[1]
}

// clients seeds n matching clients in zone tz (batch insert) and returns
// their ids.
func (f *fixture) clients(n int, tz string) []store.ID {
	f.t.Helper()
	in := make([]store.ClientInput, n)
	for i := range in {
		f.seq++
		in[i] = store.ClientInput{PhoneNumber: fmt.Sprintf("79%09d", f.seq), OperatorCodeID: f.code.ID, TagID: f.tag.ID, Timezone: tz}
	}
	ids, err := f.s.CreateClients(context.Background(), in)
	if err != nil {
		f.t.Fatal(err)
	}
	return ids
}

// mailing creates a mailing of the fixture's tag and code.
func (f *fixture) mailing(text string, start, end time.Time, w *store.Window) *store.Mailing {
	f.t.Helper()
	m, err := f.s.CreateMailing(context.Background(), store.MailingInput{Text: text, Start: start, End: end, Tags: []string{"vip"}, Codes: []string{"916"}, Window: w})
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// stats returns the mailing's message counts.
func (f *fixture) stats(id store.ID) *store.MailingStats {
	f.t.Helper()
	st, err := f.s.Stats(context.Background(), []store.ID{id})
	if err != nil {
		f.t.Fatal(err)
	}
	return st[id]
}

func (f *fixture) mailingStatus(id store.ID) store.MailingStatus {
	f.t.Helper()
	m, err := f.s.MailingByID(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return m.Status
}

func (f *fixture) messages(id store.ID) []store.Message {
	f.t.Helper()
	msgs, err := f.s.FindMessages(context.Background(), &store.MessageFilter{MailingIDs: []store.ID{id}}, store.Page{})
	if err != nil {
		f.t.Fatal(err)
	}
	return msgs
}

// config is a dispatcher configuration scaled down for tests: leases of
// seconds, polls of milliseconds.
func config(logs *logBuffer) dispatch.Config {
	return dispatch.Config{
		Concurrency:      8,
		Lease:            5 * time.Second,
		ClockSkew:        100 * time.Millisecond,
		SendTimeout:      time.Second,
		PollInterval:     20 * time.Millisecond,
		ProgressInterval: 50 * time.Millisecond,
		RescanInterval:   5 * time.Second,
		ShutdownGrace:    5 * time.Second,
		Retry:            dispatch.RetryPolicy{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond, MaxAttempts: 5},
		Logger:           logs.logger(),
	}
}

// running is a dispatcher started by start.
type running struct {
	d       *dispatch.Dispatcher
	stop    context.CancelFunc
	done    chan error
	stopped sync.Once
}

// start runs a dispatcher until the test ends (or halt is called).
func start(t testing.TB, s *store.Store, sender dispatch.Sender, cfg dispatch.Config) *running {
	t.Helper()
	d, err := dispatch.New(s, sender, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { r.halt(t) })
	return r
}

// halt stops the dispatcher and waits (bounded) for Run to return.
func (r *running) halt(t testing.TB) {
	t.Helper()
	r.stopped.Do(func() {
		r.stop()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("dispatcher did not stop within 30s")
		}
	})
}

// webhook builds the webhook sender for a receiver.
func webhook(t testing.TB, r *receiver, timeout time.Duration) dispatch.Sender {
	t.Helper()
	w, err := dispatch.NewWebhook(dispatch.SenderConfig{WebhookURL: r.url(), WebhookToken: "s3cret", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFinished waits for the mailing to reach a final status.
func (f *fixture) waitFinished(id store.ID, within time.Duration) {
	f.t.Helper()
	waitFor(f.t, within, "mailing "+id.String()+" final", func() bool { return f.mailingStatus(id).Final() })
}

// logBuffer collects log lines (JSON) for tests to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// offsetClock is the real time moved by an offset a test sets: waits stay
// real (the dispatcher keeps polling), while what is "now" jumps.
type offsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *offsetClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}
