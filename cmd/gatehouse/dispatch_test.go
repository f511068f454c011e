package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// gatehouse dispatch, configured by environment, sends a due mailing
// through the webhook, retries what failed for a passing reason, reports
// it all on its metrics listener, and stops cleanly when its context ends.
func TestDispatchCommandSendsThroughWebhook(t *testing.T) {
	ctx := context.Background()
	name := fmt.Sprintf("gh_cmd_dispatch_%d", os.Getpid())
	s, err := storetest.OpenDatabase(ctx, name, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Drop(context.Background()); _ = s.Close(context.Background()) })
	tag, _ := s.CreateTag(ctx, "vip")
	code, _ := s.CreateOperatorCode(ctx, "916")
	in := make([]store.ClientInput, 20)
	for i := range in {
		in[i] = store.ClientInput{PhoneNumber: fmt.Sprintf("7916000%04d", i), OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "UTC"}
	}
	if _, err := s.CreateClients(ctx, in); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m, err := s.CreateMailing(ctx, store.MailingInput{Text: "hi", Start: now.Add(-time.Minute), End: now.Add(time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}})
	if err != nil {
		t.Fatal(err)
	}

	// The first two calls fail for a passing reason (retried), the third
	// for good (that message fails), the rest succeed.
	var calls, badAuth atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer t0ken" || !strings.HasPrefix(r.URL.Path, "/sms/") {
			badAuth.Add(1)
		}
		switch n {
		case 1, 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 3:
			w.WriteHeader(http.StatusBadRequest)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer hook.Close()
	env := storetest.Env(name)
	maps.Copy(env, map[string]string{
		"GATEHOUSE_SENDER": "webhook", "GATEHOUSE_WEBHOOK_URL": hook.URL + "/sms/{id}", "GATEHOUSE_WEBHOOK_TOKEN": "t0ken",
		"GATEHOUSE_SEND_RATE": "100", "GATEHOUSE_SEND_CONCURRENCY": "4", "GATEHOUSE_METRICS_ADDR": "127.0.0.1:0",
	})
	logs := newLogWatch()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, []string{"dispatch", "--log-format", "json"}, func(k string) string { return env[k] }, strings.NewReader(""), logs, io.Discard)
	}()
	metricsAt := logs.wait(t, "metrics listening", 30*time.Second)["addr"]
	logs.wait(t, "mailing finished", time.Minute)

	families := scrapeURL(t, fmt.Sprintf("http://%s/metrics", metricsAt))
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"gatehouse_dispatch_send_attempts_total", map[string]string{"outcome": "sent"}, 19},
		{"gatehouse_dispatch_send_attempts_total", map[string]string{"outcome": "retry"}, 2},
		{"gatehouse_dispatch_send_attempts_total", map[string]string{"outcome": "failed"}, 1},
		{"gatehouse_dispatch_send_attempts_total", map[string]string{"outcome": "abandoned"}, 0},
		{"gatehouse_dispatch_retries_total", nil, 2},
		{"gatehouse_dispatch_claims_total", map[string]string{"kind": "mailing"}, 1},
		{"gatehouse_dispatch_leases_taken_over_total", map[string]string{"kind": "chunk"}, 0},
		{"gatehouse_dispatch_messages", map[string]string{"status": "SENT"}, 19},
		{"gatehouse_dispatch_messages", map[string]string{"status": "FAILED"}, 1},
		{"gatehouse_dispatch_messages", map[string]string{"status": "PENDING"}, 0},
		{"gatehouse_mailings", map[string]string{"status": "FINISHED"}, 1},
		{"gatehouse_dispatch_work_due", nil, 0},
		{"gatehouse_store_info", map[string]string{"backend": storetest.Engine()}, 1},
	} {
		if got := value(families, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if value(families, "gatehouse_dispatch_claims_total", map[string]string{"kind": "chunk"}) < 1 {
		t.Error("no chunk claims counted")
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dispatch did not stop within 30s of its context's end")
	}
	logs.wait(t, "dispatcher stopped", time.Second)
	if calls.Load() != 22 || badAuth.Load() != 0 {
		t.Errorf("%d calls, %d without the token or path", calls.Load(), badAuth.Load())
	}
	if st, _ := s.Stats(ctx, []store.ID{m.ID}); st[m.ID].Count(store.MessageSent) != 19 || st[m.ID].Count(store.MessageFailed) != 1 {
		t.Errorf("stats %v", st[m.ID].ByStatus)
	}
}

// Sender flags are checked before anything starts; with --dispatch=false
// serve does not care about them.
func TestDispatchFlagsAreChecked(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		args []string
		env  func(string) string
		want string
	}{
		{[]string{"dispatch", "--sender", "sms"}, noEnv, `unknown sender "sms"`},
		{[]string{"dispatch"}, env("GATEHOUSE_SENDER", "webhook"), "--webhook-url"},
		{[]string{"dispatch", "--sender", "webhook", "--webhook-url", "ftp://x"}, noEnv, "http or https"},
		{[]string{"dispatch", "--send-concurrency", "0"}, noEnv, "--send-concurrency"},
		{[]string{"dispatch"}, env("GATEHOUSE_SEND_RATE", "-1"), "--send-rate"},
		{[]string{"serve", "--sender", "webhook"}, noEnv, "--webhook-url"},
	} {
		err := run(context.Background(), tc.args, tc.env, strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error about %s", tc.args, err, tc.want)
		}
	}
	cfg := testConfig(t, "--dispatch=false", "--sender", "webhook")
	if err := cfg.validate(); err != nil {
		t.Errorf("serve without a dispatcher checked the sender: %v", err)
	}
}

// --send-timeout bounds a webhook call, longer than the webhook's own
// default too.
func TestSendTimeoutReachesTheWebhook(t *testing.T) {
	cfg := testConfig(t, "--sender", "webhook", "--webhook-url", "http://127.0.0.1:9/hook", "--send-timeout", "25s", "--dispatch-lease", "2m")
	if got := cfg.senderConfig(nil).Timeout; got != 25*time.Second {
		t.Errorf("the webhook is bounded by %v, want --send-timeout's 25s", got)
	}
}

// serve runs a dispatcher unless told not to.
func TestServeRunsADispatcher(t *testing.T) {
	r := startServe(t, t.TempDir())
	line := r.logs.wait(t, "dispatcher started", 30*time.Second)
	if line["component"] != "dispatch" || line["concurrency"] != float64(8) {
		t.Errorf("dispatcher line %v", line)
	}
}
