package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store/fault"
)

// Every kind of failure has its GraphQL code, and the presenter shows what
// a client may see, logs what it may not, and leaves the failure in Err for
// the REST dialects, which run operations in-process.
func TestPresenterMapsEveryFaultOnce(t *testing.T) {
	for _, code := range fault.Codes {
		if codes[code] == "" {
			t.Errorf("fault code %q has no GraphQL code", code)
		}
	}

	secret := errors.New("dial tcp 10.0.0.7:27017: connection refused")
	for _, tc := range []struct {
		name     string
		err      error
		code     string
		message  string
		ext      map[string]any
		logged   bool
		wantKind fault.Code
	}{
		{name: "field errors", err: fault.FieldErrors{"email": {"Enter a valid email address."}}.Err(),
			code: CodeBadUserInput, message: "email: Enter a valid email address.",
			ext: map[string]any{"fields": map[string][]string{"email": {"Enter a valid email address."}}}, wantKind: fault.Invalid},
		{name: "a refused token", err: fmt.Errorf("token: %w", fault.New(fault.Unauthenticated, "Invalid token.")),
			code: CodeUnauthenticated, message: "Invalid token.", wantKind: fault.Unauthenticated},
		{name: "a missing permission", err: missingPermission("change_user"),
			code: CodeForbidden, message: msgForbidden, ext: map[string]any{"permission": "change_user"}, wantKind: fault.Forbidden},
		{name: "not found", err: fault.New(fault.NotFound, "Not found."), code: CodeNotFound, message: "Not found.", wantKind: fault.NotFound},
		{name: "a conflict", err: fault.New(fault.Conflict, "This mailing is finished and can no longer be changed."),
			code: CodeConflict, message: "This mailing is finished and can no longer be changed.", wantKind: fault.Conflict},
		{name: "throttled", err: throttledError(1500 * time.Millisecond), code: CodeTooManyRequests,
			message: "Request was throttled. Expected available in 2 seconds.", ext: map[string]any{"retryAfter": 2}, wantKind: fault.Throttled},
		{name: "the store is down", err: fault.Wrap(fault.Unavailable, "store unavailable", secret),
			code: CodeUnavailable, message: msgUnavailable, logged: true, wantKind: fault.Unavailable},
		{name: "a deadline", err: fmt.Errorf("find users: %w", context.DeadlineExceeded),
			code: CodeUnavailable, message: msgUnavailable, logged: true, wantKind: fault.Unavailable},
		{name: "the client went away", err: fmt.Errorf("find users: %w", context.Canceled),
			code: CodeUnavailable, message: "The request was cancelled.", wantKind: fault.Unavailable},
		{name: "anything else", err: secret, code: CodeInternal, message: msgInternal, logged: true, wantKind: fault.Internal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			got := ErrorPresenter(slog.New(slog.NewTextHandler(&logs, nil)))(context.Background(), tc.err)
			if got.Message != tc.message {
				t.Errorf("message %q, want %q", got.Message, tc.message)
			}
			if got.Extensions["code"] != tc.code {
				t.Errorf("code %v, want %s", got.Extensions["code"], tc.code)
			}
			for k, v := range tc.ext {
				if fmt.Sprint(got.Extensions[k]) != fmt.Sprint(v) {
					t.Errorf("extensions.%s = %v, want %v", k, got.Extensions[k], v)
				}
			}
			if strings.Contains(got.Message, "10.0.0.7") {
				t.Errorf("the cause reached the client: %q", got.Message)
			}
			if tc.logged != strings.Contains(logs.String(), "err=") {
				t.Errorf("logged = %v, want %v: %q", !tc.logged, tc.logged, logs.String())
			}
			if kind := fault.CodeOf(got); kind != tc.wantKind {
				t.Errorf("in-process callers read %q, want %q", kind, tc.wantKind)
			}
		})
	}
}
