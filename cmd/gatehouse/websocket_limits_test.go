package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// newServedGateway is a gateway behind the HTTP server serve runs, with its
// timeouts, rather than httptest's server, which has none.
func newServedGateway(t testing.TB, args ...string) *testGateway {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := buildTestGateway(t, storetest.Open(t, store.Options{}), testConfig(t, args...), gateway.Options{Logger: logger}, logs)
	g.srv = httptest.NewUnstartedServer(nil)
	g.srv.Config = g.gw.Server()
	g.srv.Start()
	t.Cleanup(g.srv.Close)
	return g
}

// A request that only claims to be a websocket upgrade (a POST with
// Upgrade: websocket) keeps the read timeout: one that trickles its body a
// byte at a time is cut off, as any other request is.
func TestUpgradeHeaderKeepsTheReadTimeout(t *testing.T) {
	g := newServedGateway(t, "--read-timeout=1s")
	trickleUntilCut(t, g)
}

// trickleUntilCut sends a POST that claims to be a websocket upgrade and
// trickles its body a byte every 100ms, and returns once the server has
// cut the connection off, which its read timeout must do.
func trickleUntilCut(t *testing.T, g *testGateway) {
	t.Helper()
	conn, err := net.Dial("tcp", g.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /graphql HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		close(closed)
	}()
	trickle := time.NewTicker(100 * time.Millisecond)
	defer trickle.Stop()
	giveUp := time.After(30 * time.Second)
	for {
		select {
		case <-closed:
			return
		case <-giveUp:
			t.Fatal("the trickling request was still open after 30s; the read timeout should have cut it")
		case <-trickle.C:
			_, _ = conn.Write([]byte(" "))
		}
	}
}

// A websocket, once its handshake succeeds, outlives the read timeout: a
// subscription may stay open for hours. The test does not sleep past the
// timeouts: a request started after the handshake, on the same server, is
// cut off by its read timeout, so the socket's own read and write
// deadlines, set earlier and as long, have passed too by then.
func TestWebsocketOutlivesTheReadTimeout(t *testing.T) {
	g := newServedGateway(t, "--read-timeout=1s", "--write-timeout=1s")
	c := g.dialTransportWS(t, nil)
	c.init(nil)
	trickleUntilCut(t, g)
	c.send(map[string]any{"type": "ping"})
	var m transportWSMessage
	if err := wsjson.Read(c.ctx, c.conn, &m); err != nil || m.Type != "pong" {
		t.Fatalf("after the timeouts: %+v %v", m, err)
	}
}

