package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"

	"github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

const progressSubscription = `subscription { mailingProgress(id: "1") { total sent failed mailing { status } } }`

// mailingProgress pushes a mailing's numbers as they change and ends when
// the mailing does; anonymous clients are refused like any @auth field.
// The gateway polls at the test's ticks, so each change is heard at the
// next tick, with no wait for the poll interval.
func TestMailingProgress(t *testing.T) {
	polls := &handTicks{}
	g, root := mailingWorldOn(t, newTestGatewayWith(t, storetest.Open(t, store.Options{}), gateway.Options{Ticks: polls.ticks}))
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
	now := time.Now().UTC()
	msg := store.Message{ID: 1, MailingID: 1, ClientID: 1, Status: store.MessageSent, SendDate: &now, Attempts: 1}
	if _, err := g.store.Collection("messages").Insert(ctx, msg); err != nil {
		t.Fatal(err)
	}
	polls.tick()
	if ev := read(); ev["total"] != float64(1) || ev["sent"] != float64(1) {
		t.Errorf("after a send: %v", ev)
	}

	// Cancelled, the mailing ends the subscription.
	g.query(t, root, `mutation { cancelMailing(id: "1") { status } }`, nil).mustData(t)
	polls.tick()
	if ev := read(); dig(ev, "mailing", "status") != "CANCELLED" {
		t.Errorf("last event: %v", ev)
	}
	if done := c.mustNext("complete"); done.ID != "p" {
		t.Errorf("complete for %q", done.ID)
	}
}

// graphql-transport-ws ends each operation with one message: a client that
// unsubscribes hears nothing more of that operation, and an error is not
// followed by a complete. (graphql-ws, the SPAs' client, counts every end
// it hears and closes the socket once it thinks none is left running.)
func TestWebsocketOperationsEndOnce(t *testing.T) {
	g, root := mailingWorld(t)
	start := time.Now().Add(-time.Minute)
	if _, err := g.store.CreateMailing(context.Background(), store.MailingInput{Text: "hi", Start: start, End: start.Add(time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}}); err != nil {
		t.Fatal(err)
	}
	c := g.dialTransportWS(t, nil)
	c.init(map[string]any{"Authorization": "Token " + root})

	c.send(map[string]any{"id": "p", "type": "subscribe", "payload": map[string]any{"query": progressSubscription}})
	c.mustNext("next")
	c.send(map[string]any{"id": "p", "type": "complete"})
	// Another operation runs to its own end; nothing of "p" comes between.
	c.send(map[string]any{"id": "q", "type": "subscribe", "payload": map[string]any{"query": "{ __typename }"}})
	for _, want := range []string{"next", "complete"} {
		if m := c.mustNext(want); m.ID != "q" {
			t.Fatalf("%s for %q after the client completed p", m.Type, m.ID)
		}
	}

	c.send(map[string]any{"id": "bad", "type": "subscribe", "payload": map[string]any{"query": "subscription { noSuchField }"}})
	if m := c.mustNext("error"); m.ID != "bad" {
		t.Fatalf("error for %q", m.ID)
	}
	// A ping's pong comes after anything the server sent for "bad".
	c.send(map[string]any{"type": "ping"})
	var m transportWSMessage
	if err := wsjson.Read(c.ctx, c.conn, &m); err != nil || m.Type != "pong" {
		t.Fatalf("after the error: %s %s (%v), want pong", m.Type, m.ID, err)
	}

	// An id is free again once its operation has ended.
	if got := c.run("p", "{ __typename }"); got != `{"data":{"__typename":"Query"}}` {
		t.Errorf("a reused id: %s", got)
	}
}
