package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// slowUsersQuery reads every user: no email holds any of the 199 strings
// its filter looks for, so the store scans them all on one of its
// connections, some hundreds of milliseconds for a few thousand users.
const slowUsersQuery = `query($f: UserFilter) { users(first: 1, filter: $f) { nodes { id } } }`

func slowUsersFilter() map[string]any {
	alternatives := make([]any, 199)
	for i := range alternatives {
		alternatives[i] = map[string]any{"email": map[string]any{"iContains": fmt.Sprintf("zq%03d", i)}}
	}
	return map[string]any{"f": map[string]any{"or": alternatives}}
}

// timed runs f and answers how long it took.
func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// A caller with eight slow operations at once has two of them run, and
// the others wait their turn, instead of holding every connection of the
// store: another caller's `me`, whose token is read from the store (the
// token cache is off), is answered in a fraction of one slow operation's
// time all the while. Unbounded, the eight held the store's four read
// connections and `me` waited seconds for one. A document refused before
// it runs is answered at once, even to the busy caller.
func TestCallerOperationsTakeTurns(t *testing.T) {
	if storetest.Engine() != storetest.SQLite {
		// The turns are the gateway's, the same whatever the store; the
		// MongoDB stand-in serves one connection, so a slow filter there
		// holds the store for everyone whoever takes turns.
		t.Skip("measured on the embedded store")
	}
	users := 3000
	if raceDetector {
		users = 500
	}
	s := storetest.Open(t, store.Options{})
	seedUsers(t, s, "member", users, "!")
	// The eight must not run out of time while they wait their turns:
	// here they all run to their end.
	// Slow filters, past what the admission lets one operation scan.
	g := newTestGatewayOn(t, s, "--token-cache-ttl=0", "--request-timeout=10m", "--scan-limit=100000")
	hog := g.signUp(t, "hog", "hog-password")
	bystander := g.signUp(t, "bystander", "bystander-pass")
	filter := slowUsersFilter()

	var alone time.Duration
	for range 2 { // the second is warm
		alone = timed(func() { g.query(t, hog, slowUsersQuery, filter).mustData(t) })
	}
	t.Logf("one slow operation alone: %v", alone)

	var hogs sync.WaitGroup
	start := time.Now()
	for range 8 {
		hogs.Go(func() {
			r := g.queryWithin(t, 2*time.Minute, hog, slowUsersQuery, filter)
			if len(r.Errors) > 0 || r.Status != 200 {
				t.Errorf("a slow operation that waited its turn: %d %+v", r.Status, r.Errors)
			}
		})
	}
	time.Sleep(alone / 4) // the slow operations are under way
	var slowest time.Duration
	for range 3 {
		slowest = max(slowest, timed(func() {
			if r := g.query(t, bystander, meQuery, nil); dig(r.mustData(t), "me", "username") != "bystander" {
				t.Errorf("me: %+v", r)
			}
		}))
	}
	// A document the gateway refuses has no work to wait for, though its
	// caller's turns are taken.
	var refusal gqlResponse
	refused := timed(func() { refusal = g.query(t, hog, `{ noSuchField }`, nil) })
	hogs.Wait()
	t.Logf("the bystander's slowest me during them: %v; the eight took %v", slowest, time.Since(start))
	if slowest > alone/2 {
		t.Errorf("the bystander's me took %v while the other caller's slow operations ran, more than half of one (%v)", slowest, alone)
	}
	t.Logf("the busy caller's refused document was answered in %v", refused)
	if refusal.code() != "GRAPHQL_VALIDATION_FAILED" || refused > alone/2 {
		t.Errorf("the busy caller's refused document was answered in %v: %+v", refused, refusal.Errors)
	}
}
