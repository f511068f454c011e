package graph

import (
	"context"
	"errors"
	"github.com/99designs/gqlgen/graphql/errcode"
	"log/slog"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store"
)

// Error codes in extensions.code. SPA clients and the REST dialects branch
// on them; the messages are for people. Every code the gateway sends is
// one of these, and the README lists them all (a test checks both).
const (
	// Errors of an operation that ran.
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeNotFound        = "NOT_FOUND"
	CodeConflict        = "CONFLICT"
	CodeTooManyRequests = "TOO_MANY_REQUESTS"
	CodeUnavailable     = "UNAVAILABLE"
	CodeInternal        = "INTERNAL"

	// Errors of a request refused before it ran.
	CodeParseFailed             = errcode.ParseFailed
	CodeValidationFailed        = errcode.ValidationFailed
	CodeDepthLimitExceeded      = "DEPTH_LIMIT_EXCEEDED"
	CodeComplexityLimitExceeded = "COMPLEXITY_LIMIT_EXCEEDED"
	CodeBadRequest              = "BAD_REQUEST"
	CodeMethodNotAllowed        = "METHOD_NOT_ALLOWED"
	CodeNotAcceptable           = "NOT_ACCEPTABLE"
	CodeUnsupportedMediaType    = "UNSUPPORTED_MEDIA_TYPE"
	CodePayloadTooLarge         = "PAYLOAD_TOO_LARGE"
)

// Codes lists every error code, in the order of the README's table.
var Codes = []string{
	CodeBadUserInput, CodeUnauthenticated, CodeForbidden, CodeNotFound, CodeConflict,
	CodeTooManyRequests, CodeUnavailable, CodeInternal,
	CodeParseFailed, CodeValidationFailed, CodeDepthLimitExceeded, CodeComplexityLimitExceeded,
	CodeBadRequest, CodeMethodNotAllowed, CodeNotAcceptable, CodeUnsupportedMediaType, CodePayloadTooLarge,
}

// Messages as Django REST Framework words them, so that every surface says
// the same thing.
const (
	msgNotAuthenticated = "Authentication credentials were not provided."
	msgForbidden        = "You do not have permission to perform this action."
	msgNotFound         = "Not found."
	msgUnavailable      = "The service is unavailable. Try again shortly."
	msgInternal         = "internal error"
)

// Error is an error a resolver means the client to see, with its code.
type Error struct {
	Code    string
	Message string
	// Extensions are added to the error's extensions (retryAfter, …).
	Extensions map[string]any
}

func (e *Error) Error() string { return e.Message }

var (
	errUnauthenticated = &Error{Code: CodeUnauthenticated, Message: msgNotAuthenticated}
	errForbidden       = &Error{Code: CodeForbidden, Message: msgForbidden}
)

// forbidden is a denial that says what was missing.
func forbidden(reason string) *Error {
	return &Error{Code: CodeForbidden, Message: msgForbidden, Extensions: map[string]any{"reason": reason}}
}

// missingPermission is a denial naming the permission that would allow it.
func missingPermission(codename string) *Error {
	return &Error{Code: CodeForbidden, Message: msgForbidden, Extensions: map[string]any{"permission": codename}}
}

// throttledError tells a client how long to wait, as DRF's throttling does.
func throttledError(wait time.Duration) *Error {
	secs := int(wait.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &Error{
		Code:       CodeTooManyRequests,
		Message:    "Request was throttled. Expected available in " + strconv.Itoa(secs) + " seconds.",
		Extensions: map[string]any{"retryAfter": secs},
	}
}

// ErrorPresenter turns every resolver error into a client error with a code.
// Only errors that were meant for clients keep their message; anything else
// is logged with the request id and shown as "internal error", so no store
// text, URI or stack reaches a client.
func ErrorPresenter(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		// Errors raised by gqlgen itself (validation, parsing, coercion)
		// carry no cause and are already safe to show.
		cause := err
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			cause = ge.Err
		}
		if cause == nil {
			return withCode(gqlErr, gqlErr.Extensions, CodeBadUserInput)
		}
		// gqlgen hands on with a cause two errors that are the client's:
		// an argument that does not coerce (an ID that is not a number, a
		// time that does not parse), whose scalar's message is safe to show,
		// and the refusal of introspection when it is turned off.
		if argumentError(ctx, gqlErr) {
			return withCode(gqlErr, gqlErr.Extensions, CodeBadUserInput)
		}
		if introspectionRefused(ctx) {
			cause = forbidden("introspection is disabled")
		}
		present(ctx, logger, gqlErr, cause)
		return gqlErr
	}
}

