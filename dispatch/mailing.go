package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// lead is a mailing's lead while this dispatcher holds it: it starts the
// mailing when due, creates its recipients' messages (again every
// RescanInterval, for clients added or changed since), logs its progress
// as each tenth is reached, and finishes it at its end or once every message is final.
// One dispatcher leads a mailing at a time; its progress survives in the
// work item for the next.
type lead struct {
	d     *Dispatcher
	h     *held
	prog  store.MailingProgress
	saved store.MailingProgress
	// again asks for a rescan at the next step (some messages could not be
	// created: their ids collided).
	again bool
}

func (d *Dispatcher) leadMailing(stop, work context.Context, h *held) {
	p := store.MailingProgress{Total: h.work.Total, Logged: h.work.Logged, Rescanned: h.work.Rescanned}
	l := &lead{d: d, h: h, prog: p, saved: p}
	for h.validFor(d.clock.Now(), d.cfg.ClockSkew) {
		if l.step(work) {
			return
		}
		select {
		case <-stop.Done():
			l.save(work)
			d.release(work, h, store.WorkRelease{Due: d.clock.Now()})
			return
		case <-work.Done():
			return
		case <-d.clock.After(d.cfg.ProgressInterval):
		}
	}
}

// step looks at the mailing once; it returns true when the lead is over
// (finished, or released until the mailing's start).
func (l *lead) step(ctx context.Context) bool {
	d, h, now := l.d, l.h, l.d.clock.Now()
	m, err := bounded(d, ctx, func(ctx context.Context) (*store.Mailing, error) { return d.store.MailingByID(ctx, h.work.MailingID) })
	if errors.Is(err, store.ErrNotFound) {
		d.finish(ctx, h)
		return true
	}
	if err != nil {
		d.logStoreError(ctx, "read mailing", err, slog.String("mailing", h.work.MailingID.String()))
		return false
	}
	switch m.Status {
	case store.MailingFinished:
		d.finish(ctx, h)
		return true
	case store.MailingScheduled:
		if now.Before(m.Start) {
			d.release(ctx, h, store.WorkRelease{Due: m.Start})
			return true
		}
		if !now.Before(m.End) {
			return l.endUnstarted(ctx, m, now)
		}
		if _, err := bounded(d, ctx, func(ctx context.Context) (*store.Mailing, error) {
			return d.store.MoveMailing(ctx, m.ID, store.MoveStart, "")
		}); err != nil {
			if !isConflict(err) {
				d.logStoreError(ctx, "start mailing", err, slog.String("mailing", m.ID.String()))
			}
			return false // changed meanwhile, or unreachable: look again at the next step
		}
		return l.step(ctx) // once more, now that it runs
	}

	chunks, err := bounded(d, ctx, func(ctx context.Context) ([]store.Work, error) { return d.store.MailingChunks(ctx, m.ID) })
	if err != nil {
		d.logStoreError(ctx, "read chunks", err, slog.String("mailing", m.ID.String()))
		return false
	}
	ended := !now.Before(m.End)
	if ended || m.Status == store.MailingCancelled {
		l.hurry(ctx, chunks, now)
	}
	created, rescanned := 0, false
	if m.Status == store.MailingRunning && !ended &&
		(l.again || l.prog.Rescanned == nil || now.Sub(*l.prog.Rescanned) >= d.cfg.RescanInterval || len(chunks) == 0) {
		first := l.prog.Rescanned == nil
		matched, err := 0, error(nil)
		if created, matched, err = l.rescan(ctx, m, now); err != nil {
			if !errors.Is(err, errLeadLost) {
				d.logStoreError(ctx, "create messages", err, slog.String("mailing", m.ID.String()))
			}
			return false
		}
		rescanned = true
		// A lead that took over from one that died after creating the
		// messages does not announce the start again.
		if first && (created > 0 || matched == 0) {
			d.log.Info("mailing started", "mailing", m.ID.String(), "recipients", matched, "messages", created, "end", m.End)
		}
	}
	l.logProgress(m, chunks, created)
	if len(chunks) == 0 && created == 0 && !l.again {
		switch {
		case m.Status == store.MailingCancelled:
			l.logEnd(ctx, m, "mailing cancelled")
			d.finish(ctx, h)
			return true
		case ended:
			return l.finishMailing(ctx, m, "The mailing reached its end.")
		case rescanned:
			return l.finishMailing(ctx, m, "Every message was sent, failed or expired.")
		}
	}
	l.save(ctx)
	return false
}

