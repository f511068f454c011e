package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// mailingFresh is how old the pass's copy of its mailing may get before a
// send: a pause, a cancel, a new text or end reach the next send this soon.
const mailingFresh = 250 * time.Millisecond

// waveSize is how many messages are marked SENDING in one write, just
// before their sends start.
const waveSize = 10

// runChunk works one claimed chunk: it finalises the messages of a mailing
// that ended or was cancelled, or sends those that are due; then it
// releases the chunk, due again when its next message is, or finishes it
// once every message is final.
func (d *Dispatcher) runChunk(stop, work context.Context, h *held) {
	w := h.work
	now := d.clock.Now()
	prep, cancel := d.bound(work)
	defer cancel()
	m, err := d.store.MailingByID(prep, w.MailingID)
	if errors.Is(err, store.ErrNotFound) {
		d.finish(work, h) // the mailing was deleted, and its messages with it
		return
	}
	if err != nil {
		d.logStoreError(work, "read mailing", err, slog.String("work", w.ID))
		d.release(work, h, store.WorkRelease{Due: now.Add(d.cfg.PollInterval), Open: w.Open})
		return
	}
	open, err := d.openMessages(prep, &w)
	if err != nil {
		d.logStoreError(work, "read messages", err, slog.String("work", w.ID))
		d.release(work, h, store.WorkRelease{Due: now.Add(d.cfg.PollInterval), Open: w.Open})
		return
	}
	p := &pass{d: d, h: h, stop: stop, work: work, m: m, readAt: now}
	switch {
	case m.Status == store.MailingCancelled:
		for _, msg := range open {
			p.final(msg, store.MessageExpired, "The mailing was cancelled before this message was sent.")
		}
	case m.Status.Final() || !now.Before(m.End):
		for _, msg := range open {
			p.ended(msg)
		}
	case m.Status != store.MailingRunning || now.Before(m.Start):
		// Paused (its chunks are not listed until it resumes) or moved to
		// start later.
		d.release(work, h, store.WorkRelease{Due: later(now, m.Start), Open: len(open)})
		return
	default:
		p.send(open)
	}
	p.close()
}

// openMessages reads the chunk's messages that are not final. A message
// that is missing (its client was deleted, or its insert was refused) or
// belongs to another chunk (its id collided) is not this chunk's to send.
func (d *Dispatcher) openMessages(ctx context.Context, w *store.Work) ([]store.Message, error) {
	msgs, err := d.store.MessagesByIDs(ctx, w.Messages)
	if err != nil {
		return nil, err
	}
	open := msgs[:0]
	for _, m := range msgs {
		if m.Chunk == w.ID && m.MailingID == w.MailingID && !m.Status.Final() {
			open = append(open, m)
		}
	}
	return open, nil
}

// pass is one holder's turn at a chunk.
type pass struct {
	d          *Dispatcher
	h          *held
	stop, work context.Context

	mu        sync.Mutex
	m         *store.Mailing // refreshed before sends
	readAt    time.Time
	clients   map[store.ID]*store.Client // the recipients of the messages sent
	results   []result                   // not yet recorded
	remaining int                        // messages still open after the pass
	nextDue   time.Time                  // the earliest of their due times
	unflushed bool                       // a flush failed: the chunk must not be finished
}

// result is a message's outcome; sent tells that it records a send that
// happened rather than a decision. Results are written only under a valid
// lease, except a send that succeeded: SENT is true whoever holds the
// chunk now, and keeps the message from being sent again.
type result struct {
	store.MessageResult
	sent bool
}

// keep notes a message that stays open, due at due.
func (p *pass) keep(due time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.remaining++
	if p.nextDue.IsZero() || due.Before(p.nextDue) {
		p.nextDue = due
	}
}

func (p *pass) add(r result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.results = append(p.results, r)
}

func (p *pass) final(msg store.Message, status store.MessageStatus, reason string) {
	p.add(result{MessageResult: store.MessageResult{ID: msg.ID, Status: status, Attempts: msg.Attempts, LastError: reason, NextAttempt: msg.NextAttempt}})
}

// ended finalises a message at its mailing's end: FAILED if it was tried,
// EXPIRED if it never was.
func (p *pass) ended(msg store.Message) {
	if msg.Attempts > 0 {
		p.final(msg, store.MessageFailed, fmt.Sprintf("Retries stopped at the mailing's end after %d attempts; the last error: %s", msg.Attempts, msg.LastError))
		return
	}
	p.final(msg, store.MessageExpired, "The mailing ended before this message could be sent.")
}

// unsent puts back a message this pass marked SENDING but did not send.
func (p *pass) unsent(msg store.Message, due time.Time) {
	p.add(result{MessageResult: store.MessageResult{ID: msg.ID, Status: store.MessagePending, Attempts: msg.Attempts, LastError: msg.LastError, NextAttempt: msg.NextAttempt}})
	p.keep(due)
}

