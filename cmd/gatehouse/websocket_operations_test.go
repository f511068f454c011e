package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/gatehouse/gatehouse/store"
)

// runningMailing creates a mailing that is under way, so that
// mailingProgress watches it until the socket goes.
func runningMailing(t testing.TB, s *store.Store) store.ID {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateTag(ctx, "vip"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOperatorCode(ctx, "916"); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute)
	m, err := s.CreateMailing(ctx, store.MailingInput{Text: "hi", Start: start, End: start.Add(24 * time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

func progressOf(id store.ID) map[string]any {
	return map[string]any{"query": fmt.Sprintf(`subscription { mailingProgress(id: "%d") { total sent } }`, id)}
}

// errorCode is the code of the first error of an error message's payload.
func errorCode(m transportWSMessage) (code, message string) {
	var errs []gqlError
	_ = json.Unmarshal(m.Payload, &errs)
	if len(errs) == 0 {
		return "", ""
	}
	c, _ := errs[0].Extensions["code"].(string)
	return c, errs[0].Message
}

// A plain user (anyone may sign up) sends 60,000 subscribes of
// mailingProgress down one websocket. The socket runs the first 50 (the
// default of --websocket-operations) and answers every other with an error
// message for its id, TOO_MANY_REQUESTS, starting nothing: the goroutines
// and the heap the process holds stay where they were, and the socket
// stays open. Unbounded, each subscription held two goroutines and some
// 45 KB for as long as the socket was open (120,018 goroutines and 2.97 GB
// resident).
func TestWebsocketOperationsAreBoundedPerSocket(t *testing.T) {
	subscribes := 60_000
	if raceDetector {
		subscribes = 10_000
	}
	g := newTestGateway(t)
	mailing := runningMailing(t, g.store)
	token := g.signUp(t, "flooder", "flooder-pass")
	before := measure(t)

	c := g.dialTransportWS(t, nil)
	c.init(map[string]any{"Authorization": "Token " + token})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sent := make(chan error, 1)
	go func() {
		payload := progressOf(mailing)
		for i := range subscribes {
			if err := wsjson.Write(ctx, c.conn, map[string]any{"id": "s" + strconv.Itoa(i), "type": "subscribe", "payload": payload}); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	started, refused := 0, 0
	var refusal string
	for started+refused < subscribes {
		var m transportWSMessage
		if err := wsjson.Read(ctx, c.conn, &m); err != nil {
			t.Fatalf("after %d started and %d refused: %v", started, refused, err)
		}
		switch m.Type {
		case "next":
			started++
		case "error":
			code, message := errorCode(m)
			if code != "TOO_MANY_REQUESTS" {
				t.Fatalf("error for %s: %s", m.ID, m.Payload)
			}
			refused++
			refusal = message
		case "ping":
			_ = wsjson.Write(ctx, c.conn, transportWSMessage{Type: "pong"})
		default:
			t.Fatalf("%s for %s: %s", m.Type, m.ID, m.Payload)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	during := measure(t)
	t.Logf("before the socket: %v", before)
	t.Logf("after %d subscribes on it: %v; %d started, %d refused (%q)", subscribes, during, started, refused, refusal)
	if started != 50 {
		t.Errorf("%d subscriptions started, want 50", started)
	}
	if !strings.Contains(refusal, "50 operations") {
		t.Errorf("the refusal says %q", refusal)
	}
	if during.goroutines > before.goroutines+200 {
		t.Errorf("the socket holds %d goroutines more than before it opened", during.goroutines-before.goroutines)
	}
	if grown := int64(during.heap) - int64(before.heap); grown > 32<<20 {
		t.Errorf("the heap grew by %.1f MB", float64(grown)/(1<<20))
	}

	// The socket is open still, and answers.
	c.send(map[string]any{"type": "ping"})
	for {
		var m transportWSMessage
		if err := wsjson.Read(ctx, c.conn, &m); err != nil {
			t.Fatalf("after the flood: %v", err)
		}
		if m.Type == "pong" {
			break
		}
	}
	c.conn.Close(websocket.StatusNormalClosure, "")
	after := settled(t, before.goroutines+10)
	t.Logf("after the socket closed: %v", after)
	if after.goroutines > before.goroutines+10 {
		t.Errorf("%d goroutines more than before the socket opened, once it closed", after.goroutines-before.goroutines)
	}
}

// subscribe starts operation id on c and answers whether it started
// (its first message is next), or the refusal's message.
func (c *transportWSClient) subscribe(id string, payload map[string]any) (started bool, refusal string) {
	c.t.Helper()
	c.send(map[string]any{"id": id, "type": "subscribe", "payload": payload})
	m, err := c.next()
	switch {
	case err != nil:
		c.t.Fatalf("subscribe %s: %v", id, err)
	case m.ID != id:
		c.t.Fatalf("subscribe %s: %s for %s", id, m.Type, m.ID)
	case m.Type == "next":
		return true, ""
	case m.Type == "error":
		code, message := errorCode(m)
		if code != "TOO_MANY_REQUESTS" {
			c.t.Fatalf("subscribe %s: %s", id, m.Payload)
		}
		return false, message
	}
	c.t.Fatalf("subscribe %s: %s %s", id, m.Type, m.Payload)
	return false, ""
}

// eventually subscribes until the operation starts, and answers the id it
// started under: an operation that ends frees its place a moment after its
// last message.
func (c *transportWSClient) eventually(id string, payload map[string]any) string {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; ; n++ {
		attempt := fmt.Sprintf("%s-%d", id, n)
		started, refusal := c.subscribe(attempt, payload)
		if started {
			return attempt
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s never started: %s", id, refusal)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// One user runs at most twice --websocket-operations across all their
// sockets. Every way an operation ends frees its place: completing (a
// query), failing (a subscription to a mailing that does not exist), being
// completed by the client, and its socket closing, abruptly or not. After
// a hundred and fifty operations that ended those ways, on forty sockets
// opened and closed, the user runs as many as at first.
func TestWebsocketOperationsAreBoundedPerUser(t *testing.T) {
	g := newTestGateway(t, "--websocket-operations=2")
	mailing := runningMailing(t, g.store)
	token := g.signUp(t, "juggler", "juggler-pass")
	auth := map[string]any{"Authorization": "Token " + token}
	dial := func() *transportWSClient {
		c := g.dialTransportWS(t, nil)
		c.init(auth)
		return c
	}
	progress := progressOf(mailing)

	// fill opens two sockets, runs two subscriptions on each, and shows a
	// third socket of the user's refused; it closes the third.
	fill := func(round string) (a, b *transportWSClient, first string) {
		t.Helper()
		a, b = dial(), dial()
		first = a.eventually(round+"a1", progress)
		a.eventually(round+"a2", progress)
		if started, refusal := a.subscribe(round+"a3", progress); started || !strings.Contains(refusal, "This websocket already runs 2 operations") {
			t.Fatalf("%s: a third operation on one socket: %v %q", round, started, refusal)
		}
		b.eventually(round+"b1", progress)
		b.eventually(round+"b2", progress)
		c := dial()
		defer c.conn.Close(websocket.StatusNormalClosure, "")
		if started, refusal := c.subscribe(round+"c1", progress); started || !strings.Contains(refusal, "You already run 4 operations") {
			t.Fatalf("%s: a fifth operation of the user: %v %q", round, started, refusal)
		}
		return a, b, first
	}
	a, b, first := fill("first")

	// The client completes one: its place is the user's again.
	a.send(map[string]any{"id": first, "type": "complete"})
	c := dial()
	c.eventually("after-complete", progress)
	c.conn.CloseNow()
	a.conn.CloseNow()
	b.conn.Close(websocket.StatusNormalClosure, "")

	for i := range 40 {
		s := dial()
		switch i % 4 {
		case 0: // queries that complete
			for j := range 5 {
				s.run(fmt.Sprintf("q%d", j), "{ __typename }")
			}
		case 1: // subscriptions that fail
			for j := range 5 {
				s.send(map[string]any{"id": fmt.Sprintf("f%d", j), "type": "subscribe", "payload": progressOf(9999)})
				if m := s.mustNext("next"); !strings.Contains(string(m.Payload), "NOT_FOUND") {
					t.Fatalf("a subscription to no mailing: %s", m.Payload)
				}
				s.mustNext("complete")
			}
		case 2: // subscriptions the client completes
			for j := range 5 {
				id := s.eventually(fmt.Sprintf("p%d", j), progress)
				s.send(map[string]any{"id": id, "type": "complete"})
			}
		case 3: // subscriptions whose socket goes
			s.eventually("held1", progress)
			s.eventually("held2", progress)
		}
		if i%2 == 0 {
			s.conn.CloseNow()
		} else {
			s.conn.Close(websocket.StatusNormalClosure, "")
		}
	}

	a, b, _ = fill("last")
	a.conn.CloseNow()
	b.conn.CloseNow()
}
