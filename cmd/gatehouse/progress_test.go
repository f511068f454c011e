package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

const progressSubscription = `subscription { mailingProgress(id: "1") { total sent failed mailing { status } } }`

// mailingProgress pushes a mailing's numbers as they change and ends when
// the mailing does; anonymous clients are refused like any @auth field.
func TestMailingProgress(t *testing.T) {
	g, root := mailingWorld(t)
	ctx := context.Background()
	start := time.Now().Add(-time.Minute)
	if _, err := g.store.CreateMailing(ctx, store.MailingInput{Text: "hi", Start: start, End: start.Add(time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}}); err != nil {
		t.Fatal(err)
	}

	anon := g.dialTransportWS(t, nil)
	anon.init(nil)
	anon.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": progressSubscription}})
	m, err := anon.next()
	if err != nil || !strings.Contains(string(m.Payload), "UNAUTHENTICATED") {
		t.Errorf("anonymous subscription: %s %s %v", m.Type, m.Payload, err)
	}

	c := g.dialTransportWS(t, nil)
	c.init(map[string]any{"Authorization": "Token " + root})
	c.send(map[string]any{"id": "p", "type": "subscribe", "payload": map[string]any{"query": progressSubscription}})
	read := func() map[string]any {
		t.Helper()
		m := c.mustNext("next")
		var body struct {
			Data struct {
				MailingProgress map[string]any `json:"mailingProgress"`
			} `json:"data"`
			Errors []any `json:"errors"`
		}
		if err := json.Unmarshal(m.Payload, &body); err != nil || len(body.Errors) > 0 {
			t.Fatalf("event %s: %v", m.Payload, err)
		}
		return body.Data.MailingProgress
	}
	if first := read(); first["total"] != float64(0) {
		t.Errorf("first event: %v", first)
	}

	// A dispatcher records a sent message; the subscriber hears of it.
	client, err := mongo.Connect(options.Client().ApplyURI(storetest.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	now := time.Now().UTC()
	msg := store.Message{ID: 1, MailingID: 1, ClientID: 1, Status: store.MessageSent, SendDate: &now, Attempts: 1}
	if _, err := client.Database(g.store.Database()).Collection("messages").InsertOne(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if ev := read(); ev["total"] != float64(1) || ev["sent"] != float64(1) {
		t.Errorf("after a send: %v", ev)
	}

	// Cancelled, the mailing ends the subscription.
	g.query(t, root, `mutation { cancelMailing(id: "1") { status } }`, nil).mustData(t)
	if ev := read(); dig(ev, "mailing", "status") != "CANCELLED" {
		t.Errorf("last event: %v", ev)
	}
	if done := c.mustNext("complete"); done.ID != "p" {
		t.Errorf("complete for %q", done.ID)
	}
}
