package graph

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/graph/model"
	"github.com/gatehouse/gatehouse/store"
)

// Progress serves mailingProgress. Neither engine's change feed is used
// (the embedded store has none), so it polls: one poll per watched mailing per interval, however
// many clients watch it, and a push to each only when the numbers change.
// A subscriber that does not keep up gets the latest numbers when it next
// reads, never a backlog.
type Progress struct {
	Store *store.Store
	// Interval between polls of a watched mailing. (A subscriber whose
	// token stops holding has its socket closed, which ends its
	// subscriptions: see socket.go.)
	Interval time.Duration
	// Ticks paces the polls; nil is a time.Ticker. Tests tick by hand,
	// so that a poll happens when they say.
	Ticks  Ticks
	Logger *slog.Logger

	mu      sync.Mutex
	watches map[store.ID]*watch
}

// watch is the poller of one mailing and its subscribers.
type watch struct {
	subs map[chan *model.MailingStats]struct{}
}

// Subscribe starts pushing a mailing's statistics: the current numbers at
// once, then each change, until the mailing ends or ctx is done.
func (p *Progress) Subscribe(ctx context.Context, id store.ID) (<-chan *model.MailingStats, error) {
	m, err := p.Store.MailingByID(ctx, id)
	if err != nil {
		return nil, err
	}
	first, err := p.snapshot(ctx, m)
	if err != nil {
		return nil, err
	}
	ch := make(chan *model.MailingStats, 1)
	ch <- first
	if m.Status.Final() {
		close(ch)
		return ch, nil
	}
	p.mu.Lock()
	if p.watches == nil {
		p.watches = map[store.ID]*watch{}
	}
	w, ok := p.watches[id]
	if !ok {
		w = &watch{subs: map[chan *model.MailingStats]struct{}{}}
		p.watches[id] = w
		// The ticker starts before the first answer goes out, so a tick
		// sent once the subscriber has its first numbers is not missed.
		tick, stop := p.Ticks.start(p.Interval)
		go p.poll(id, w, first, tick, stop)
	}
	w.subs[ch] = struct{}{}
	p.mu.Unlock()

	go func() {
		// The client went away, or its socket was closed.
		<-ctx.Done()
		p.unsubscribe(id, ch)
	}()
	return ch, nil
}

func (p *Progress) unsubscribe(id store.ID, ch chan *model.MailingStats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w, ok := p.watches[id]; ok {
		if _, ok := w.subs[ch]; ok {
			delete(w.subs, ch)
			close(ch)
		}
	}
}

// poll reads the mailing's statistics at every tick while anyone watches,
// pushes changes, and closes every subscription once the mailing ends.
func (p *Progress) poll(id store.ID, w *watch, last *model.MailingStats, tick <-chan time.Time, stop func()) {
	defer stop()
	for range tick {
		p.mu.Lock()
		idle := len(w.subs) == 0
		if idle {
			delete(p.watches, id)
		}
		p.mu.Unlock()
		if idle {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.Interval*4)
		m, err := p.Store.MailingByID(ctx, id)
		var now *model.MailingStats
		if err == nil {
			now, err = p.snapshot(ctx, m)
		}
		cancel()
		switch {
		case errors.Is(err, store.ErrNotFound):
			p.finish(id, w) // the mailing was deleted
			return
		case err != nil:
			p.Logger.Warn("mailing progress poll", "mailing_id", id, "err", err)
			continue
		}
		if !sameCounts(now, last) || now.Mailing.Status != last.Mailing.Status {
			p.broadcast(w, now)
			last = now
		}
		if m.Status.Final() {
			p.finish(id, w)
			return
		}
	}
}

// broadcast pushes without blocking: a full buffer's stale value is
// replaced by the new one.
func (p *Progress) broadcast(w *watch, s *model.MailingStats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ch := range w.subs {
		select {
		case ch <- s:
		default:
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- s:
			default:
			}
		}
	}
}

func (p *Progress) finish(id store.ID, w *watch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ch := range w.subs {
		delete(w.subs, ch)
		close(ch)
	}
	delete(p.watches, id)
}

func (p *Progress) snapshot(ctx context.Context, m *store.Mailing) (*model.MailingStats, error) {
	stats, err := p.Store.Stats(ctx, []store.ID{m.ID})
	if err != nil {
		return nil, err
	}
	return statsOf(m, stats[m.ID]), nil
}

func sameCounts(a, b *model.MailingStats) bool {
	return a.Total == b.Total && a.Pending == b.Pending && a.Sending == b.Sending &&
		a.Sent == b.Sent && a.Failed == b.Failed && a.Expired == b.Expired
}