// send sends the chunk's due messages to clients that still match, within
// their windows.
func (p *pass) send(open []store.Message) {
	d, now := p.d, p.d.clock.Now()
	ctx, cancel := d.bound(p.work)
	defer cancel()
	tags, codes, err := d.store.MailingTargets(ctx, p.m)
	if err == nil {
		var clients []store.Client
		if clients, err = d.store.ClientsByIDs(ctx, clientIDs(open)); err == nil {
			open = p.triage(open, clients, tags, codes, now)
		}
	}
	if err != nil {
		d.logStoreError(p.work, "read recipients", err, slog.String("mailing", p.m.ID.String()))
		for range open {
			p.keep(now.Add(d.cfg.PollInterval))
		}
		return
	}
	// Messages go out in waves: each is marked SENDING just before its
	// sends start, so SENDING means in flight (or, after a crash, maybe
	// delivered: the next holder sends those again, same id).
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for start := 0; start < len(open); start += waveSize {
		wave := open[start:min(start+waveSize, len(open))]
		if err := p.markSending(wave); err != nil {
			d.logStoreError(p.work, "mark messages sending", err, slog.String("mailing", p.m.ID.String()))
			for range open[start:] {
				p.keep(now.Add(d.cfg.PollInterval))
			}
			return
		}
		for i, msg := range wave {
			if !p.startSend(&inflight, msg) {
				for _, rest := range wave[i:] {
					p.unsent(rest, p.d.clock.Now())
				}
				for range open[start+len(wave):] {
					p.keep(p.d.clock.Now()) // never marked: nothing to put back
				}
				return
			}
		}
	}
}

