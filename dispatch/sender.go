// Package dispatch sends mailings: a Dispatcher claims due work from the
// store (chunks of messages, and the lead of each running mailing), sends
// each message through a Sender, and records the outcome. Any number of
// dispatchers may share one database; a message is sent by one at a time,
// and again only if its sender died before recording the result (under the
// same id, which receivers use as an idempotency key).
package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// Message is what a Sender delivers.
type Message struct {
	// ID is the message's id, unique and stable across retries: receivers
	// use it as the idempotency key.
	ID        store.ID
	MailingID store.ID
	ClientID  store.ID
	// Phone is 7 and ten digits.
	Phone string
	Text  string
}

// Sender delivers one message. It returns nil once the receiver has
// accepted the message. An error is retried later unless it is permanent
// (see Permanent); RetryAfter asks for a pause first. Send must honour ctx.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SendError classifies a failed send.
type SendError struct {
	Err error
	// Permanent failures are not retried: the message becomes FAILED.
	Permanent bool
	// RetryAfter, when positive, is the least time to wait before sending
	// again (the receiver's Retry-After): the dispatcher holds all its sends
	// that long, and retries this message no sooner.
	RetryAfter time.Duration
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &SendError{Err: err, Permanent: true} }

// RetryAfter marks err as retryable no sooner than after d.
func RetryAfter(err error, d time.Duration) error { return &SendError{Err: err, RetryAfter: d} }

// IsPermanent tells whether err says not to retry.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// RetryAfterOf returns the wait err asks for, or zero.
func RetryAfterOf(err error) time.Duration {
	var se *SendError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// sendFunc adapts a function to Sender (the benchmark's no-op sender).
type sendFunc func(ctx context.Context, m Message) error

func (f sendFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// SenderFunc returns a Sender that calls f.
func SenderFunc(f func(ctx context.Context, m Message) error) Sender { return sendFunc(f) }

var _ Sender = sendFunc(nil)
