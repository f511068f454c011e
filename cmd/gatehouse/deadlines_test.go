package main

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// --request-timeout is a deadline on the request's context, which every
// store call takes: an operation still running when it passes is
// interrupted and answered UNAVAILABLE then, not when the store would have
// finished. Over HTTP; over a websocket, whose queries and mutations have
// the same time each though the socket itself has no deadline; and while
// an operation waits for its caller's turn. The slow operation here takes
// seconds; the timeout is one.
func TestRequestTimeoutInterruptsTheAnswer(t *testing.T) {
	const timeout = time.Second
	users := 20_000 // a slow operation takes seconds
	if raceDetector {
		users = 1000
	}
	s := storetest.Open(t, store.Options{})
	seedUsers(t, s, "member", users, "!")
	// A slow filter, past what the admission lets one operation scan.
	g := newTestGatewayOn(t, s, "--request-timeout="+timeout.String(), "--scan-limit=100000")
	token := g.signUp(t, "patient", "patient-pass")
	filter := slowUsersFilter()
	// promptly allows for a loaded machine; an answer that was not
	// interrupted has data, not UNAVAILABLE.
	const promptly = timeout + 2*time.Second

	t.Run("HTTP", func(t *testing.T) {
		var r gqlResponse
		took := timed(func() { r = g.queryWithin(t, time.Minute, token, slowUsersQuery, filter) })
		t.Logf("answered in %v: %d %+v", took, r.Status, r.Errors)
		if r.code() != "UNAVAILABLE" || took > promptly {
			t.Errorf("answered in %v: %+v", took, r.Errors)
		}
	})

	t.Run("websocket", func(t *testing.T) {
		c := g.dialTransportWS(t, nil)
		c.init(map[string]any{"Authorization": "Token " + token})
		var next transportWSMessage
		took := timed(func() {
			c.send(map[string]any{"id": "slow", "type": "subscribe", "payload": map[string]any{"query": slowUsersQuery, "variables": filter}})
			next = c.mustNext("next")
		})
		var payload struct {
			Errors []gqlError `json:"errors"`
		}
		_ = json.Unmarshal(next.Payload, &payload)
		t.Logf("answered in %v: %.200s", took, next.Payload)
		if len(payload.Errors) == 0 || payload.Errors[0].Extensions["code"] != "UNAVAILABLE" || took > promptly {
			t.Errorf("answered in %v: %.300s", took, next.Payload)
		}
		c.mustNext("complete")
		// The socket outlives the timeout, and runs what fits in it.
		if got := c.run("quick", meQuery); !strings.Contains(got, `"username":"patient"`) {
			t.Errorf("after the timeout: %s", got)
		}
		c.conn.Close(websocket.StatusNormalClosure, "")
	})

	t.Run("waiting its turn", func(t *testing.T) {
		var answers sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for range 8 {
			answers.Go(func() {
				var r gqlResponse
				took := timed(func() { r = g.queryWithin(t, time.Minute, token, slowUsersQuery, filter) })
				mu.Lock()
				codes[r.code()]++
				mu.Unlock()
				if took > promptly {
					t.Errorf("answered after %v: %+v", took, r.Errors)
				}
			})
		}
		answers.Wait()
		t.Logf("answers by code: %v", codes)
		if codes["UNAVAILABLE"] != 8 {
			t.Errorf("answers by code: %v; want every one UNAVAILABLE", codes)
		}
	})
}
