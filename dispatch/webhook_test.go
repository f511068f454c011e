package dispatch_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/dispatch"
)

func TestWebhookRequest(t *testing.T) {
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, body = r, string(b)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	wh, err := dispatch.NewWebhook(dispatch.SenderConfig{WebhookURL: srv.URL + "/api/{id}?src=gh", WebhookToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Send(context.Background(), dispatch.Message{ID: 17, MailingID: 3, Phone: "79161234567", Text: `Привет "world"`}); err != nil {
		t.Fatal(err)
	}
	// The legacy body: id and phone as numbers, in that order.
	if body != `{"id":17,"phone":79161234567,"text":"Привет \"world\""}` {
		t.Errorf("body %s", body)
	}
	if got.URL.Path != "/api/17" || got.URL.RawQuery != "src=gh" || got.Method != http.MethodPost {
		t.Errorf("request %s %s", got.Method, got.URL)
	}
	for k, want := range map[string]string{"Authorization": "Bearer tok", "Idempotency-Key": "17", "Content-Type": "application/json"} {
		if v := got.Header.Get(k); v != want {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
	// No token, no Authorization header.
	wh, _ = dispatch.NewWebhook(dispatch.SenderConfig{WebhookURL: srv.URL})
	_ = wh.Send(context.Background(), dispatch.Message{ID: 1, Phone: "70000000000", Text: "x"})
	if _, ok := got.Header["Authorization"]; ok || got.URL.Path != "/" {
		t.Errorf("without a token: %v %s", got.Header, got.URL.Path)
	}
}

// Each answer of the receiver is classified as the hardening notes say.
func TestWebhookAnswers(t *testing.T) {
	// An HTTP date is read against the real time of the answer: the wait
	// lies between the date less the time after the call and the date less
	// the time before it.
	date := time.Now().Add(90 * time.Second).UTC().Truncate(time.Second)
	for _, tc := range []struct {
		status     int
		retryAfter string
		byDate     bool
		wantErr    bool
		permanent  bool
		wait       time.Duration
		contains   string
	}{
		{status: 200}, {status: 201}, {status: 204},
		{status: 400, wantErr: true, permanent: true, contains: "400 Bad Request"},
		{status: 422, wantErr: true, permanent: true, contains: "422"},
		{status: 429, retryAfter: "7", wantErr: true, wait: 7 * time.Second, contains: "429"},
		{status: 429, retryAfter: date.Format(http.TimeFormat), byDate: true, wantErr: true},
		{status: 429, wantErr: true},
		{status: 500, wantErr: true, contains: "500"},
		{status: 502, wantErr: true}, {status: 503, wantErr: true},
		{status: 401, wantErr: true}, {status: 404, wantErr: true},
		{status: 301, wantErr: true, contains: "301"}, // not followed: a POST would become a GET
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.retryAfter != "" {
				w.Header().Set("Retry-After", tc.retryAfter)
			}
			if tc.status == 301 {
				w.Header().Set("Location", "/elsewhere")
			}
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte("{\"detail\": \"refused\"}\n\x00"))
		}))
		wh, _ := dispatch.NewWebhook(dispatch.SenderConfig{WebhookURL: srv.URL})
		before := time.Now()
		err := wh.Send(context.Background(), dispatch.Message{ID: 5, Phone: "79161234567", Text: "hi"})
		after := time.Now()
		srv.Close()
		if (err != nil) != tc.wantErr || dispatch.IsPermanent(err) != tc.permanent {
			t.Errorf("%d: err %v, permanent %v", tc.status, err, dispatch.IsPermanent(err))
			continue
		}
		least, most := tc.wait, tc.wait
		if tc.byDate {
			least, most = date.Sub(after), date.Sub(before)
		}
		if ra := dispatch.RetryAfterOf(err); ra < least || ra > most {
			t.Errorf("%d %q: retry after %s, want %s to %s", tc.status, tc.retryAfter, ra, least, most)
		}
		if err != nil && (!strings.Contains(err.Error(), tc.contains) || !strings.Contains(err.Error(), `{"detail": "refused"}`) || strings.ContainsRune(err.Error(), 0)) {
			t.Errorf("%d: error text %q", tc.status, err)
		}
	}
}

func TestWebhookFailuresAreRetryable(t *testing.T) {
	// The slow receiver never answers: a call ends only when the sender
	// gives up, so no ceiling on its time is needed to tell the timeout
	// from an answer.
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client leave
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer slow.Close()
	defer close(stop)
	wh, _ := dispatch.NewWebhook(dispatch.SenderConfig{WebhookURL: slow.URL + "/{id}?key=secret", Timeout: 100 * time.Millisecond})
	err := wh.Send(context.Background(), dispatch.Message{ID: 1, Phone: "79161234567", Text: "x"})
	if err == nil || dispatch.IsPermanent(err) || !strings.Contains(err.Error(), "did not answer within 100ms") || strings.Contains(err.Error(), "secret") {
		t.Errorf("timeout: %v", err)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	wh, _ = dispatch.NewWebhook(dispatch.SenderConfig{WebhookURL: closed.URL + "/{id}?key=secret"})
	err = wh.Send(context.Background(), dispatch.Message{ID: 1, Phone: "79161234567", Text: "x"})
	if err == nil || dispatch.IsPermanent(err) || strings.Contains(err.Error(), "secret") {
		t.Errorf("connection refused: %v", err)
	}

	// A phone that is not a number cannot be sent in the legacy body: no
	// call, and no retry.
	err = wh.Send(context.Background(), dispatch.Message{ID: 1, Phone: "7916x", Text: "x"})
	if !dispatch.IsPermanent(err) {
		t.Errorf("bad phone: %v", err)
	}
	// The caller's context ends the wait.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wh, _ = dispatch.NewWebhook(dispatch.SenderConfig{WebhookURL: slow.URL})
	if err := wh.Send(ctx, dispatch.Message{ID: 1, Phone: "79161234567"}); err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestWebhookConfiguration(t *testing.T) {
	for _, u := range []string{"", "ftp://x/{id}", "/relative/{id}", "http://", "://bad"} {
		if _, err := dispatch.NewWebhook(dispatch.SenderConfig{WebhookURL: u}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
}
