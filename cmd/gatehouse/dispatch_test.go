package main

import (
	"context"
	"fmt"
	"io"
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
// through the webhook and stops cleanly when its context ends.
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

	var calls, badAuth atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer t0ken" || !strings.HasPrefix(r.URL.Path, "/sms/") {
			badAuth.Add(1)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()
	env := map[string]string{
		"MONGODB_URI": storetest.URI(), "GATEHOUSE_DATABASE": name,
		"GATEHOUSE_SENDER": "webhook", "GATEHOUSE_WEBHOOK_URL": hook.URL + "/sms/{id}", "GATEHOUSE_WEBHOOK_TOKEN": "t0ken",
		"GATEHOUSE_SEND_RATE": "100", "GATEHOUSE_SEND_CONCURRENCY": "4",
	}
	logs := newLogWatch()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, []string{"dispatch", "--log-format", "json"}, func(k string) string { return env[k] }, strings.NewReader(""), logs, io.Discard)
	}()
	logs.wait(t, "mailing finished", time.Minute)
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
	if calls.Load() != 20 || badAuth.Load() != 0 {
		t.Errorf("%d calls, %d without the token or path", calls.Load(), badAuth.Load())
	}
	if st, _ := s.Stats(ctx, []store.ID{m.ID}); st[m.ID].Count(store.MessageSent) != 20 {
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

// serve runs a dispatcher unless told not to.
func TestServeRunsADispatcher(t *testing.T) {
	r := startServe(t, t.TempDir())
	line := r.logs.wait(t, "dispatcher started", 30*time.Second)
	if line["component"] != "dispatch" || line["concurrency"] != float64(8) {
		t.Errorf("dispatcher line %v", line)
	}
}