// markSending marks the wave's messages SENDING (those a crashed holder
// left SENDING already are).
func (p *pass) markSending(wave []store.Message) error {
	var ids []store.ID
	for _, msg := range wave {
		if msg.Status != store.MessageSending {
			ids = append(ids, msg.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := p.d.bound(p.work)
	defer cancel()
	return p.d.store.MarkSending(ctx, ids)
}

// triage sorts the open messages: finalised (client gone or no longer
// matching), kept for later (a retry not yet due, the client's window
// closed), or returned to be sent now, with their clients.
func (p *pass) triage(open []store.Message, clients []store.Client, tags, codes []store.ID, now time.Time) []store.Message {
	byID := make(map[store.ID]*store.Client, len(clients))
	for i := range clients {
		byID[clients[i].ID] = &clients[i]
	}
	ready := open[:0]
	for _, msg := range open {
		c := byID[msg.ClientID]
		switch {
		case c == nil:
			p.final(msg, store.MessageExpired, "The client was deleted before this message was sent.")
		case !slices.Contains(tags, c.TagID) || !slices.Contains(codes, c.OperatorCodeID):
			p.final(msg, store.MessageExpired, "The client no longer matches the mailing's tags and operator codes.")
		case msg.NextAttempt.After(now):
			p.keep(msg.NextAttempt)
		default:
			if at := nextOpen(p.m.Window, now, p.d.zone(c.Timezone)); at.After(now) {
				p.keep(at)
				continue
			}
			ready = append(ready, msg)
		}
	}
	p.clients = byID
	return ready
}

// startSend waits for a send slot and the rate, checks that the send may
// still happen, and starts it. It returns false when the pass must stop
// sending (shutdown, pause, cancel, end, lease running out).
func (p *pass) startSend(inflight *sync.WaitGroup, msg store.Message) bool {
	d := p.d
	select {
	case d.sends <- struct{}{}:
	case <-p.stop.Done():
		return false
	}
	release, err := d.limiter.acquire(p.stop)
	if err != nil {
		<-d.sends
		return false
	}
	m, c, ok := p.check(msg)
	if !ok {
		release()
		<-d.sends
		return false
	}
	if c == nil { // the client's window closed meanwhile
		release()
		<-d.sends
		return true
	}
	inflight.Add(1)
	go func() {
		defer inflight.Done()
		err := d.sendOne(p.work, Message{ID: msg.ID, MailingID: m.ID, ClientID: c.ID, Phone: c.PhoneNumber, Text: m.Text})
		// A receiver's Retry-After holds every send, starting with the
		// next one to get these slots.
		if ra := RetryAfterOf(err); ra > 0 {
			d.limiter.holdUntil(d.clock.Now().Add(ra))
		}
		release()
		p.outcome(msg, m, err)
		// The result is in the store before the slot takes another send:
		// a dispatcher that dies leaves at most its sends in flight
		// unrecorded, which its successor sends again under the same ids.
		p.flush()
		<-d.sends
	}()
	return true
}

// check reads the mailing again if the pass's copy is stale, and tells
// whether msg may be sent now: ok false stops the pass; a nil client (with
// ok true) means the client's window has closed, and msg is kept.
func (p *pass) check(msg store.Message) (*store.Mailing, *store.Client, bool) {
	d, now := p.d, p.d.clock.Now()
	if p.stop.Err() != nil || !p.h.validFor(now, d.cfg.SendTimeout+d.cfg.ClockSkew) {
		return nil, nil, false
	}
	p.mu.Lock()
	m, stale := p.m, now.Sub(p.readAt) >= mailingFresh
	p.mu.Unlock()
	if stale {
		ctx, cancel := d.bound(p.work)
		fresh, err := d.store.MailingByID(ctx, m.ID)
		cancel()
		if err != nil {
			return nil, nil, false // deleted or unreachable: the next pass sorts it out
		}
		p.mu.Lock()
		p.m, p.readAt, m = fresh, now, fresh
		p.mu.Unlock()
	}
	if m.Status != store.MailingRunning || !m.Active(now) || d.isPaused(m.ID) {
		return nil, nil, false
	}
	c := p.clients[msg.ClientID]
	if at := nextOpen(m.Window, now, d.zone(c.Timezone)); at.After(now) {
		p.unsent(msg, at)
		return m, nil, true
	}
	return m, c, true
}

// sendOne calls the sender, bounded by the send timeout; a panicking
// sender fails the send instead of the process.
func (d *Dispatcher) sendOne(ctx context.Context, m Message) (err error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the sender panicked: %v", r)
		}
	}()
	return d.sender.Send(ctx, m)
}

// outcome turns a send's error into the message's next state.
func (p *pass) outcome(msg store.Message, m *store.Mailing, err error) {
	d, now := p.d, p.d.clock.Now()
	r := store.MessageResult{ID: msg.ID, Attempts: msg.Attempts + 1, NextAttempt: msg.NextAttempt}
	retry := msg.Attempts > 0
	if err == nil {
		d.cfg.Observer.SendAttempted(OutcomeSent, retry)
		d.sendSucceeded(m.ID)
		r.Status, r.SendDate = store.MessageSent, &now
		p.add(result{MessageResult: r, sent: true})
		return
	}
	if p.work.Err() != nil {
		// Abandoned at shutdown: whether it arrived is unknown, and nothing
		// more is written. The next holder sends it again, same id.
		d.cfg.Observer.SendAttempted(OutcomeAbandoned, retry)
		return
	}
	reason := err.Error()
	d.sendFailed(p.work, m.ID, reason)
	r.LastError = reason
	wait := d.cfg.Retry.Delay(r.Attempts, d.jitter)
	wait = max(wait, RetryAfterOf(err)) // at least what the receiver asked
	next := now.Add(wait)
	switch {
	case IsPermanent(err):
		r.Status = store.MessageFailed
	case r.Attempts >= d.cfg.Retry.MaxAttempts:
		r.Status, r.LastError = store.MessageFailed, fmt.Sprintf("Gave up after %d attempts; the last error: %s", r.Attempts, reason)
	case !next.Before(m.End):
		r.Status, r.LastError = store.MessageFailed, fmt.Sprintf("Retries stopped at the mailing's end after %d attempts; the last error: %s", r.Attempts, reason)
	default:
		r.Status, r.NextAttempt = store.MessagePending, next
		p.keep(next)
	}
	outcome := OutcomeFailed
	if r.Status == store.MessagePending {
		outcome = OutcomeRetry
	}
	d.cfg.Observer.SendAttempted(outcome, retry)
	p.add(result{MessageResult: r, sent: true})
}

// flush records the gathered results. Decisions are written only while
// the lease holds; outcomes of sends that happened are written anyway (a
// SENT message must not be sent again, whoever holds its chunk now).
func (p *pass) flush() {
	p.mu.Lock()
	batch := p.results
	p.results = nil
	p.mu.Unlock()
	valid := p.h.validFor(p.d.clock.Now(), p.d.cfg.ClockSkew)
	out := make([]store.MessageResult, 0, len(batch))
	for _, r := range batch {
		if valid || (r.sent && r.Status == store.MessageSent) {
			out = append(out, r.MessageResult)
		}
	}
	var err error
	for try := range 3 {
		ctx, cancel := p.d.bound(p.work)
		err = p.d.store.RecordResults(ctx, out)
		cancel()
		if err == nil || p.work.Err() != nil {
			break
		}
		select {
		case <-p.work.Done():
		case <-p.d.clock.After(time.Duration(try+1) * 100 * time.Millisecond):
		}
	}
	if err != nil {
		p.mu.Lock()
		p.unflushed = true
		p.mu.Unlock()
		p.d.logStoreError(p.work, "record message results", err, slog.Int("results", len(out)))
	}
}

// close records what is left and releases or finishes the chunk.
func (p *pass) close() {
	p.flush()
	d, now := p.d, p.d.clock.Now()
	p.mu.Lock()
	remaining, nextDue, unflushed, end := p.remaining, p.nextDue, p.unflushed, p.m.End
	p.mu.Unlock()
	switch {
	case p.h.isLost() || p.work.Err() != nil:
		// Someone else holds it now, or shutdown abandoned it: write nothing.
	case unflushed:
		d.release(p.work, p.h, store.WorkRelease{Due: now.Add(d.cfg.PollInterval), Open: max(remaining, 1)})
	case remaining == 0:
		d.finish(p.work, p.h)
	default:
		// Due no later than the mailing's end, when what is left is
		// finalised.
		d.release(p.work, p.h, store.WorkRelease{Due: earliest(nextDue, end), Open: remaining})
	}
}

func clientIDs(msgs []store.Message) []store.ID {
	ids := make([]store.ID, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ClientID
	}
	return ids
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
