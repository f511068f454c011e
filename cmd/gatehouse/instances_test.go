package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/dispatch"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// twoGateways are two gateways on one database, as two instances behind a
// load balancer would be, each with its own token cache of the given TTL,
// both reading the clock now (nil: the system's).
func twoGateways(t *testing.T, ttl time.Duration, now func() time.Time) (a, b *testGateway) {
	t.Helper()
	stores := storetest.OpenShared(t, 2)
	arg := "--token-cache-ttl=" + ttl.String()
	opts := gateway.Options{Now: now}
	return newTestGatewayWith(t, stores[0], opts, arg), newTestGatewayWith(t, stores[1], opts, arg)
}

// eventually polls until cond holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two gateways on one database behave as one: nothing either keeps in
// memory outlives the token cache's TTL. Both read a clock the test moves,
// so each change on A is seen on B by the first request made once the TTL
// has passed, with no wait.
func TestTwoInstancesBehaveAsOne(t *testing.T) {
	const ttl = 5 * time.Second
	clock := &testClock{now: time.Now()}
	a, b := twoGateways(t, ttl, clock.Now)
	// seenOnB checks, once the TTL has passed, that B sees what A did.
	seenOnB := func(what string, seen bool) {
		t.Helper()
		if !seen {
			t.Errorf("%s: not seen on B once the token cache's TTL had passed", what)
		}
	}

	token := a.signUp(t, "nina", "nina-password")
	if dig(b.query(t, token, meQuery, nil).mustData(t), "me", "username") != "nina" {
		t.Fatal("a token issued by A does not work on B")
	}
	// B has the token cached now; signing out on A reaches B within the TTL.
	a.query(t, token, `mutation { signOut }`, nil).mustData(t)
	clock.advance(ttl)
	seenOnB("sign-out on A", b.query(t, token, meQuery, nil).Status == http.StatusUnauthorized)

	// Deactivation on A.
	root := a.staff(t, "root", true)
	token = a.signUp(t, "omar", "omar-password")
	b.query(t, token, meQuery, nil).mustData(t)
	a.query(t, root, `mutation { deactivateUser(id: "3") { id } }`, nil).mustData(t)
	clock.advance(ttl)
	seenOnB("deactivation on A", b.query(t, token, meQuery, nil).Status == http.StatusUnauthorized)

	// A revoked permission on A.
	token = a.signUp(t, "pia", "pia-password")
	a.query(t, root, `mutation { grantPermissions(userId: "4", permissionIds: ["13"]) { id } }`, nil).mustData(t) // add_client
	// The probe names a tag and code that do not exist: allowed, it fails
	// as bad input; denied, as FORBIDDEN.
	probe := `mutation($p: String!) { createClient(input: {phoneNumber: $p, mobileOperatorCodeId: "1", tagId: "1", timezone: "UTC"}) { id } }`
	clock.advance(ttl)
	seenOnB("a grant on A", b.query(t, token, probe, map[string]any{"p": "79160000000"}).code() == "BAD_USER_INPUT")
	a.query(t, root, `mutation { revokePermissions(userId: "4", permissionIds: ["13"]) { id } }`, nil).mustData(t)
	clock.advance(ttl)
	seenOnB("revocation on A", b.query(t, token, probe, map[string]any{"p": "79160000000"}).code() == "FORBIDDEN")
}

// Failed sign-ins on A and on B count together.
func TestThrottlingSpansInstances(t *testing.T) {
	a, b := twoGateways(t, time.Second, nil)
	policy := auth.ThrottlePolicy{Limit: 3, Window: time.Hour, BaseDelay: time.Minute, MaxDelay: time.Hour}
	for _, g := range []*testGateway{a, b} {
		g.accounts.AccountThrottle = policy
	}
	a.signUp(t, "quinn", "quinn-password")
	wrong := `mutation { signIn(username: "quinn", password: "wrong") { token } }`
	// Four failures, alternating: past the limit of three, the account is
	// blocked on both, though neither saw more than two.
	for i, g := range []*testGateway{a, b, a, b} {
		if r := g.query(t, "", wrong, nil); r.code() != "BAD_USER_INPUT" {
			t.Fatalf("failure %d: %s", i+1, r.code())
		}
	}
	r := a.query(t, "", `mutation { signIn(username: "quinn", password: "quinn-password") { token } }`, nil)
	if r.code() != "TOO_MANY_REQUESTS" || r.Errors[0].Extensions["retryAfter"] == nil {
		t.Errorf("the right password while blocked: %+v", r.Errors)
	}
}

// A mailing created on A is delivered exactly once while dispatchers run
// in both gateways, and B's statistics agree with the receiver's count.
func TestTwoInstancesDeliverAMailingOnce(t *testing.T) {
	const clients = 250
	a, b := twoGateways(t, time.Second, nil)
	ctx := context.Background()
	tag, _ := a.store.CreateTag(ctx, "vip")
	code, _ := a.store.CreateOperatorCode(ctx, "916")
	in := make([]store.ClientInput, clients)
	for i := range in {
		in[i] = store.ClientInput{PhoneNumber: fmt.Sprintf("7916%07d", i), OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "UTC"}
	}
	if _, err := a.store.CreateClients(ctx, in); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	delivered := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		delivered[strings.TrimPrefix(r.URL.Path, "/sms/")]++
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()
	runCtx, stop := context.WithCancel(ctx)
	var stopped []func()
	defer func() {
		stop()
		for _, wait := range stopped {
			wait()
		}
	}()
	senders := &dispatchConfig{Sender: "webhook", WebhookURL: hook.URL + "/sms/{id}", SendConcurrency: 4}
	sent := []*sentCounter{{}, {}}
	for i, g := range []*testGateway{a, b} {
		wait, err := startDispatcher(runCtx, senders, g.store, g.logger, time.Second, sent[i])
		if err != nil {
			t.Fatal(err)
		}
		stopped = append(stopped, wait)
	}

	root := a.staff(t, "root", true)
	start := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	end := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	created := a.query(t, root, `mutation($s: Time!, $e: Time!) {
		createMailing(input: {text: "hello", startNotificationDate: $s, endNotificationDate: $e, tags: ["vip"], codes: ["916"]}) { id }
	}`, map[string]any{"s": start, "e": end}).mustData(t)
	id := dig(created, "createMailing", "id")
	eventually(t, 2*time.Minute, "every message sent", func() bool {
		stats := b.query(t, root, `query($id: ID!) { mailingStats(id: $id) { sent total } }`, map[string]any{"id": id}).mustData(t)
		return dig(stats, "mailingStats", "sent") == float64(clients)
	})
	mu.Lock()
	defer mu.Unlock()
	if len(delivered) != clients {
		t.Errorf("%d messages delivered, want %d", len(delivered), clients)
	}
	for msg, n := range delivered {
		if n != 1 {
			t.Errorf("message %s delivered %d times", msg, n)
		}
	}
	// Which dispatcher sent how many depends on who claimed first; the
	// split is logged, not asserted.
	t.Logf("A's dispatcher sent %d, B's %d", sent[0].n.Load(), sent[1].n.Load())
	if sent[0].n.Load()+sent[1].n.Load() != clients {
		t.Errorf("dispatchers counted %d and %d sends", sent[0].n.Load(), sent[1].n.Load())
	}
}

// sentCounter counts a dispatcher's successful sends.
type sentCounter struct{ n atomic.Int64 }

func (c *sentCounter) SendAttempted(o dispatch.Outcome, _ bool) {
	if o == dispatch.OutcomeSent {
		c.n.Add(1)
	}
}
func (c *sentCounter) WorkClaimed(store.WorkKind, bool) {}
