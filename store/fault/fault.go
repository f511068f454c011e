// Package fault is the gateway's one error type: what went wrong, in words
// a client may read, with a code each edge maps once to its own answer
// (GraphQL's extensions.code, a legacy dialect's status and body, a log
// level).
//
// Every package may return a *Error, and none but the edges looks inside
// one: the store refuses an input or a change, auth refuses a token, a
// resolver refuses a caller. An error that is not a *Error, or that wraps
// none, is internal: the edges log it and show nothing of it.
//
// It is a leaf: it imports nothing but the standard library, so the store
// and auth, which import no other package of the gateway, may use it.
package fault

import (
	"errors"
	"sort"
	"strings"
)

// Code says what kind of failure an Error is, which is all an edge needs
// to choose its answer.
type Code string

const (
	// Invalid: the input is wrong; Fields say where, when a field is.
	Invalid Code = "invalid"
	// Unauthenticated: no caller could be established, or the credentials
	// were refused.
	Unauthenticated Code = "unauthenticated"
	// Forbidden: the caller may not do this.
	Forbidden Code = "forbidden"
	// NotFound: the object does not exist (or the caller may not know it does).
	NotFound Code = "not_found"
	// Conflict: the change would break something else; the message says
	// what to do instead.
	Conflict Code = "conflict"
	// Throttled: too many requests; RetryAfter says how long to wait.
	Throttled Code = "throttled"
	// Unavailable: the store could not be reached in time; try again.
	Unavailable Code = "unavailable"
	// Internal: anything else. Never shown; always logged.
	Internal Code = "internal"
)

// Codes lists every code, so that each edge's map can be checked whole.
var Codes = []Code{Invalid, Unauthenticated, Forbidden, NotFound, Conflict, Throttled, Unavailable, Internal}

// NonField is the key of Fields for errors that concern no single field,
// as Django names it.
const NonField = "non_field_errors"

// Error is a failure a client may be told about.
type Error struct {
	Code Code
	// Message is for people, and safe to show.
	Message string
	// Fields are messages per input field (Invalid, Conflict), each as
	// Django words it ("This field is required."), so every API can show
	// them next to the field.
	Fields map[string][]string
	// Details are machine-readable facts a client may act on, shown as
	// they are: the permission that was missing, the reason for a denial.
	Details map[string]any
	// RetryAfter is, for Throttled, the whole seconds to wait.
	RetryAfter int
	// Err is the cause, for logs; it is never shown.
	Err error
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Fields) > 0 {
		msg = FieldErrors(e.Fields).String()
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is match an *Error of the same code and message, so a
// sentinel (store.ErrNotFound, auth.ErrInvalidToken) matches a fresh
// error made like it.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && e != nil && t != nil && e.Code == t.Code && e.Message == t.Message
}

// New is an error of code with a message for people.
func New(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// Wrap is an error of code with a message for people and a cause for logs.
func Wrap(code Code, message string, cause error) *Error {
	return &Error{Code: code, Message: message, Err: cause}
}

// As finds the *Error in err's chain; ok is false when there is none,
// which makes err internal.
func As(err error) (e *Error, ok bool) {
	return errors.AsType[*Error](err)
}

// CodeOf is the code of the *Error in err's chain: "" for nil, Internal
// when there is none.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}

// Field is an Invalid error about one field.
func Field(field, message string) *Error {
	return &Error{Code: Invalid, Message: "invalid input", Fields: map[string][]string{field: {message}}}
}

// FieldErrors collects messages per field, so that one answer names every
// field at fault.
type FieldErrors map[string][]string

// Add records a message for a field.
func (f *FieldErrors) Add(field, message string) {
	if *f == nil {
		*f = FieldErrors{}
	}
	(*f)[field] = append((*f)[field], message)
}

// Err is an Invalid error holding the messages, or nil when there are none.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "invalid input", Fields: f}
}

// String sums the messages up in one line for people, fields in order and
// errors of no field without a name: "email: Enter a valid email address."
func (f FieldErrors) String() string {
	fields := make([]string, 0, len(f))
	for k := range f {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	parts := make([]string, 0, len(fields))
	for _, k := range fields {
		msg := strings.Join(f[k], " ")
		if k != NonField {
			msg = k + ": " + msg
		}
		parts = append(parts, msg)
	}
	return strings.Join(parts, " ")
}
