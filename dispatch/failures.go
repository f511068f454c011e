package dispatch

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// Auto-pause, as listmonk does it: a mailing whose sends keep failing
// (a receiver down, a wrong URL or token) is paused with a reason an
// operator can read, before its retries or its end use its messages up.
// The count is this dispatcher's: each dispatcher pauses on what it sees.

// sendSucceeded resets the mailing's run of failures.
func (d *Dispatcher) sendSucceeded(mailing store.ID) {
	d.mu.Lock()
	delete(d.failures, mailing)
	d.mu.Unlock()
}

// sendFailed counts a failure and pauses the mailing when the run reaches
// PauseAfter.
func (d *Dispatcher) sendFailed(ctx context.Context, mailing store.ID, reason string) {
	d.mu.Lock()
	d.failures[mailing]++
	n := d.failures[mailing]
	if n >= d.cfg.PauseAfter {
		delete(d.failures, mailing)
		if !slices.Contains(d.paused, mailing) {
			d.paused = append(d.paused, mailing)
		}
		d.pausedHere[mailing] = 0
	}
	d.mu.Unlock()
	if n < d.cfg.PauseAfter {
		return
	}
	why := fmt.Sprintf("Paused by the dispatcher after %d failed sends in a row; the last: %s. Fix the cause, then resume the mailing.", n, reason)
	ctx, cancel := d.bound(ctx)
	defer cancel()
	_, err := d.store.MoveMailing(ctx, mailing, store.MovePause, why)
	d.mu.Lock()
	d.pauses++
	d.pausedHere[mailing] = d.pauses
	d.mu.Unlock()
	switch {
	case err == nil:
		d.log.Warn("mailing paused after failures in a row", "mailing", mailing.String(), "failures", n, "last_error", reason)
	case fault.CodeOf(err) == fault.Conflict:
		// Paused, cancelled or finished meanwhile: nothing to do.
	default:
		d.logStoreError(ctx, "pause mailing", err)
	}
}
