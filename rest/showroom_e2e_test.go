package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/dispatch"
)

// hookCall is one message the webhook received.
type hookCall struct {
	path, auth string
	body       struct {
		ID    int64  `json:"id"`
		Phone int64  `json:"phone"`
		Text  string `json:"text"`
	}
}

// recordingHook is the external SMS API: it records each call and takes it.
type recordingHook struct {
	mu    sync.Mutex
	calls []hookCall
	got   chan struct{}
}

func (h *recordingHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var c hookCall
	c.path, c.auth = r.URL.Path, r.Header.Get("Authorization")
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &c.body)
	h.mu.Lock()
	h.calls = append(h.calls, c)
	h.mu.Unlock()
	h.got <- struct{}{}
	w.WriteHeader(http.StatusOK)
}

func (h *recordingHook) snapshot() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// TestShowroomEndToEnd goes through showroom alone: codes, tags, clients
// and a mailing due now are created over REST; a dispatcher with the
// webhook sender sends it; the messages and the statistic show it.
func TestShowroomEndToEnd(t *testing.T) {
	g := newGateway(t)
	hook := &recordingHook{got: make(chan struct{}, 64)}
	receiver := httptest.NewServer(hook)
	defer receiver.Close()
	sender, err := dispatch.NewWebhook(dispatch.SenderConfig{WebhookURL: receiver.URL + "/send/{id}", WebhookToken: "sms-t0ken"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dispatch.New(g.store, sender, dispatch.Config{
		PollInterval: 20 * time.Millisecond, ProgressInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = d.Run(ctx) }()
	defer func() { stop(); <-stopped }()

	post := func(path, body string) map[string]any {
		t.Helper()
		r := g.do(http.MethodPost, path, "admin", body)
		if r.Status != http.StatusCreated {
			t.Fatalf("POST %s %s: %d %s", path, body, r.Status, r.Body)
		}
		return r.object(t)
	}
	post("/api/v1/codes/", `{"code": "916"}`)
	post("/api/v1/codes/", `{"code": "903"}`)
	post("/api/v1/tags/", `{"name": "vip"}`)
	post("/api/v1/tags/", `{"name": "other"}`)
	clients := []struct {
		phone     string
		code, tag int
		wanted    bool
	}{
		{"79160000001", 1, 1, true}, {"79160000002", 1, 1, true}, {"79160000003", 1, 1, true},
		{"79030000004", 2, 1, false}, // another code
		{"79160000005", 1, 2, false}, // another tag
	}
	wantPhones := map[int64]bool{}
	for _, c := range clients {
		post("/api/v1/clients/", fmt.Sprintf(`{"phone_number": %q, "timezone": "Europe/Moscow", "mobile_operator_code": %d, "tag": %d}`, c.phone, c.code, c.tag))
		if c.wanted {
			var n int64
			fmt.Sscan(c.phone, &n)
			wantPhones[n] = true
		}
	}
	now := time.Now().UTC()
	mailing := post("/api/v1/mailing/", fmt.Sprintf(`{"tags": ["vip"], "codes": ["916"], "start_notification_date": %q, "end_notification_date": %q, "text": "Sale!"}`,
		now.Add(-time.Minute).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339)))
	id := mailing["id"]

	// The webhook hears of each recipient once.
	for range wantPhones {
		select {
		case <-hook.got:
		case <-time.After(30 * time.Second):
			t.Fatalf("the webhook got %d calls in 30s, want %d", len(hook.snapshot()), len(wantPhones))
		}
	}
	// The statistic shows them sent once the dispatcher has recorded it.
	// Its counts and its messages are two reads, made side by side, so
	// while results are being recorded one may run ahead of the other:
	// wait for both.
	var stat map[string]any
	messagesOf := func(stat map[string]any) []any {
		page, _ := stat["messages"].(map[string]any)
		results, _ := page["results"].([]any)
		return results
	}
	allSent := func() bool {
		msgs := messagesOf(stat)
		for _, m := range msgs {
			if m.(map[string]any)["status"] != "Send" {
				return false
			}
		}
		return fmt.Sprint(stat["statuses"]) == "map[Error:0 New:0 Send:3]"
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		r := g.do(http.MethodGet, fmt.Sprintf("/api/v1/statistic/%v/", id), "alice", "")
		stat = r.object(t)
		if allSent() || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if fmt.Sprint(stat["total"], " ", stat["statuses"]) != "3 map[Error:0 New:0 Send:3]" {
		t.Fatalf("statistic: %v", stat)
	}
	// Each recipient is sent to once: the calls are counted once the
	// dispatcher has stopped, when no later call can come.
	stop()
	<-stopped
	calls := hook.snapshot()
	if len(calls) != 3 {
		t.Fatalf("webhook calls %+v, want 3", calls)
	}
	sentIDs := map[string]bool{}
	for _, c := range calls {
		if !wantPhones[c.body.Phone] || c.body.Text != "Sale!" || c.auth != "Bearer sms-t0ken" || c.path != fmt.Sprintf("/send/%d", c.body.ID) {
			t.Errorf("webhook call %+v", c)
		}
		delete(wantPhones, c.body.Phone)
		sentIDs[fmt.Sprint(c.body.ID)] = true
	}
	if len(wantPhones) != 0 {
		t.Errorf("not sent to %v", wantPhones)
	}

	// /messages/ lists the three, sent, each naming the mailing.
	r := g.do(http.MethodGet, "/api/v1/messages/", "alice", "")
	page := r.object(t)
	results, _ := page["results"].([]any)
	if fmt.Sprint(page["count"]) != "3" || len(results) != 3 {
		t.Fatalf("messages: %s", r.Body)
	}
	for _, m := range results {
		m := m.(map[string]any)
		if m["status"] != "Send" || fmt.Sprint(m["mailing_list"]) != fmt.Sprint(id) || m["send_date"] == nil || !sentIDs[fmt.Sprint(m["id"])] {
			t.Errorf("message %v", m)
		}
	}
	statMessages := messagesOf(stat)
	for _, m := range statMessages {
		if m := m.(map[string]any); m["status"] != "Send" || !sentIDs[fmt.Sprint(m["id"])] {
			t.Errorf("statistic's message %v", m)
		}
	}
	if len(statMessages) != 3 {
		t.Errorf("statistic lists %d messages, want 3", len(statMessages))
	}
	// Its messages come a page at a time, as every list of the dialect.
	paged := g.do(http.MethodGet, fmt.Sprintf("/api/v1/statistic/%v/?limit=2", id), "alice", "").object(t)
	if page, _ := paged["messages"].(map[string]any); len(messagesOf(paged)) != 2 || fmt.Sprint(page["count"]) != "3" ||
		page["next"] != fmt.Sprintf("http://testserver/api/v1/statistic/%v/?limit=2&page=2", id) {
		t.Errorf("a page of the statistic's messages: %v", paged["messages"])
	}
	if r := g.do(http.MethodGet, "/api/v1/statistic/", "alice", ""); !strings.Contains(string(r.Body), `"statuses":{"New":0,"Send":3,"Error":0}`) {
		t.Errorf("statistic list: %s", r.Body)
	}
}
