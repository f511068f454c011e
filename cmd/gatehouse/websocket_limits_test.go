package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
	giveUp := time.After(10 * time.Second)
	for {
		select {
		case <-closed:
			return
		case <-giveUp:
			t.Fatal("the trickling request was still open after 10s with a read timeout of 1s")
		case <-trickle.C:
			_, _ = conn.Write([]byte(" "))
		}
	}
}

// A websocket, once its handshake succeeds, outlives the read timeout: a
// subscription may stay open for hours.
func TestWebsocketOutlivesTheReadTimeout(t *testing.T) {
	g := newServedGateway(t, "--read-timeout=1s", "--write-timeout=1s")
	c := g.dialTransportWS(t, nil)
	c.init(nil)
	time.Sleep(2500 * time.Millisecond) // past both timeouts
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
