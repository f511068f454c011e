package dispatch_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/dispatch"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestRegistry(t *testing.T) {
	r := dispatch.Builtin()
	if got := r.Names(); !reflect.DeepEqual(got, []string{"log", "webhook"}) {
		t.Errorf("names %v", got)
	}
	if err := r.Register("log", func(dispatch.SenderConfig) (dispatch.Sender, error) { return nil, nil }); err == nil {
		t.Error("a second \"log\" was accepted")
	}
	if err := r.Register("", nil); err == nil {
		t.Error("an empty name was accepted")
	}
	noop := dispatch.SenderFunc(func(context.Context, dispatch.Message) error { return nil })
	if err := r.Register("noop", func(dispatch.SenderConfig) (dispatch.Sender, error) { return noop, nil }); err != nil {
		t.Fatal(err)
	}
	if s, err := r.New("noop", dispatch.SenderConfig{}); err != nil || s == nil {
		t.Errorf("noop: %v", err)
	}
	if _, err := r.New("sms", dispatch.SenderConfig{}); err == nil || !strings.Contains(err.Error(), "known: [log noop webhook]") {
		t.Errorf("unknown sender: %v", err)
	}
	if _, err := r.New("webhook", dispatch.SenderConfig{}); err == nil || !strings.Contains(err.Error(), "--webhook-url") {
		t.Errorf("webhook without a URL: %v", err)
	}
	// Registries are values: another starts empty.
	if names := dispatch.NewRegistry().Names(); len(names) != 0 {
		t.Errorf("a new registry holds %v", names)
	}
}

// The log sender writes one line per message, with the message, the
// mailing and the phone, and nothing else of the message.
func TestLogSender(t *testing.T) {
	logs := &logBuffer{}
	s, err := dispatch.Builtin().New("log", dispatch.SenderConfig{Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), dispatch.Message{ID: 12, MailingID: 3, ClientID: 99, Phone: "79161234567", Text: "secret text"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("lines %q", lines)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	delete(rec, "time")
	want := map[string]any{"level": "INFO", "msg": "message sent", "message": "12", "mailing": "3", "phone": "79161234567"}
	if !reflect.DeepEqual(rec, want) {
		t.Errorf("line %v", rec)
	}
}

func TestConfigRefusesBrokenLeases(t *testing.T) {
	s := storetest.Open(t, store.Options{})
	noop := dispatch.SenderFunc(func(context.Context, dispatch.Message) error { return nil })
	_, err := dispatch.New(s, noop, dispatch.Config{Lease: 10 * time.Second, SendTimeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "lease") {
		t.Errorf("a lease no longer than a send: %v", err)
	}
	if _, err := dispatch.New(s, noop, dispatch.Config{Rate: -1}); err == nil {
		t.Error("a negative rate was accepted")
	}
	if _, err := dispatch.New(nil, noop, dispatch.Config{}); err == nil {
		t.Error("no store accepted")
	}
	d, err := dispatch.New(s, noop, dispatch.Config{})
	if err != nil || d.Owner() == "" {
		t.Errorf("defaults: %v", err)
	}
}
