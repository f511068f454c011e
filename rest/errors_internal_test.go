package rest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store/fault"
)

// The Django dialects answer every kind of failure with DRF's status and
// body, read from the one error type; only an internal failure is a 500,
// and it is logged, never shown.
func TestDRFAnswersEveryFault(t *testing.T) {
	want := map[fault.Code]struct {
		status int
		body   string
		header string
	}{
		fault.Invalid:         {http.StatusBadRequest, `{"username":["This field is required."],"email":["Enter a valid email address."]}`, ""},
		fault.Unauthenticated: {http.StatusUnauthorized, `{"detail":"Invalid token."}`, "Token"},
		fault.Forbidden:       {http.StatusForbidden, `{"detail":"You do not have permission to perform this action."}`, ""},
		fault.NotFound:        {http.StatusNotFound, `{"detail":"Not found."}`, ""},
		fault.Conflict:        {http.StatusBadRequest, `{"non_field_errors":["2 clients use this tag; delete them first, or delete with cascade."]}`, ""},
		fault.Throttled:       {http.StatusTooManyRequests, `{"detail":"Request was throttled. Expected available in 3 seconds."}`, "3"},
		fault.Unavailable:     {http.StatusServiceUnavailable, `{"detail":"The service is unavailable. Try again shortly."}`, ""},
		fault.Internal:        {http.StatusInternalServerError, `{"detail":"A server error occurred."}`, ""},
	}
	failures := map[fault.Code]*fault.Error{
		fault.Invalid:         {Code: fault.Invalid, Fields: map[string][]string{"email": {"Enter a valid email address."}, "username": {"This field is required."}}},
		fault.Unauthenticated: fault.New(fault.Unauthenticated, "Invalid token."),
		fault.Forbidden:       {Code: fault.Forbidden, Message: "only staff can change is_active", Details: map[string]any{"reason": "staff"}},
		fault.NotFound:        fault.New(fault.NotFound, "Not found."),
		fault.Conflict:        fault.New(fault.Conflict, "2 clients use this tag; delete them first, or delete with cascade."),
		fault.Throttled:       {Code: fault.Throttled, Message: "Request was throttled. Expected available in 3 seconds.", RetryAfter: 3},
		fault.Unavailable:     fault.Wrap(fault.Unavailable, "store unavailable", errors.New("dial tcp 10.0.0.7:27017")),
		fault.Internal:        fault.Wrap(fault.Internal, "", errors.New("dial tcp 10.0.0.7:27017")),
	}
	for _, code := range fault.Codes {
		t.Run(string(code), func(t *testing.T) {
			w, ok := want[code]
			if !ok {
				t.Fatalf("no DRF answer is named for %q", code)
			}
			var logs bytes.Buffer
			a := drfErrorAnswer(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), failures[code], []string{"username", "email"})
			body, err := marshalNoEscape(a.body)
			if err != nil {
				t.Fatal(err)
			}
			if a.status != w.status || string(body) != w.body {
				t.Errorf("answered %d %s, want %d %s", a.status, body, w.status, w.body)
			}
			if h := a.header.Get("Www-Authenticate") + a.header.Get("Retry-After"); h != w.header {
				t.Errorf("headers %v, want %q", a.header, w.header)
			}
			if strings.Contains(string(body), "10.0.0.7") {
				t.Errorf("the cause reached the client: %s", body)
			}
			if logged := strings.Contains(logs.String(), "10.0.0.7"); logged != (code == fault.Internal) {
				t.Errorf("logged the cause: %v: %q", logged, logs.String())
			}
		})
	}
}

// A failure that holds no *fault.Error is internal.
func TestUnknownFailuresAreInternal(t *testing.T) {
	if got := faultOf(errors.New("boom")); got.Code != fault.Internal {
		t.Errorf("faultOf(plain error) = %q", got.Code)
	}
}