// The lead creates a chunk's worth of messages at a time, and checks its
// lease between chunks: creating a large mailing's messages takes a while,
// and a lead that lost its lease stops (another has taken over). Each
// chunk's creation is bounded well below store.ChunkSettle, after which an
// unfinished chunk is taken up as it is.
const (
	createBatch   = store.ChunkSize
	createTimeout = store.ChunkSettle / 3
)

// rescan creates messages for the recipients that have none yet.
func (l *lead) rescan(ctx context.Context, m *store.Mailing, now time.Time) (created, matched int, err error) {
	fresh, matched, err := l.newRecipients(ctx, m)
	if err != nil {
		return 0, 0, err
	}
	for start := 0; start < len(fresh); start += createBatch {
		if !l.h.validFor(l.d.clock.Now(), l.d.cfg.ClockSkew) {
			return created, matched, errLeadLost
		}
		n, err := l.create(ctx, m.ID, fresh[start:min(start+createBatch, len(fresh))], store.NewMessages{Status: store.MessagePending, Now: now})
		created += n
		l.prog.Total += n
		if err != nil {
			return created, matched, err
		}
	}
	at := now
	l.prog.Rescanned = &at
	l.again = created < len(fresh)
	return created, matched, nil
}

var errLeadLost = errors.New("the mailing's lead passed to another dispatcher")

func (l *lead) create(ctx context.Context, mailing store.ID, clients []store.ID, nm store.NewMessages) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, createTimeout)
	defer cancel()
	return l.d.store.CreateMessages(ctx, mailing, clients, nm)
}

func (l *lead) newRecipients(ctx context.Context, m *store.Mailing) (fresh []store.ID, matched int, err error) {
	ctx, cancel := l.d.bound(ctx)
	defer cancel()
	ids, err := l.d.store.RecipientIDs(ctx, m)
	if err != nil {
		return nil, 0, err
	}
	have, err := l.d.store.ClientsWithMessages(ctx, m.ID)
	if err != nil {
		return nil, 0, err
	}
	for _, id := range ids {
		if !have[id] {
			fresh = append(fresh, id)
		}
	}
	return fresh, len(ids), nil
}

// expireBatch is how many EXPIRED messages one bounded call creates (no
// chunk is involved, so batches can be large).
const expireBatch = 20 * store.ChunkSize

// endUnstarted closes a mailing whose end passed before it started: it
// sends nothing, and records an EXPIRED message per recipient so that its
// statistics say who did not get it.
func (l *lead) endUnstarted(ctx context.Context, m *store.Mailing, now time.Time) bool {
	d := l.d
	for range 3 { // ids may collide with a concurrent creation; try again
		fresh, _, err := l.newRecipients(ctx, m)
		if err != nil {
			d.logStoreError(ctx, "expire mailing", err, slog.String("mailing", m.ID.String()))
			return false
		}
		created := 0
		for start := 0; start < len(fresh); start += expireBatch {
			batch := fresh[start:min(start+expireBatch, len(fresh))]
			n, err := bounded(d, ctx, func(ctx context.Context) (int, error) {
				return d.store.CreateMessages(ctx, m.ID, batch, store.NewMessages{Status: store.MessageExpired, Reason: "The mailing ended before it started.", Now: now})
			})
			created += n
			if err != nil {
				d.logStoreError(ctx, "expire mailing", err, slog.String("mailing", m.ID.String()))
				return false
			}
		}
		if created == len(fresh) {
			break
		}
	}
	return l.finishMailing(ctx, m, "The mailing's end passed before it started; nothing was sent.")
}

