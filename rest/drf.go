package rest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strconv"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/graph"
)

// What Django REST Framework 3.14 answers, word for word: the Django
// dialects (accounts, v1users, usermgmt) all answer this way, and legacy
// clients match on these bodies.
const (
	drfNotAuthenticated = "Authentication credentials were not provided."
	drfForbidden        = "You do not have permission to perform this action."
	drfNotFound         = "Not found."
	drfServerError      = "A server error occurred."
	drfTooLarge         = "Request body is too large."
	drfUnavailable      = "The service is unavailable. Try again shortly."
	drfRequired         = "This field is required."
	drfNonFieldErrors   = "non_field_errors"
)

// answer is a complete response: what a step that fails before any
// GraphQL error exists (a body that is not JSON, a method the path lacks)
// answers, and what GraphQL errors become.
type answer struct {
	status int
	body   any
	header http.Header
}

func (a *answer) Error() string { return "rest: answer " + strconv.Itoa(a.status) }

func detail(status int, message string) *answer {
	return &answer{status: status, body: object{}.set("detail", message)}
}

// methodNotAllowed is DRF's 405; the Allow header goes on every answer.
func methodNotAllowed(method string) *answer {
	return detail(http.StatusMethodNotAllowed, `Method "`+method+`" not allowed.`)
}

func notAuthenticated(message string) *answer {
	a := detail(http.StatusUnauthorized, message)
	a.header = http.Header{"Www-Authenticate": {auth.WWWAuthenticate}}
	return a
}

// notFound is also what the binders answer for an id that cannot name a
// user ("abc"), as Django's URL lookup does.
var errNotFound = &gqlerror.Error{Message: drfNotFound, Extensions: map[string]any{"code": graph.CodeNotFound}}

// fieldErrors collects DRF's field errors, {"field": ["message", …]}, as a
// GraphQL input error, so that binders and resolvers fail alike.
type fieldErrors map[string][]string

func (f fieldErrors) add(field, message string) { f[field] = append(f[field], message) }

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &gqlerror.Error{Message: "invalid input", Extensions: map[string]any{
		"code":   graph.CodeBadUserInput,
		"fields": map[string][]string(f),
	}}
}

// drfErrorAnswer maps the GraphQL error of a failed operation to DRF's
// status and body. fieldOrder is the serializer's field order, which DRF
// keeps in its error bodies.
func drfErrorAnswer(ctx context.Context, logger *slog.Logger, err *gqlerror.Error, fieldOrder []string) *answer {
	code, _ := err.Extensions["code"].(string)
	switch code {
	case graph.CodeUnauthenticated:
		msg := err.Message
		if msg == "" {
			msg = drfNotAuthenticated
		}
		return notAuthenticated(msg)
	case graph.CodeForbidden:
		return detail(http.StatusForbidden, drfForbidden)
	case graph.CodeNotFound:
		return detail(http.StatusNotFound, drfNotFound)
	case graph.CodeBadUserInput, graph.CodeConflict:
		if fields := fieldsOf(err.Extensions["fields"]); len(fields) > 0 {
			return &answer{status: http.StatusBadRequest, body: orderedFieldErrors(fields, fieldOrder)}
		}
		return &answer{status: http.StatusBadRequest, body: object{}.set(drfNonFieldErrors, []string{err.Message})}
	case graph.CodeTooManyRequests:
		a := detail(http.StatusTooManyRequests, err.Message)
		if secs, ok := err.Extensions["retryAfter"].(int); ok {
			a.header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
		}
		return a
	case graph.CodeUnavailable:
		return detail(http.StatusServiceUnavailable, drfUnavailable)
	}
	// Validation and coercion errors of an operation the route built are
	// the route's fault, not the client's; the presenter has logged any
	// internal error with its cause.
	logger.ErrorContext(ctx, "rest: operation failed", "request_id", middleware.GetReqID(ctx), "code", code, "message", err.Message)
	return detail(http.StatusInternalServerError, drfServerError)
}

// fieldsOf reads extensions.fields, as the error presenter (a Go map) or a
// binder puts it.
func fieldsOf(v any) map[string][]string {
	switch f := v.(type) {
	case map[string][]string:
		return f
	case fieldErrors:
		return f
	case map[string]any:
		out := make(map[string][]string, len(f))
		for k, msgs := range f {
			list, _ := msgs.([]any)
			for _, m := range list {
				if s, ok := m.(string); ok {
					out[k] = append(out[k], s)
				}
			}
		}
		return out
	}
	return nil
}

// orderedFieldErrors writes field errors in the serializer's field order,
// then any other keys sorted, then non_field_errors.
func orderedFieldErrors(fields map[string][]string, order []string) object {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if k == drfNonFieldErrors {
			return len(order) + 1
		}
		if i := slices.Index(order, k); i >= 0 {
			return i
		}
		return len(order)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	body := make(object, 0, len(keys))
	for _, k := range keys {
		body = body.set(k, fields[k])
	}
	return body
}

// writeAnswer writes a DRF answer: JSON (no body for 204 or HEAD), the
// view's Allow header as DRF sends on every answer, and the answer's own
// headers (a dialect's own Content-Type among them).
func writeAnswer(w http.ResponseWriter, r *http.Request, allow string, a *answer) {
	h := w.Header()
	for k, vs := range a.header {
		h[k] = vs
	}
	if allow != "" {
		h.Set("Allow", allow)
	}
	if a.status == http.StatusNoContent || a.body == nil {
		w.WriteHeader(a.status)
		return
	}
	b, err := marshalNoEscape(a.body)
	if err != nil {
		a, b = detail(http.StatusInternalServerError, drfServerError), []byte(`{"detail":"`+drfServerError+`"}`)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(a.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// authErrorAnswer is the answer to a request whose Authorization header
// the authenticator refused: DRF's 401 with its message, or, when the token
// could not be checked because the store failed, 503.
func authErrorAnswer(ctx context.Context, logger *slog.Logger, err error) *answer {
	if ae, ok := errors.AsType[*auth.Error](err); ok {
		return notAuthenticated(ae.Message)
	}
	logger.WarnContext(ctx, "rest: token check failed", "request_id", middleware.GetReqID(ctx), "err", err)
	return detail(http.StatusServiceUnavailable, drfUnavailable)
}

// peerAddr is the address of the connection's other end.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
