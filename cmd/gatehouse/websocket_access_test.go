package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// closedWith waits for the socket to be closed and answers its close
// status (-1 when it stays open past a generous wait).
func (c *transportWSClient) closedWith() websocket.StatusCode {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	for {
		if _, _, err := c.conn.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// handTicks paces the gateway's websocket token checks by hand: each
// tick is a check on every open socket. It records the period each
// socket asked for.
type handTicks struct {
	mu      sync.Mutex
	periods []time.Duration
	chans   []chan time.Time
}

func (h *handTicks) ticks(every time.Duration) (<-chan time.Time, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := make(chan time.Time, 1)
	h.periods = append(h.periods, every)
	h.chans = append(h.chans, c)
	return c, func() {}
}

// tick ticks every ticker once; one whose last tick is still untaken
// drops this one, as a time.Ticker does.
func (h *handTicks) tick() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.chans {
		select {
		case c <- time.Now():
		default:
		}
	}
}

// An operation started on a websocket is authorised as an HTTP request
// made at that moment would be: a permission lost since the socket opened
// is lost for it too, and a socket whose token is revoked or whose user is
// deactivated is closed with 4403 (graphql-ws's Forbidden) within the token
// cache's TTL, ending its running subscriptions. Within the TTL is two
// facts, each checked without waiting for time to pass: every socket
// checks its token once a TTL, and the check after a revocation closes the
// socket (the test ticks the checks by hand).
func TestWebsocketOperationsAreAuthorisedWhenTheyStart(t *testing.T) {
	const ttl = time.Second
	checks := &handTicks{}
	g := newTestGatewayWith(t, storetest.Open(t, store.Options{}), gateway.Options{Ticks: checks.ticks}, "--token-cache-ttl="+ttl.String())
	t.Cleanup(func() {
		checks.mu.Lock()
		defer checks.mu.Unlock()
		for _, every := range checks.periods {
			if every != ttl {
				t.Errorf("a socket checks its token every %v; the token cache's TTL is %v", every, ttl)
				break
			}
		}
		if len(checks.periods) == 0 {
			t.Error("no socket checks its token")
		}
	})
	ctx := context.Background()
	root := g.staff(t, "root", true)
	victim, _ := g.member(t, "victim", false)
	rename := func(name string) string {
		return `mutation { updateUser(id: "` + victim.String() + `", input: {firstName: "` + name + `"}) { firstName } }`
	}
	firstName := func() string {
		u, err := g.store.UserByID(ctx, victim)
		if err != nil {
			t.Fatal(err)
		}
		return u.FirstName
	}

	t.Run("a lost permission", func(t *testing.T) {
		editorID, editor := g.member(t, "editor", false, 2) // change_user
		c := g.dialTransportWS(t, nil)
		c.init(map[string]any{"Authorization": "Token " + editor})
		if got := c.run("1", rename("One")); !strings.Contains(got, `"One"`) {
			t.Fatalf("with change_user: %s", got)
		}
		g.query(t, root, `mutation($id: ID!) { revokePermissions(userId: $id, permissionIds: ["2"]) { id } }`, map[string]any{"id": editorID.String()}).mustData(t)
		if got := c.run("2", rename("Two")); !strings.Contains(got, "FORBIDDEN") {
			t.Errorf("after change_user was revoked: %s", got)
		}
		if got := firstName(); got != "One" {
			t.Errorf("the user is named %q", got)
		}
		// The token holds: the socket stays open and reads work.
		if got := c.run("3", `{ me { username } }`); !strings.Contains(got, `"editor"`) {
			t.Errorf("a read after the permission went: %s", got)
		}
	})

	t.Run("staff removed and deactivated", func(t *testing.T) {
		staffID, staff := g.member(t, "formerstaff", true)
		c := g.dialTransportWS(t, nil)
		c.init(map[string]any{"Authorization": "Token " + staff})
		if got := c.run("1", rename("Three")); !strings.Contains(got, `"Three"`) {
			t.Fatalf("as staff: %s", got)
		}
		g.query(t, root, `mutation($id: ID!) { updateUser(id: $id, input: {isStaff: false}) { id } deactivateUser(id: $id) { id } }`, map[string]any{"id": staffID.String()}).mustData(t)
		c.send(map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{"query": rename("Four")}})
		if status := c.closedWith(); status != 4403 {
			t.Errorf("closed with %d, want 4403", status)
		}
		if got := firstName(); got != "Three" {
			t.Errorf("a deactivated user's mutation ran: the user is named %q", got)
		}
	})

	t.Run("signed out over HTTP", func(t *testing.T) {
		_, token := g.member(t, "leaver", false)
		c := g.dialTransportWS(t, http.Header{"Authorization": {"Token " + token}})
		c.init(nil)
		if got := c.run("1", `{ me { username } }`); !strings.Contains(got, `"leaver"`) {
			t.Fatalf("before signing out: %s", got)
		}
		g.query(t, token, `mutation { signOut }`, nil).mustData(t)
		c.send(map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{"query": `{ me { username } }`}})
		if status := c.closedWith(); status != 4403 {
			t.Errorf("closed with %d, want 4403", status)
		}
	})

	t.Run("an idle socket whose token another instance revoked", func(t *testing.T) {
		_, token := g.member(t, "idler", false)
		c := g.dialTransportWS(t, nil)
		c.init(map[string]any{"Authorization": "Token " + token})
		c.run("1", `{ me { username } }`)
		// As another instance would: in the store, not in this one's cache.
		if err := g.store.DeleteUserTokens(ctx, mustUserID(t, g, "idler")); err != nil {
			t.Fatal(err)
		}
		checks.tick()
		if status := c.closedWith(); status != 4403 {
			t.Errorf("closed with %d, want 4403", status)
		}
	})

	t.Run("a running subscription", func(t *testing.T) {
		userID, token := g.member(t, "watcher", false)
		if _, err := g.store.CreateTag(ctx, "watched"); err != nil {
			t.Fatal(err)
		}
		if _, err := g.store.CreateOperatorCode(ctx, "999"); err != nil {
			t.Fatal(err)
		}
		start := time.Now().Add(-time.Minute)
		m, err := g.store.CreateMailing(ctx, store.MailingInput{Text: "hi", Start: start, End: start.Add(time.Hour), Tags: []string{"watched"}, Codes: []string{"999"}})
		if err != nil {
			t.Fatal(err)
		}
		c := g.dialTransportWS(t, nil)
		c.init(map[string]any{"Authorization": "Token " + token})
		c.send(map[string]any{"id": "p", "type": "subscribe", "payload": map[string]any{"query": `subscription($id: ID!) { mailingProgress(id: $id) { total } }`, "variables": map[string]any{"id": m.ID.String()}}})
		c.mustNext("next")
		g.query(t, root, `mutation($id: ID!) { deactivateUser(id: $id) { id } }`, map[string]any{"id": userID.String()}).mustData(t)
		checks.tick()
		if status := c.closedWith(); status != 4403 {
			t.Errorf("closed with %d, want 4403", status)
		}
	})
}

func mustUserID(t *testing.T, g *testGateway, username string) store.ID {
	t.Helper()
	u, err := g.store.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
