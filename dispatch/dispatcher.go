package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// Dispatcher sends the messages of due mailings. Run it in as many
// processes as needed on one database: each work item is claimed by one of
// them at a time (store.ClaimWork), and a dead one's work is taken over
// when its lease passes.
type Dispatcher struct {
	store   *store.Store
	sender  Sender
	cfg     Config
	clock   Clock
	log     *slog.Logger
	limiter *limiter
	// sends bounds the sends in flight (Concurrency).
	sends chan struct{}
	// chunkSlots bounds the chunks worked on at once: enough to keep every
	// send slot busy while the next chunk is read.
	chunkSlots int
	// kick wakes the poll loop early (a chunk finished, a slot is free).
	kick chan struct{}

	mu      sync.Mutex
	held    map[string]*held
	chunks  int                  // chunks being worked on
	skip    map[string]time.Time // work held elsewhere: not worth a claim before then
	ensured map[store.ID]time.Time
	paused  []store.ID
	// pausedHere holds the mailings this dispatcher paused (see sendFailed)
	// until a listing of mailings begun after the pause was written: an
	// earlier listing still shows them running, and must not undo the
	// pause. The value is the pause's number in pauses, 0 while it is
	// being written.
	pausedHere map[store.ID]int
	pauses     int
	failures   map[store.ID]int // sends failed in a row, per mailing
	zones      map[string]*time.Location
	random     func() float64
}

// New returns a dispatcher that sends through sender. Errors: a Config
// that would break the lease guarantee (see Config).
func New(s *store.Store, sender Sender, cfg Config) (*Dispatcher, error) {
	if s == nil || sender == nil {
		return nil, errors.New("a dispatcher needs a store and a sender")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dispatcher configuration: %w", err)
	}
	d := &Dispatcher{
		store: s, sender: sender, cfg: cfg, clock: cfg.Clock,
		log:        cfg.Logger.With("dispatcher", cfg.Owner),
		limiter:    newLimiter(cfg.Rate, time.Second, cfg.Clock),
		sends:      make(chan struct{}, cfg.Concurrency),
		chunkSlots: 2 + (cfg.Concurrency+store.ChunkSize-1)/store.ChunkSize,
		kick:       make(chan struct{}, 1),
		held:       map[string]*held{},
		skip:       map[string]time.Time{},
		ensured:    map[store.ID]time.Time{},
		failures:   map[store.ID]int{},
		pausedHere: map[store.ID]int{},
		zones:      map[string]*time.Location{},
		random:     cfg.Random,
	}
	if d.random == nil {
		rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		d.random = rng.Float64 // called under d.mu
	}
	return d, nil
}

// Owner is the name this dispatcher claims work under.
func (d *Dispatcher) Owner() string { return d.cfg.Owner }

