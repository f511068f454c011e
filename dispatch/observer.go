package dispatch

import "github.com/gatehouse/gatehouse/store"

// Outcome is how one send attempt ended.
type Outcome string

const (
	// OutcomeSent: the receiver accepted the message.
	OutcomeSent Outcome = "sent"
	// OutcomeRetry: the send failed for a passing reason; the message is
	// tried again later.
	OutcomeRetry Outcome = "retry"
	// OutcomeFailed: the send failed for good (a permanent refusal, the
	// last attempt, or retries would pass the mailing's end).
	OutcomeFailed Outcome = "failed"
	// OutcomeAbandoned: the dispatcher stopped while the send was in
	// flight; whether it arrived is unknown, and the next holder of the
	// chunk sends it again under the same idempotency key.
	OutcomeAbandoned Outcome = "abandoned"
)

// Outcomes lists every outcome, for metrics that start each at zero.
var Outcomes = []Outcome{OutcomeSent, OutcomeRetry, OutcomeFailed, OutcomeAbandoned}

// Observer hears what a dispatcher does, for metrics. Its methods are
// called on the dispatcher's own goroutines and must return quickly.
type Observer interface {
	// SendAttempted: one send ended with outcome; retry tells that the
	// message had been attempted before.
	SendAttempted(outcome Outcome, retry bool)
	// WorkClaimed: the dispatcher won a work item of kind; takenOver
	// tells that it took the item from a dispatcher whose lease passed
	// (one that died or stalled).
	WorkClaimed(kind store.WorkKind, takenOver bool)
}

// noObserver is the Observer of a dispatcher that is not watched.
type noObserver struct{}

func (noObserver) SendAttempted(Outcome, bool)      {}
func (noObserver) WorkClaimed(store.WorkKind, bool) {}
