package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/graph"
)

// requestIDPattern is what a proxy's X-Request-Id must look like to be
// kept: short, and safe to echo in a header and a log line.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestID gives every request an id: a trusted proxy's X-Request-Id when it
// sends a valid one, otherwise a new one. It is echoed in the response and
// kept in the context, where the logs and the error presenter find it.
func requestID(proxies auth.TrustedProxies) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get("X-Request-Id")
			if id == "" || !requestIDPattern.MatchString(id) || !proxies.TrustsPeer(r) {
				id = newRequestID()
			}
			w.Header().Set("X-Request-Id", id)
			ctx := context.WithValue(r.Context(), middleware.RequestIDKey, id)
			if trace, ok := traceID(r.Header.Get("Traceparent")); ok {
				ctx = context.WithValue(ctx, traceIDKey{}, trace)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

type traceIDKey struct{}

// traceparentPattern is a W3C Trace Context traceparent header:
// version-traceid-parentid-flags, lower-case hex.
var traceparentPattern = regexp.MustCompile(`^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

// traceID reads the trace id of a traceparent header, so a request's log
// line can be joined to the caller's trace. All-zero ids and version ff
// are invalid, as the specification says.
func traceID(header string) (string, bool) {
	m := traceparentPattern.FindStringSubmatch(strings.TrimSpace(header))
	if m == nil || m[1] == "ff" || m[2] == strings.Repeat("0", 32) || m[3] == strings.Repeat("0", 16) {
		return "", false
	}
	return m[2], true
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// accessLog writes one line per request: method, path (never the query
// string, which may carry secrets), status, duration, bytes and request id.
func accessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
				slog.Int("bytes", ww.BytesWritten()),
				slog.String("request_id", middleware.GetReqID(r.Context())),
			}
			if trace, ok := r.Context().Value(traceIDKey{}).(string); ok {
				attrs = append(attrs, slog.String("trace_id", trace))
			}
			logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		})
	}
}

// recoverer turns a panic outside GraphQL's own recovery into a 500 that
// says nothing but "internal error", logs it with the request id, and keeps
// the process alive.
func recoverer(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.ErrorContext(r.Context(), "panic", "request_id", middleware.GetReqID(r.Context()), "panic", p)
				writeGraphQLError(w, http.StatusInternalServerError, "internal error", graph.CodeInternal)
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// timeout bounds every request's work, store calls included. Websocket
// handshakes are exempt: a subscription lives as long as its client. A
// request that only carries the Upgrade header is not one (a handshake is a
// GET), and keeps its bound.
func timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isWebsocketHandshake(r) {
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// isWebsocketHandshake tells a request asking to become a websocket. The
// server's read and write deadlines stay on it until the handshake has
// succeeded (the GraphQL server lifts them then).
func isWebsocketHandshake(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// websocketSlots caps the websockets one client address (an IPv6 one by
// its /64, see auth.AddressKey) holds open at once: each holds a
// connection, goroutines and, for a subscription, store reads, for as long
// as the client likes. Past the cap the handshake is refused with 429. A
// socket's place is freed when its handler returns, which is when the
// socket closes.
func websocketSlots(perClient int) func(http.Handler) http.Handler {
	var (
		mu   sync.Mutex
		open = map[string]int{}
	)
	release := func(client string) {
		mu.Lock()
		defer mu.Unlock()
		if open[client]--; open[client] <= 0 {
			delete(open, client)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := auth.ClientIPFrom(r.Context())
			// Without an address (a Unix socket) every client would share
			// one cap: those sockets are the operator's, and go uncounted.
			if !isWebsocketHandshake(r) || !ip.IsValid() {
				next.ServeHTTP(w, r)
				return
			}
			client := auth.AddressKey(ip)
			mu.Lock()
			full := open[client] >= perClient
			if !full {
				open[client]++
			}
			mu.Unlock()
			if full {
				w.Header().Set("Retry-After", "60")
				writeGraphQLError(w, http.StatusTooManyRequests,
					"This address has too many websockets open; close one first.", graph.CodeTooManyRequests)
				return
			}
			defer release(client)
			next.ServeHTTP(w, r)
		})
	}
}

// graphQLBody guards the GraphQL POST transport, which reads bodies without
// a limit: it refuses bodies over the limit (413) before they are read whole,
// media types other than application/json in UTF-8 (415, with Accept naming
// the one it takes), and JSON that does not parse (400, with a message that
// quotes nothing).
func graphQLBody(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				next.ServeHTTP(w, r)
				return
			}
			if !isJSON(r.Header.Get("Content-Type")) {
				w.Header().Set("Accept", "application/json")
				writeGraphQLError(w, http.StatusUnsupportedMediaType, "Send the request as application/json (UTF-8).", graph.CodeUnsupportedMediaType)
				return
			}
			if r.ContentLength > limit {
				writeGraphQLError(w, http.StatusRequestEntityTooLarge, "The request body is too large.", graph.CodePayloadTooLarge)
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				writeGraphQLError(w, http.StatusRequestEntityTooLarge, "The request body is too large.", graph.CodePayloadTooLarge)
				return
			case err != nil:
				writeGraphQLError(w, http.StatusBadRequest, "The request body could not be read.", graph.CodeBadRequest)
				return
			case !json.Valid(body):
				writeGraphQLError(w, http.StatusBadRequest, "The request body is not valid JSON.", graph.CodeBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			next.ServeHTTP(w, r)
		})
	}
}

// isJSON reports whether a request's Content-Type is the one request media
// type of GraphQL over HTTP, application/json, in UTF-8: no charset means
// UTF-8 (the spec says so), any other charset is refused rather than misread.
// application/graphql-response+json is a response media type, and the
// CORS-safelisted types (text/plain, forms) are refused so that a browser
// cannot send a GraphQL request cross-origin without a preflight.
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	charset, ok := params["charset"]
	return !ok || strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "utf8")
}

// writeGraphQLError answers in the shape of a GraphQL response, so GraphQL
// clients can read every failure the same way.
func writeGraphQLError(w http.ResponseWriter, status int, message, code string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": message, "extensions": map[string]any{"code": code}}},
	})
}

// graphQLAuthError answers a request whose token is bad, as DRF does for its
// clients (401, WWW-Authenticate: Token), in GraphQL's error shape.
func graphQLAuthError(logger *slog.Logger) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if message, refused := auth.Refused(err); refused {
			w.Header().Set("WWW-Authenticate", auth.WWWAuthenticate)
			writeGraphQLError(w, http.StatusUnauthorized, message, graph.CodeUnauthenticated)
			return
		}
		logger.WarnContext(r.Context(), "token check failed", "request_id", middleware.GetReqID(r.Context()), "err", err)
		writeGraphQLError(w, http.StatusServiceUnavailable, "The service is unavailable. Try again shortly.", graph.CodeUnavailable)
	}
}
