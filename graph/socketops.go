package graph

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Every operation a websocket runs holds goroutines and memory for as long
// as it runs, a subscription for as long as the client likes: without a
// bound, one socket sending subscribe after subscribe holds as many as it
// sends. So a socket runs at most WebsocketOperations operations at once,
// and one caller twice as many across all their sockets (an anonymous
// caller is its client address). Past either bound the subscribe is
// answered with an error message for its id, TOO_MANY_REQUESTS, before
// anything of it starts; the socket stays open, and an operation that ends
// (completes, fails, is completed by the client, or goes with its socket)
// frees its place.
//
// The counts are this process's own: they bound its goroutines and memory,
// which no other instance shares.

// DefaultWebsocketOperations is how many operations one websocket runs at
// once unless configured otherwise.
const DefaultWebsocketOperations = 50

// callerSocketsFactor is how many sockets' worth of operations one caller
// runs at once across all their sockets.
const callerSocketsFactor = 2

func init() {
	// gqlgen answers an operation refused before it runs with the
	// protocol's error message when its code is of the protocol's kind,
	// with a next message holding the errors otherwise. A websocket
	// operation past its bound is refused so, as graphql-transport-ws
	// expects of an operation that will not run.
	errcode.RegisterErrorType(CodeTooManyRequests, errcode.KindProtocol)
}

// websocketOperations counts the operations of every websocket and of
// every caller on them. It admits each operation as gqlgen creates it, and
// lets it go when it ends.
type websocketOperations struct {
	perSocket, perCaller int
	// timeout bounds each query and mutation, as the request timeout
	// bounds an HTTP request; 0 leaves them unbounded.
	timeout time.Duration

	mu      sync.Mutex
	sockets map[*socket]int
	callers map[callerID]int
	// admitted are the operations counted that have not started yet.
	admitted map[*graphql.OperationContext]*socketOperation
}

var (
	_ graphql.HandlerExtension        = (*websocketOperations)(nil)
	_ graphql.OperationContextMutator = (*websocketOperations)(nil)
	_ graphql.OperationInterceptor    = (*websocketOperations)(nil)
)

func newWebsocketOperations(perSocket int, timeout time.Duration) *websocketOperations {
	perSocket = max(perSocket, 1)
	return &websocketOperations{
		perSocket: perSocket,
		perCaller: callerSocketsFactor * perSocket,
		timeout:   timeout,
		sockets:   map[*socket]int{},
		callers:   map[callerID]int{},
		admitted:  map[*graphql.OperationContext]*socketOperation{},
	}
}

func (*websocketOperations) ExtensionName() string { return "WebsocketOperations" }

func (*websocketOperations) Validate(graphql.ExecutableSchema) error { return nil }

// socketOperation is one operation's place in the counts.
type socketOperation struct {
	w      *websocketOperations
	s      *socket
	caller callerID
	oc     *graphql.OperationContext
	once   sync.Once
	// stops undo what would end the operation: the socket's end, the
	// operation's own, its timeout.
	mu    sync.Mutex
	stops []func()
	ended bool
}

// MutateOperationContext implements graphql.OperationContextMutator: it
// admits an operation of a websocket, or refuses it. It must be the last
// mutator, so that an operation it admits is one gqlgen goes on to run.
func (w *websocketOperations) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	s := socketFrom(ctx)
	if s == nil {
		return nil
	}
	caller := callerOf(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.sockets[s] >= w.perSocket:
		return tooManyOperations("This websocket already runs %s, the most one may run at once; complete one before starting another.", w.perSocket)
	case caller.user != 0 && w.callers[caller] >= w.perCaller:
		return tooManyOperations("You already run %s on your websockets, the most one user may run at once; complete one before starting another.", w.perCaller)
	case caller.addr != "" && w.callers[caller] >= w.perCaller:
		return tooManyOperations("This address already runs %s on its websockets, the most one may run at once; complete one before starting another.", w.perCaller)
	}
	w.sockets[s]++
	if caller != (callerID{}) {
		w.callers[caller]++
	}
	op := &socketOperation{w: w, s: s, caller: caller, oc: oc}
	w.admitted[oc] = op
	// ctx is the socket's: should the operation never start, it is let go
	// when the socket closes.
	op.onEnd(ctx)
	return nil
}

// tooManyOperations is the refusal of an operation past a bound of n,
// which format names.
func tooManyOperations(format string, n int) *gqlerror.Error {
	count := fmt.Sprintf("%d operations", n)
	if n == 1 {
		count = "1 operation"
	}
	return limitError(CodeTooManyRequests, format, count)
}

// InterceptOperation implements graphql.OperationInterceptor: it starts an
// admitted operation, with its deadline if it is a query or a mutation,
// and lets it go once it has sent its last response or its context ends
// (gqlgen ends it when the operation is over, and when its socket closes).
func (w *websocketOperations) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if socketFrom(ctx) == nil || !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	w.mu.Lock()
	op := w.admitted[oc]
	delete(w.admitted, oc)
	w.mu.Unlock()
	if op == nil {
		return next(ctx)
	}
	if w.timeout > 0 && oc.Operation != nil && oc.Operation.Operation != ast.Subscription {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.timeout)
		op.also(cancel)
	}
	op.onEnd(ctx)
	responses := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		resp := responses(ctx)
		if resp == nil {
			op.end()
		}
		return resp
	}
}

// onEnd ends the operation when ctx does.
func (o *socketOperation) onEnd(ctx context.Context) {
	stop := context.AfterFunc(ctx, o.end)
	o.also(func() { stop() })
}

// also runs f when the operation ends, at once if it has.
func (o *socketOperation) also(f func()) {
	o.mu.Lock()
	ended := o.ended
	if !ended {
		o.stops = append(o.stops, f)
	}
	o.mu.Unlock()
	if ended {
		f()
	}
}

// end frees the operation's place, once.
func (o *socketOperation) end() {
	o.once.Do(func() {
		o.mu.Lock()
		stops := o.stops
		o.stops, o.ended = nil, true
		o.mu.Unlock()
		for _, stop := range stops {
			stop()
		}
		w := o.w
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.admitted, o.oc)
		if w.sockets[o.s]--; w.sockets[o.s] <= 0 {
			delete(w.sockets, o.s)
		}
		if o.caller != (callerID{}) {
			if w.callers[o.caller]--; w.callers[o.caller] <= 0 {
				delete(w.callers, o.caller)
			}
		}
	})
}
