package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// held is a work item this dispatcher has claimed. Its mutex serialises
// the lease's writes (extension, release, finish), so a late extension
// cannot overwrite the due time a release has just written.
type held struct {
	work store.Work // as claimed

	mu    sync.Mutex
	lease store.Lease
	lost  bool // taken over, or gone
	done  bool // released or finished
}

// validFor tells whether the lease still has d to run at now. Work stops
// before a lease passes, so whoever takes it over after it has passed (plus
// the allowed clock skew) never overlaps with this dispatcher.
func (h *held) validFor(now time.Time, d time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.lost && !h.done && now.Add(d).Before(h.lease.Until)
}

func (h *held) isLost() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lost
}

// hold records a won lease.
func (d *Dispatcher) hold(w store.Work, l *store.Lease) *held {
	h := &held{work: w, lease: *l}
	d.mu.Lock()
	d.held[w.ID] = h
	d.mu.Unlock()
	return h
}

// drop forgets a lease once its goroutine is done with it.
func (d *Dispatcher) drop(h *held) {
	d.mu.Lock()
	delete(d.held, h.work.ID)
	d.mu.Unlock()
}

func (d *Dispatcher) holding(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.held[id] != nil
}

// keepLeases extends every held lease each third of the lease, until ctx
// (the work context, which outlives Run's by the shutdown grace) ends.
func (d *Dispatcher) keepLeases(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.clock.After(d.cfg.Lease / 3):
		}
		d.mu.Lock()
		all := make([]*held, 0, len(d.held))
		for _, h := range d.held {
			all = append(all, h)
		}
		d.mu.Unlock()
		for _, h := range all {
			d.extend(ctx, h)
		}
	}
}

func (d *Dispatcher) extend(ctx context.Context, h *held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost || h.done {
		return
	}
	l := h.lease
	// An extension that takes a third of the lease is no use: the next
	// one is due.
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Lease/3)
	defer cancel()
	err := d.store.ExtendLease(ctx, &l, d.clock.Now().Add(d.cfg.Lease))
	switch {
	case err == nil:
		h.lease = l
	case errors.Is(err, store.ErrLeaseLost), errors.Is(err, store.ErrNotFound):
		h.lost = true
		d.log.Warn("lease lost: another dispatcher took the work over", "work", h.work.ID, "err", err)
	default:
		// The lease runs out on its own if the store stays away; work checks
		// validFor before every send.
		d.log.Warn("extend lease", "work", h.work.ID, "err", err)
	}
}

// release gives the work back, due again at r.Due.
func (d *Dispatcher) release(ctx context.Context, h *held, r store.WorkRelease) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost || h.done {
		return
	}
	h.done = true
	ctx, cancel := d.bound(ctx)
	defer cancel()
	if err := d.store.ReleaseWork(ctx, &h.lease, r); err != nil {
		d.logStoreError(ctx, "release work", err, slog.String("work", h.work.ID))
	}
}

// finish deletes work that is done.
func (d *Dispatcher) finish(ctx context.Context, h *held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost || h.done {
		return
	}
	h.done = true
	ctx, cancel := d.bound(ctx)
	defer cancel()
	if err := d.store.FinishWork(ctx, &h.lease); err != nil {
		d.logStoreError(ctx, "finish work", err, slog.String("work", h.work.ID))
	}
}

// logStoreError logs a failed store call, quietly when the work context
// was cancelled (shutdown past its grace: the lease is left to pass).
func (d *Dispatcher) logStoreError(ctx context.Context, what string, err error, attrs ...slog.Attr) {
	level := slog.LevelWarn
	if ctx.Err() != nil {
		level = slog.LevelDebug
	}
	d.log.LogAttrs(context.Background(), level, what, append(attrs, slog.Any("err", err))...)
}

// current returns the lease as last extended.
func (h *held) current() store.Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}