// finishMailing marks the mailing FINISHED and ends the lead.
func (l *lead) finishMailing(ctx context.Context, m *store.Mailing, reason string) bool {
	d := l.d
	done, err := bounded(d, ctx, func(ctx context.Context) (*store.Mailing, error) {
		return d.store.MoveMailing(ctx, m.ID, store.MoveFinish, reason)
	})
	if err != nil {
		if !isConflict(err) {
			d.logStoreError(ctx, "finish mailing", err, slog.String("mailing", m.ID.String()))
		}
		return false // changed meanwhile: look again
	}
	l.logEnd(ctx, done, "mailing finished")
	d.finish(ctx, l.h)
	return true
}

// hurry makes the chunks of an ended or cancelled mailing due now, so
// that their messages are finalised without waiting for their retries.
func (l *lead) hurry(ctx context.Context, chunks []store.Work, now time.Time) {
	var ids []string
	for _, c := range chunks {
		if c.Ready && c.Due.After(now) && !l.d.holding(c.ID) {
			ids = append(ids, c.ID)
		}
	}
	ctx, cancel := l.d.bound(ctx)
	defer cancel()
	if err := l.d.store.MakeDue(ctx, ids, now); err != nil {
		l.d.logStoreError(ctx, "hurry chunks", err)
	}
}

// logProgress logs a line when a tenth of the mailing's messages more has
// become final since the last line (chunks report their open messages
// when released). The line names the highest tenth reached: a look that
// finds several tenths passed at once (a mailing of one message goes from
// none to all) logs one line for them, not a line each with the same
// counts in the same millisecond.
func (l *lead) logProgress(m *store.Mailing, chunks []store.Work, created int) {
	total := l.prog.Total
	if total == 0 {
		return
	}
	open := created
	for _, c := range chunks {
		open += c.Open
	}
	done := min(max(total-open, 0), total)
	if tenth := done * 10 / total; tenth > l.prog.Logged {
		l.d.log.Info("mailing progress", "mailing", m.ID.String(), "percent", tenth*10, "final", done, "messages", total)
		l.prog.Logged = tenth
	}
}

func (l *lead) logEnd(ctx context.Context, m *store.Mailing, msg string) {
	attrs := []any{"mailing", m.ID.String(), "status", string(m.Status), "reason", m.StatusReason}
	stats, err := bounded(l.d, ctx, func(ctx context.Context) (map[store.ID]*store.MailingStats, error) {
		return l.d.store.Stats(ctx, []store.ID{m.ID})
	})
	if err == nil {
		st := stats[m.ID]
		attrs = append(attrs, "messages", st.Total, "sent", st.Count(store.MessageSent),
			"failed", st.Count(store.MessageFailed), "expired", st.Count(store.MessageExpired))
	}
	l.d.log.Info(msg, attrs...)
}

// save records the progress for the next lead, when it changed.
func (l *lead) save(ctx context.Context) {
	if l.prog.Total == l.saved.Total && l.prog.Logged == l.saved.Logged && l.prog.Rescanned == l.saved.Rescanned {
		return
	}
	lease := l.h.current()
	ctx, cancel := l.d.bound(ctx)
	defer cancel()
	if err := l.d.store.SetMailingProgress(ctx, &lease, l.prog); err != nil {
		l.d.logStoreError(ctx, "record mailing progress", err, slog.String("mailing", l.h.work.MailingID.String()))
		return
	}
	l.saved = l.prog
}

// bounded runs one store call within the store timeout.
func bounded[T any](d *Dispatcher, ctx context.Context, call func(context.Context) (T, error)) (T, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return call(ctx)
}

func isConflict(err error) bool { return fault.CodeOf(err) == fault.Conflict }
