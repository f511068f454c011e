package main

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// --request-timeout is a deadline on the request's context, which every
// store call takes: an operation still running when it passes is
// interrupted and answered UNAVAILABLE then, not when the store would have
// finished; and so is an operation still waiting for its caller's turn.
// The slow operation here takes seconds; the timeout is one.
func TestRequestTimeoutInterruptsTheAnswer(t *testing.T) {
	const timeout = time.Second
	s := storetest.Open(t, store.Options{})
	seedUsers(t, s, "member", 20_000, "!")
	g := newTestGatewayOn(t, s, "--request-timeout="+timeout.String())
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