func present(ctx context.Context, logger *slog.Logger, gqlErr *gqlerror.Error, cause error) {
	var (
		e        *Error
		ve       *store.ValidationError
		ae       *auth.Error
		conflict *store.ConflictError
		ext      = map[string]any{}
	)
	switch {
	case errors.As(cause, &e):
		gqlErr.Message = e.Message
		for k, v := range e.Extensions {
			ext[k] = v
		}
		ext["code"] = e.Code
	case errors.As(cause, &ve):
		gqlErr.Message = validationMessage(ve)
		ext["code"] = CodeBadUserInput
		ext["fields"] = ve.Fields
	case errors.As(cause, &conflict):
		gqlErr.Message = conflict.Message
		ext["code"] = CodeConflict
	case errors.Is(cause, store.ErrNotFound):
		gqlErr.Message = msgNotFound
		ext["code"] = CodeNotFound
	case errors.As(cause, &ae):
		gqlErr.Message = ae.Message
		ext["code"] = CodeUnauthenticated
	case errors.Is(cause, context.Canceled):
		// The client went away; nobody reads this answer.
		gqlErr.Message = "The request was cancelled."
		ext["code"] = CodeUnavailable
	case errors.Is(cause, store.ErrUnavailable), errors.Is(cause, context.DeadlineExceeded):
		logger.WarnContext(ctx, "store unavailable", "request_id", middleware.GetReqID(ctx), "path", gqlErr.Path.String(), "err", cause)
		gqlErr.Message = msgUnavailable
		ext["code"] = CodeUnavailable
	default:
		requestID := middleware.GetReqID(ctx)
		logger.ErrorContext(ctx, "internal error", "request_id", requestID, "path", gqlErr.Path.String(), "err", cause)
		gqlErr.Message = msgInternal
		ext["code"] = CodeInternal
		if requestID != "" {
			ext["requestId"] = requestID
		}
	}
	gqlErr.Extensions = ext
}

// argumentError reports an error raised while coercing the arguments of
// the field in ctx: gqlgen puts it on the argument's path (user.id,
// users.filter.dateJoined.gt), below the field's own, where a resolver's
// error sits.
func argumentError(ctx context.Context, e *gqlerror.Error) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Definition == nil {
		return false
	}
	field := fc.Path()
	if len(e.Path) <= len(field) {
		return false
	}
	for i := range field {
		if e.Path[i] != field[i] {
			return false
		}
	}
	name, ok := e.Path[len(field)].(ast.PathName)
	return ok && fc.Field.Definition.Arguments.ForName(string(name)) != nil
}

// introspectionRefused reports an error on __schema or __type while
// introspection is turned off.
func introspectionRefused(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	return fc != nil && (fc.Field.Name == "__schema" || fc.Field.Name == "__type") &&
		graphql.HasOperationContext(ctx) && graphql.GetOperationContext(ctx).DisableIntrospection
}

// withCode keeps gqlgen's own extensions and adds a code when none is set.
func withCode(e *gqlerror.Error, ext map[string]any, code string) *gqlerror.Error {
	if ext == nil {
		ext = map[string]any{}
	}
	if _, ok := ext["code"]; !ok {
		ext["code"] = code
	}
	e.Extensions = ext
	return e
}

// Recover turns a panic in a resolver into an internal error; the panic is
// logged with the request id and the process carries on.
func Recover(logger *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "panic in resolver", "request_id", middleware.GetReqID(ctx), "panic", p, "stack", string(debug.Stack()))
		return errPanic
	}
}

var errPanic = errors.New("resolver panicked")

// validationMessage sums up field errors in one line for people; clients
// that show errors next to fields read extensions.fields instead.
func validationMessage(ve *store.ValidationError) string {
	fields := make([]string, 0, len(ve.Fields))
	for f := range ve.Fields {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		msg := strings.Join(ve.Fields[f], " ")
		if f != store.NonFieldErrors {
			msg = f + ": " + msg
		}
		parts = append(parts, msg)
	}
	return strings.Join(parts, " ")
}