// One client address holds at most --websockets-per-client sockets at once;
// past that the upgrade is refused with 429, and a socket closed frees its
// place.
func TestWebsocketsPerClientAreCapped(t *testing.T) {
	g := newTestGateway(t, "--websockets-per-client=3")
	var open []*transportWSClient
	for range 3 {
		c := g.dialTransportWS(t, nil)
		c.init(nil)
		open = append(open, c)
	}
	if got := g.dialStatus(t, ""); got != http.StatusTooManyRequests {
		t.Fatalf("a fourth socket: %d, want 429", got)
	}
	open[0].conn.CloseNow()
	deadline := time.Now().Add(5 * time.Second)
	for g.dialStatus(t, "") != http.StatusSwitchingProtocols {
		if time.Now().After(deadline) {
			t.Fatal("a closed socket did not free its place")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A graphql-transport-ws client that vanishes without closing (it stops
// reading, answers no ping and keeps its TCP connection open) is
// disconnected by the gateway once two intervals of --websocket-ping pass
// unanswered, three at most after it went silent, and its place is freed
// for another socket from its address; a client that answers its pings
// stays connected all the while.
func TestSilentWebsocketIsClosedAndItsPlaceFreed(t *testing.T) {
	const ping = 300 * time.Millisecond
	g := newTestGateway(t, "--websockets-per-client=2", "--websocket-ping="+ping.String())
	token := g.signUp(t, "silent", "silent-password")

	live := g.dialTransportWS(t, nil)
	live.init(nil)
	pongs, liveEnded := make(chan struct{}, 100), make(chan error, 1)
	go func() {
		for {
			var m transportWSMessage
			if err := wsjson.Read(live.ctx, live.conn, &m); err != nil {
				liveEnded <- err
				return
			}
			if m.Type == "ping" {
				if err := wsjson.Write(live.ctx, live.conn, transportWSMessage{Type: "pong"}); err != nil {
					liveEnded <- err
					return
				}
				pongs <- struct{}{}
			}
		}
	}()

	silent := g.dialTransportWS(t, nil)
	silent.init(map[string]any{"Authorization": "Token " + token})
	wentSilent := time.Now()
	if got := g.dialStatus(t, ""); got != http.StatusTooManyRequests {
		t.Fatalf("a third socket while both are open: %d, want 429", got)
	}
	// Three intervals, and room for a loaded machine to run the timers
	// late: without pings the place is never freed, so any bound tells.
	bound := 3*ping + 4*time.Second
	for g.dialStatus(t, "") != http.StatusSwitchingProtocols {
		if time.Since(wentSilent) > bound {
			t.Fatalf("the silent socket still held its place %v after it went silent", bound)
		}
		time.Sleep(ping / 10)
	}
	t.Logf("the silent socket's place was freed %v after it went silent", time.Since(wentSilent))

	// The gateway closed the connection: read now, the silent client finds
	// the pings it was sent, then the connection's end.
	for {
		var m transportWSMessage
		err := wsjson.Read(silent.ctx, silent.conn, &m)
		if silent.ctx.Err() != nil {
			t.Fatal("the silent socket is still open")
		}
		if err != nil {
			break
		}
		if m.Type != "ping" {
			t.Errorf("the silent client was sent %s", m.Type)
		}
	}

	// The client that answers has answered a ping each interval, more of
	// them than would close a silent one, and is connected still.
	for range 4 {
		select {
		case <-pongs:
		case err := <-liveEnded:
			t.Fatalf("the socket that answers its pings was closed: %v", err)
		}
	}
}

// A legacy graphql-ws client, which gqlgen does not ping, is sent a
// keep-alive (ka) each --websocket-ping interval instead, and is not held
// to answering anything: it stays connected past the two intervals that
// close a silent graphql-transport-ws client.
func TestLegacyWebsocketIsKeptAlive(t *testing.T) {
	const ping = 300 * time.Millisecond
	g := newTestGateway(t, "--websocket-ping="+ping.String())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(g.srv.URL, "http")+"/graphql", &websocket.DialOptions{
		Subprotocols: []string{"graphql-ws"},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != "graphql-ws" {
		t.Fatalf("subprotocol %q", conn.Subprotocol())
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init"}); err != nil {
		t.Fatal(err)
	}
	var types []string
	start := time.Now()
	// One ka right after the ack, then one an interval: the fourth comes
	// three intervals on.
	for kas := 0; kas < 4; {
		var m transportWSMessage
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			t.Fatalf("after %v and %v: %v", time.Since(start), types, err)
		}
		types = append(types, m.Type)
		if m.Type == "ka" {
			kas++
		}
	}
	if types[0] != "connection_ack" || slices.Contains(types, "ping") {
		t.Errorf("the legacy client was sent %v", types)
	}
}

// serve refuses a --websocket-ping under a second, and 0, which would stop
// the pings that free a vanished client's socket.
func TestWebsocketPingIsChecked(t *testing.T) {
	for _, ping := range []string{"0s", "500ms", "-15s"} {
		err := testConfig(t, "--websocket-ping="+ping).validate()
		if err == nil || !strings.Contains(err.Error(), "--websocket-ping") {
			t.Errorf("--websocket-ping=%s: %v", ping, err)
		}
	}
	if err := testConfig(t, "--websocket-ping=1s").validate(); err != nil {
		t.Errorf("--websocket-ping=1s: %v", err)
	}
}
