package rest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/graph"
	"github.com/gatehouse/gatehouse/store/fault"
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
	drfNonFieldErrors   = fault.NonField
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

// errNotFound is what the binders answer for an id that cannot name a
// user ("abc"), as Django's URL lookup does; it is the store's not-found.
var errNotFound = fault.New(fault.NotFound, drfNotFound)

// faultOf reads the failure of a step or an operation: the *fault.Error it
// holds (the GraphQL error presenter leaves one in every client error), or
// an internal one.
func faultOf(err error) *fault.Error {
	if f, ok := fault.As(err); ok {
		return f
	}
	return fault.Wrap(fault.Internal, "", err)
}

// drfErrorAnswer maps a failure to DRF's status and body: the one place
// the Django dialects translate the gateway's error. fieldOrder is the
// serializer's field order, which DRF keeps in its error bodies.
func drfErrorAnswer(ctx context.Context, logger *slog.Logger, f *fault.Error, fieldOrder []string) *answer {
	switch f.Code {
	case fault.Unauthenticated:
		msg := f.Message
		if msg == "" {
			msg = drfNotAuthenticated
		}
		return notAuthenticated(msg)
	case fault.Forbidden:
		return detail(http.StatusForbidden, drfForbidden)
	case fault.NotFound:
		return detail(http.StatusNotFound, drfNotFound)
	case fault.Invalid, fault.Conflict:
		if len(f.Fields) > 0 {
			return &answer{status: http.StatusBadRequest, body: orderedFieldErrors(f.Fields, fieldOrder)}
		}
		return &answer{status: http.StatusBadRequest, body: object{}.set(drfNonFieldErrors, []string{f.Message})}
	case fault.Throttled:
		a := detail(http.StatusTooManyRequests, f.Message)
		if f.RetryAfter > 0 {
			a.header = http.Header{"Retry-After": {strconv.Itoa(f.RetryAfter)}}
		}
		return a
	case fault.Unavailable:
		return detail(http.StatusServiceUnavailable, drfUnavailable)
	}
	// An operation the route built that fails validation is the route's
	// fault, not the client's; the presenter has logged any internal error
	// of a resolver with its cause.
	logger.ErrorContext(ctx, "rest: route failed", "request_id", middleware.GetReqID(ctx), "message", f.Message, "err", f.Err)
	if errors.Is(f, graph.ErrResponseTooLarge) {
		// A route's answer is a page of bounded size that the client
		// cannot ask to be smaller in fields, so an answer past the
		// response limit is the service's to fix: 500, saying which limit.
		return detail(http.StatusInternalServerError, f.Message)
	}
	return detail(http.StatusInternalServerError, drfServerError)
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
	if message, refused := auth.Refused(err); refused {
		return notAuthenticated(message)
	}
	logger.WarnContext(ctx, "rest: token check failed", "request_id", middleware.GetReqID(ctx), "err", err)
	return detail(http.StatusServiceUnavailable, drfUnavailable)
}
