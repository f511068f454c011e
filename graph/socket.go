package graph

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/gatehouse/gatehouse/auth"
)

// A websocket lives for hours, but its caller is what its token says now:
// every operation started on it runs as the caller an HTTP request made at
// that moment would have (permissions lost since the socket opened are
// lost for it too), and a socket whose token is revoked, or whose user is
// deactivated, is closed with 4403 (graphql-ws's Forbidden), which ends
// its running subscriptions. The token is asked about when each operation
// starts (through the token cache, as an HTTP request is) and, whether or
// not the socket is busy, every check interval straight from the store.

// Ticks starts a ticker of period every, answering its channel and the
// function that stops it.
type Ticks func(every time.Duration) (ticks <-chan time.Time, stop func())

// SystemTicks is a time.Ticker.
func SystemTicks(every time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(every)
	return t.C, t.Stop
}

// start starts a ticker of period every: t's, or a time.Ticker when t is
// nil, as every Ticks option leaves it unless a test ticks by hand.
func (t Ticks) start(every time.Duration) (<-chan time.Time, func()) {
	if t == nil {
		return SystemTicks(every)
	}
	return t(every)
}

// closeForbidden is graphql-ws's close code for a client whose credentials
// are refused.
const closeForbidden = 4403

// socket is one websocket connection's access: the token it was
// authenticated with and the means to close it.
type socket struct {
	mu     sync.Mutex
	conn   transport.WebsocketConn
	digest string // "" for an anonymous socket, which has nothing to lose
	cancel context.CancelFunc
}

type socketKey struct{}

// withSocket gives an upgrade request a socket for its connection to fill.
func withSocket(ctx context.Context) context.Context {
	return context.WithValue(ctx, socketKey{}, &socket{})
}

// socketFrom is the websocket an operation runs on, nil over plain HTTP.
func socketFrom(ctx context.Context) *socket {
	s, _ := ctx.Value(socketKey{}).(*socket)
	return s
}

// accepted records the connection, so the socket can be closed.
func (s *socket) accepted(conn transport.WebsocketConn) {
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
}

func (s *socket) token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.digest
}

// watch starts watching the socket's token once connection_init has named
// its caller (nil: anonymous), checking it at every tick of a ticker of
// period every, and answers the context its operations run in: ending it
// ends them all.
func (s *socket) watch(ctx context.Context, a *auth.Authenticator, caller *auth.Caller, every time.Duration, ticks Ticks, logger *slog.Logger) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.cancel = cancel
	if caller != nil {
		s.digest = caller.TokenDigest
	}
	s.mu.Unlock()
	if a == nil || caller == nil || every <= 0 {
		return ctx
	}
	tick, stop := ticks.start(every)
	go func() {
		defer stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick:
				_, err := a.Refresh(ctx, caller.TokenDigest)
				s.refuse(ctx, err, logger)
			}
		}
	}()
	return ctx
}

// refuse closes the socket with 4403, and tells so, when err says its
// token no longer holds. A store that cannot answer closes nothing: the
// next operation is told the service is unavailable, as an HTTP request
// would be.
func (s *socket) refuse(ctx context.Context, err error, logger *slog.Logger) (refused bool) {
	message, refused := auth.Refused(err)
	switch {
	case refused:
		s.close(closeForbidden, message)
	case err != nil && ctx.Err() == nil:
		logger.WarnContext(ctx, "websocket token check failed", "request_id", middleware.GetReqID(ctx), "err", err)
	}
	return refused
}

// close closes the connection with code and reason, then ends every
// operation running on it (gqlgen's own close that follows writes nothing
// more: the first close frame is the one the client reads).
func (s *socket) close(code int, reason string) {
	s.mu.Lock()
	conn, cancel := s.conn, s.cancel
	s.mu.Unlock()
	if conn != nil {
		_ = conn.WriteClose(code, reason)
	}
	if cancel != nil {
		cancel()
	}
}

// socketAccess runs each operation started on a websocket as the caller
// its token names now; an operation of a socket whose token stopped
// holding is not run, and the socket is closed.
func socketAccess(a *auth.Authenticator, logger *slog.Logger) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		s := socketFrom(ctx)
		if a == nil || s == nil {
			return next(ctx)
		}
		digest := s.token()
		if digest == "" {
			return next(ctx)
		}
		caller, err := a.AuthenticateDigest(ctx, digest)
		if err != nil {
			if s.refuse(ctx, err, logger) {
				return graphql.OneShot(&graphql.Response{Errors: codedErrors(msgNotAuthenticated, CodeUnauthenticated)})
			}
			return graphql.OneShot(&graphql.Response{Errors: codedErrors(msgUnavailable, CodeUnavailable)})
		}
		return next(auth.WithCaller(ctx, caller))
	}
}
