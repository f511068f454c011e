package graph

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gatehouse/gatehouse/store/fault"
)

// Error codes in extensions.code, which SPA clients branch on; the
// messages are for people. Every code the gateway sends is one of these,
// and the README lists them all (a test checks both).
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
	CodeVariablesLimitExceeded  = "VARIABLES_LIMIT_EXCEEDED"
	CodePersistedQueryNotFound  = "PERSISTED_QUERY_NOT_FOUND"
	CodeOperationNotTrusted     = "OPERATION_NOT_TRUSTED"
	CodeBadRequest              = "BAD_REQUEST"
	CodeMethodNotAllowed        = "METHOD_NOT_ALLOWED"
	CodeNotAcceptable           = "NOT_ACCEPTABLE"
	CodeUnsupportedMediaType    = "UNSUPPORTED_MEDIA_TYPE"
	CodePayloadTooLarge         = "PAYLOAD_TOO_LARGE"

	// The error of an operation that ran, whose response was too large to
	// send.
	CodeResponseTooLarge = "RESPONSE_TOO_LARGE"
)

// Codes lists every error code, in the order of the README's table.
var Codes = []string{
	CodeBadUserInput, CodeUnauthenticated, CodeForbidden, CodeNotFound, CodeConflict,
	CodeTooManyRequests, CodeUnavailable, CodeInternal,
	CodeParseFailed, CodeValidationFailed, CodeDepthLimitExceeded, CodeComplexityLimitExceeded,
	CodePersistedQueryNotFound, CodeOperationNotTrusted, CodeVariablesLimitExceeded,
	CodeBadRequest, CodeMethodNotAllowed, CodeNotAcceptable, CodeUnsupportedMediaType, CodePayloadTooLarge,
	CodeResponseTooLarge,
}

// Messages as Django REST Framework words them, so that every surface says
// the same thing.
const (
	msgNotAuthenticated = "Authentication credentials were not provided."
	msgForbidden        = "You do not have permission to perform this action."
	msgUnavailable      = "The service is unavailable. Try again shortly."
	msgInternal         = "internal error"
	msgCancelled        = "The request was cancelled."
)

// codes maps each kind of failure to the code GraphQL clients see: the
// one place the GraphQL edge translates the gateway's error.
var codes = map[fault.Code]string{
	fault.Invalid:         CodeBadUserInput,
	fault.Unauthenticated: CodeUnauthenticated,
	fault.Forbidden:       CodeForbidden,
	fault.NotFound:        CodeNotFound,
	fault.Conflict:        CodeConflict,
	fault.Throttled:       CodeTooManyRequests,
	fault.Unavailable:     CodeUnavailable,
	fault.Internal:        CodeInternal,
}

var (
	errUnauthenticated = fault.New(fault.Unauthenticated, msgNotAuthenticated)
	errForbidden       = fault.New(fault.Forbidden, msgForbidden)
)

// forbidden is a denial that says what was missing.
func forbidden(reason string) *fault.Error {
	return &fault.Error{Code: fault.Forbidden, Message: msgForbidden, Details: map[string]any{"reason": reason}}
}

// missingPermission is a denial naming the permission that would allow it.
func missingPermission(codename string) *fault.Error {
	return &fault.Error{Code: fault.Forbidden, Message: msgForbidden, Details: map[string]any{"permission": codename}}
}

// throttledError tells a client how long to wait, as DRF's throttling does.
func throttledError(wait time.Duration) *fault.Error {
	secs := max(int(wait.Round(time.Second)/time.Second), 1)
	return &fault.Error{
		Code:       fault.Throttled,
		Message:    "Request was throttled. Expected available in " + strconv.Itoa(secs) + " seconds.",
		RetryAfter: secs,
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
			return withCode(gqlErr, CodeBadUserInput)
		}
		// gqlgen hands on with a cause two errors that are the client's:
		// an argument that does not coerce (an ID that is not a number, a
		// time that does not parse), whose scalar's message is safe to show,
		// and the refusal of introspection when it is turned off.
		if argumentError(ctx, gqlErr) {
			return withCode(gqlErr, CodeBadUserInput)
		}
		if introspectionRefused(ctx) {
			cause = introspectionRefusal(ctx)
		}
		present(ctx, logger, gqlErr, cause)
		return gqlErr
	}
}

// present writes a resolver's error as clients see it, and leaves the
// *fault.Error it was read as in gqlErr.Err, so that in-process callers
// (the REST dialects) map the same value without reading extensions back.
func present(ctx context.Context, logger *slog.Logger, gqlErr *gqlerror.Error, cause error) {
	f := classify(cause)
	message := f.Message
	switch {
	case f.Code == fault.Invalid && len(f.Fields) > 0:
		// One line for people; clients that show errors next to fields
		// read extensions.fields instead.
		message = fault.FieldErrors(f.Fields).String()
	case errors.Is(cause, context.Canceled) && (f.Code == fault.Unavailable || f.Code == fault.Internal):
		// The client went away; nobody reads this answer.
		f, message = fault.Wrap(fault.Unavailable, "", cause), msgCancelled
	case f.Code == fault.Unavailable:
		logger.WarnContext(ctx, "store unavailable", "request_id", middleware.GetReqID(ctx), "path", gqlErr.Path.String(), "err", cause)
		message = msgUnavailable
	case f.Code == fault.Internal:
		logger.ErrorContext(ctx, "internal error", "request_id", middleware.GetReqID(ctx), "path", gqlErr.Path.String(), "err", cause)
		message = msgInternal
	}
	ext := map[string]any{}
	for k, v := range f.Details {
		ext[k] = v
	}
	ext["code"] = codes[f.Code]
	if len(f.Fields) > 0 {
		ext["fields"] = f.Fields
	}
	if f.RetryAfter > 0 {
		ext["retryAfter"] = f.RetryAfter
	}
	if requestID := middleware.GetReqID(ctx); f.Code == fault.Internal && requestID != "" {
		ext["requestId"] = requestID
	}
	gqlErr.Message = message
	gqlErr.Extensions = ext
	gqlErr.Err = f
}

// classify reads any error as a *fault.Error: the one it holds, or
// Unavailable for a deadline the request ran out of, or Internal holding it.
func classify(err error) *fault.Error {
	if f, ok := fault.As(err); ok {
		return f
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fault.Wrap(fault.Unavailable, msgUnavailable, err)
	}
	return fault.Wrap(fault.Internal, msgInternal, err)
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
// introspection is turned off for the caller.
func introspectionRefused(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	return fc != nil && (fc.Field.Name == "__schema" || fc.Field.Name == "__type") &&
		graphql.HasOperationContext(ctx) && graphql.GetOperationContext(ctx).DisableIntrospection
}

// withCode keeps gqlgen's own extensions and adds a code when none is
// set. An error that ends up BAD_USER_INPUT holds a fault.Invalid with its
// message, as a resolver's would.
func withCode(e *gqlerror.Error, code string) *gqlerror.Error {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	if _, ok := e.Extensions["code"]; !ok {
		e.Extensions["code"] = code
	}
	if e.Extensions["code"] == CodeBadUserInput {
		e.Err = fault.Wrap(fault.Invalid, e.Message, e.Err)
	}
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