// Run dispatches until ctx is done. It then stops claiming work and
// starting sends, gives the sends in flight the shutdown grace to finish
// and be recorded, releases what it holds, and returns nil. Work still
// running after the grace is abandoned, leased: another dispatcher takes
// it over once the lease has passed.
func (d *Dispatcher) Run(ctx context.Context) error {
	// Work (sends, recording results, leases) outlives ctx by the grace.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	keeper := make(chan struct{})
	go func() { defer close(keeper); d.keepLeases(work) }()

	d.log.Info("dispatcher started", "concurrency", d.cfg.Concurrency, "rate", d.cfg.Rate)
	for ctx.Err() == nil {
		d.poll(ctx, work, &wg)
		select {
		case <-ctx.Done():
		case <-d.kick:
		case <-d.clock.After(d.cfg.PollInterval):
		}
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	if d.cfg.ShutdownGrace < 0 {
		d.log.Warn("stopping without grace: work in flight is abandoned; its leases will pass")
		cancelWork()
	} else {
		select {
		case <-done:
		case <-d.clock.After(d.cfg.ShutdownGrace):
			d.log.Warn("shutdown grace over: work in flight is abandoned; its leases will pass")
			cancelWork()
		}
	}
	// Everything in flight watches the work context; a sender that does
	// not is given its timeout, and then left behind.
	select {
	case <-done:
	case <-d.clock.After(d.cfg.SendTimeout + time.Second):
		d.log.Error("work still running after the shutdown grace and a send timeout; leaving it")
	}
	cancelWork()
	<-keeper
	d.log.Info("dispatcher stopped")
	return nil
}

// poll starts due mailings and claims due work for free slots.
func (d *Dispatcher) poll(stop, work context.Context, wg *sync.WaitGroup) {
	now := d.clock.Now()
	ctx, cancel := d.bound(stop)
	defer cancel()
	if err := d.watchMailings(ctx, now); err != nil {
		d.logStoreError(stop, "look for due mailings", err)
	}
	d.mu.Lock()
	free, paused := d.chunkSlots-d.chunks, slices.Clone(d.paused)
	for id, until := range d.skip {
		if !now.Before(until) {
			delete(d.skip, id)
		}
	}
	d.mu.Unlock()
	due, err := d.store.DueWork(ctx, store.DueWorkFilter{Now: now, SkipMailings: paused, Limit: 2*d.chunkSlots + 16})
	if err != nil {
		d.logStoreError(stop, "list due work", err)
		return
	}
	for _, w := range due {
		if ctx.Err() != nil {
			return
		}
		if (w.Kind == store.WorkChunk && free == 0) || d.holding(w.ID) || d.skipped(w.ID) {
			continue
		}
		// A lease counts as passed only ClockSkew after its end.
		l, err := d.store.ClaimWork(ctx, &w, d.cfg.Owner, now.Add(-d.cfg.ClockSkew), now.Add(d.cfg.Lease))
		var ce *store.ClaimedError
		switch {
		case errors.As(err, &ce):
			d.mu.Lock()
			d.skip[w.ID] = ce.Until.Add(d.cfg.ClockSkew)
			d.mu.Unlock()
			continue
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			d.logStoreError(stop, "claim work", err, slog.String("work", w.ID))
			continue
		}
		d.cfg.Observer.WorkClaimed(w.Kind, l.TakenOver)
		h := d.hold(w, l)
		wg.Add(1)
		if w.Kind == store.WorkChunk {
			free--
			d.mu.Lock()
			d.chunks++
			d.mu.Unlock()
			go func() {
				defer wg.Done()
				d.runChunk(stop, work, h)
				d.mu.Lock()
				d.chunks--
				d.mu.Unlock()
				d.drop(h)
				d.wake()
			}()
		} else {
			go func() {
				defer wg.Done()
				d.leadMailing(stop, work, h)
				d.drop(h)
			}()
		}
	}
}

func (d *Dispatcher) skipped(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.skip[id]
	return ok
}

func (d *Dispatcher) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// watchMailings makes sure every due mailing has its lead work item, and
// notes which mailings are paused (their chunks are not claimed).
func (d *Dispatcher) watchMailings(ctx context.Context, now time.Time) error {
	d.mu.Lock()
	seen := d.pauses // the pauses written before this listing began
	d.mu.Unlock()
	live, err := d.store.FindMailings(ctx, &store.MailingFilter{Statuses: []store.MailingStatus{
		store.MailingScheduled, store.MailingRunning, store.MailingPaused}}, store.Page{})
	if err != nil {
		return err
	}
	var paused, due []store.ID
	for _, m := range live {
		if m.Status == store.MailingPaused && now.Before(m.End) {
			paused = append(paused, m.ID)
		}
		if m.Status != store.MailingScheduled || !now.Before(m.Start) {
			due = append(due, m.ID)
		}
	}
	d.mu.Lock()
	for id, n := range d.pausedHere {
		if n > 0 && n <= seen {
			delete(d.pausedHere, id) // the listing saw it
			continue
		}
		if !slices.Contains(paused, id) {
			paused = append(paused, id)
		}
	}
	d.paused = paused
	var ensure []store.ID
	ensured := make(map[store.ID]time.Time, len(due)) // forget mailings no longer live
	for _, id := range due {
		at, ok := d.ensured[id]
		if !ok || now.Sub(at) >= d.cfg.RescanInterval {
			ensure = append(ensure, id)
			continue
		}
		ensured[id] = at
	}
	d.ensured = ensured
	d.mu.Unlock()
	for _, id := range ensure {
		if _, err := d.store.EnsureMailingWork(ctx, id, now); err != nil {
			return err
		}
		d.mu.Lock()
		d.ensured[id] = now
		d.mu.Unlock()
	}
	return nil
}

// isPaused tells whether a mailing was last seen paused (or this
// dispatcher just paused it).
func (d *Dispatcher) isPaused(id store.ID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Contains(d.paused, id)
}

// zone loads a client's time zone once per dispatcher; a name Go does not
// know (it was valid when stored) falls back to UTC.
func (d *Dispatcher) zone(name string) *time.Location {
	d.mu.Lock()
	defer d.mu.Unlock()
	if loc, ok := d.zones[name]; ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		loc = time.UTC
	}
	d.zones[name] = loc
	return loc
}

// bound limits one store call (see Config.StoreTimeout).
func (d *Dispatcher) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.cfg.StoreTimeout)
}

func (d *Dispatcher) jitter() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.random()
}
