package graph

import (
	"context"
	"errors"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store/fault"
)

// CallerOperations is how many operations of one caller (a user, or a
// client address when anonymous) do their work at once, on every surface
// together; the caller's next one waits its turn, and one still waiting
// when its request's deadline passes is answered UNAVAILABLE. One caller
// with many slow operations so holds two of the store's connections, not
// all of them, and everyone else's reads go on.
const CallerOperations = 2

// CallerTurns gives each caller's operations their turns. It holds state
// only while a caller has operations running or waiting, and only in this
// process: it bounds this process's connections and goroutines, which no
// other instance shares.
//
// A query or a mutation holds its turn while its response is worked out.
// A subscription holds one only while one of its resolvers runs: its
// setup (the first reads of mailingProgress) and the fields of an event
// that read the store (matchedClients, for one). Between events it holds
// none: an idle subscription costs the store nothing, and a caller's
// open subscriptions must not keep their own queries waiting.
type CallerTurns struct {
	perCaller int
	mu        sync.Mutex
	callers   map[callerID]*turns
}

// turns are one caller's: a place per operation that may run, and how
// many operations hold or wait for one (the entry goes when none does).
type turns struct {
	places chan struct{}
	users  int
}

// NewCallerTurns lets perCaller operations of each caller run at once.
func NewCallerTurns(perCaller int) *CallerTurns {
	return &CallerTurns{perCaller: max(perCaller, 1), callers: map[callerID]*turns{}}
}

// callerID names a caller: a user, or, for an anonymous one, the client
// address as every per-address limit keys it (auth.AddressKey: an IPv6
// client by its /64). The zero value is nobody to count (a Unix socket's
// client, which is the operator's).
type callerID struct {
	user int64
	addr string
}

func callerOf(ctx context.Context) callerID {
	if c := auth.CallerFrom(ctx); c != nil {
		return callerID{user: c.UserID}
	}
	if ip := auth.ClientIPFrom(ctx); ip.IsValid() {
		return callerID{addr: auth.AddressKey(ip)}
	}
	return callerID{}
}

// wait waits for the caller's turn, or for ctx to end, whichever comes
// first; release gives the turn back.
func (t *CallerTurns) wait(ctx context.Context) (release func(), err error) {
	id := callerOf(ctx)
	if id == (callerID{}) {
		return func() {}, nil
	}
	t.mu.Lock()
	c := t.callers[id]
	if c == nil {
		c = &turns{places: make(chan struct{}, t.perCaller)}
		t.callers[id] = c
	}
	c.users++
	t.mu.Unlock()
	leave := func() {
		t.mu.Lock()
		if c.users--; c.users == 0 {
			delete(t.callers, id)
		}
		t.mu.Unlock()
	}
	// Senders blocked on a channel are served in order: the caller's
	// operations run in the order they came.
	select {
	case c.places <- struct{}{}:
		var once sync.Once
		return func() {
			once.Do(func() {
				<-c.places
				leave()
			})
		}, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

// aroundResponses gives a query or a mutation its turn while its response
// is worked out.
func (t *CallerTurns) aroundResponses(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	// A response that holds errors before it starts is the answer to a
	// request refused before it ran (gqlgen's DispatchError): it has no
	// work to wait for, and a refusal must not queue behind the caller's
	// slow operations.
	if isSubscription(ctx) || len(graphql.GetErrors(ctx)) > 0 {
		return next(ctx)
	}
	release, err := t.wait(ctx)
	if err != nil {
		return &graphql.Response{Errors: gqlerror.List{waitedTooLong(err)}}
	}
	defer release()
	return next(ctx)
}

// aroundFields gives each resolver of a subscription its turn while it
// runs (see CallerTurns).
func (t *CallerTurns) aroundFields(ctx context.Context, next graphql.Resolver) (any, error) {
	if fc := graphql.GetFieldContext(ctx); fc == nil || !fc.IsResolver || !isSubscription(ctx) {
		return next(ctx)
	}
	release, err := t.wait(ctx)
	if err != nil {
		// The error presenter words it as it does any deadline.
		return nil, err
	}
	defer release()
	return next(ctx)
}

func isSubscription(ctx context.Context) bool {
	if !graphql.HasOperationContext(ctx) {
		return false
	}
	op := graphql.GetOperationContext(ctx).Operation
	return op != nil && op.Operation == ast.Subscription
}

// waitedTooLong is the error of an operation whose request ended while it
// waited for its turn: UNAVAILABLE, as when the store does not answer in
// time. The store was never asked, so nothing is logged.
func waitedTooLong(err error) *gqlerror.Error {
	message := msgUnavailable
	if errors.Is(err, context.Canceled) {
		message = msgCancelled
	}
	return &gqlerror.Error{
		Message:    message,
		Extensions: map[string]any{"code": CodeUnavailable},
		Err:        fault.Wrap(fault.Unavailable, message, err),
	}
}
