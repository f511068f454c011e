package gateway

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

// lineWriter hands each log line to the test, which reads them after the
// answer that logged them has arrived.
type lineWriter chan []byte

func (w lineWriter) Write(p []byte) (int, error) {
	w <- append([]byte(nil), p...)
	return len(p), nil
}

// Transport: "a panic → internal error to the client, the panic logged with
// the request id, process alive", for a panic outside GraphQL: the recoverer
// middleware around a handler that panics.
func TestRecovererMiddleware(t *testing.T) {
	lines := make(lineWriter, 16)
	logger := slog.New(slog.NewJSONHandler(lines, nil))
	h := requestID(auth.TrustedProxies{})(recoverer(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			panic("secret panic detail: mongodb://user:pw@db")
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
	var doc struct {
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Errors) != 1 ||
		doc.Errors[0].Message != "internal error" || doc.Errors[0].Extensions["code"] != "INTERNAL" {
		t.Errorf("body %s", body)
	}
	if strings.Contains(string(body), "secret") {
		t.Errorf("the panic value reached the client: %s", body)
	}
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id on the response")
	}
	var line struct {
		Msg       string `json:"msg"`
		RequestID string `json:"request_id"`
		Panic     string `json:"panic"`
	}
	if err := json.Unmarshal(<-lines, &line); err != nil {
		t.Fatal(err)
	}
	if line.Msg != "panic" || line.RequestID != id || !strings.Contains(line.Panic, "secret panic detail") {
		t.Errorf("panic log line %+v, want request_id %s and the panic", line, id)
	}

	// The server carries on.
	resp, err = http.Get(srv.URL + "/after")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("after the panic: status %d", resp.StatusCode)
	}
}
