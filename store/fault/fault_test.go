package fault_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/store/fault"
)

func TestCodeOf(t *testing.T) {
	notFound := fault.New(fault.NotFound, "Not found.")
	for _, tc := range []struct {
		name string
		err  error
		want fault.Code
	}{
		{"nil is no failure", nil, ""},
		{"a fault", notFound, fault.NotFound},
		{"a wrapped fault", fmt.Errorf("reading user 7: %w", notFound), fault.NotFound},
		{"a fault wrapping a cause", fault.Wrap(fault.Unavailable, "store unavailable", context.DeadlineExceeded), fault.Unavailable},
		{"anything else is internal", errors.New("disk on fire"), fault.Internal},
		{"a bare deadline is internal until an edge says otherwise", context.DeadlineExceeded, fault.Internal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fault.CodeOf(tc.err); got != tc.want {
				t.Errorf("CodeOf(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestIsMatchesCodeAndMessage(t *testing.T) {
	sentinel := fault.New(fault.Unauthenticated, "Invalid token.")
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"the sentinel", sentinel, true},
		{"wrapped", fmt.Errorf("look up: %w", sentinel), true},
		{"made afresh alike", fault.New(fault.Unauthenticated, "Invalid token."), true},
		{"same message, other code", fault.New(fault.Forbidden, "Invalid token."), false},
		{"same code, other message", fault.New(fault.Unauthenticated, "User inactive or deleted."), false},
		{"a plain error with the same text", errors.New("Invalid token."), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(tc.err, sentinel); got != tc.want {
				t.Errorf("errors.Is = %v, want %v", got, tc.want)
			}
		})
	}
	if errors.Is(sentinel, (*fault.Error)(nil)) {
		t.Error("a nil target matched")
	}
}

func TestCauseIsKeptForLogsAndUnwrapped(t *testing.T) {
	cause := errors.New("connection refused")
	err := fault.Wrap(fault.Unavailable, "store unavailable", cause)
	if !errors.Is(err, cause) {
		t.Error("the cause is not in the chain")
	}
	if got, want := err.Error(), "store unavailable: connection refused"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestFieldErrors(t *testing.T) {
	var none fault.FieldErrors
	if err := none.Err(); err != nil {
		t.Fatalf("no messages made an error: %v", err)
	}
	var f fault.FieldErrors
	f.Add("email", "Enter a valid email address.")
	f.Add(fault.NonField, "Use either offset and limit or cursors, not both.")
	f.Add("email", "Ensure this field has no more than 254 characters.")
	err := f.Err()
	e, ok := fault.As(err)
	if !ok || e.Code != fault.Invalid {
		t.Fatalf("Err() = %v, want an invalid *fault.Error", err)
	}
	if len(e.Fields["email"]) != 2 || len(e.Fields[fault.NonField]) != 1 {
		t.Errorf("fields = %v", e.Fields)
	}
	want := "email: Enter a valid email address. Ensure this field has no more than 254 characters. Use either offset and limit or cursors, not both."
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q,\nwant %q", got, want)
	}
	one := fault.Field("username", "This field is required.")
	if one.Code != fault.Invalid || one.Fields["username"][0] != "This field is required." {
		t.Errorf("Field() = %+v", one)
	}
}
