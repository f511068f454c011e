package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// With no --cors-origins, no origin may call the API from a browser: a
// preflight or a request from any origin gets no Access-Control-Allow-Origin.
func TestCORSIsClosedByDefault(t *testing.T) {
	g := newTestGateway(t)
	for _, origin := range []string{"http://evil.example", "https://app.example.com", "null"} {
		req, _ := http.NewRequest(http.MethodOptions, g.srv.URL+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		if v := g.raw(t, req).Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("%s: preflight allowed with %q", origin, v)
		}
		req = postRequest(t, g, "application/json", `{"query":"{ __typename }"}`)
		req.Header.Set("Origin", origin)
		if v := g.raw(t, req).Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("%s: request allowed with %q", origin, v)
		}
	}
}

// dialStatus opens a websocket to the gateway with the Origin given and
// answers the upgrade's status (101 when it was accepted).
func (g *testGateway) dialStatus(t testing.TB, origin string) int {
	t.Helper()
	return g.dialStatusWith(t, http.Header{"Origin": {origin}})
}

// dialStatusWith opens a websocket with the headers given, closes it, and
// answers the upgrade's status.
func (g *testGateway) dialStatusWith(t testing.TB, h http.Header) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(g.srv.URL, "http")+"/graphql", &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
		HTTPHeader:   h,
	})
	if err == nil {
		conn.CloseNow()
	}
	if resp == nil {
		t.Fatalf("%v: no answer to the upgrade: %v", h, err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	return resp.StatusCode
}

// A websocket may be opened from an allowed origin only: its scheme counts
// as much as its host, so a page served over plain HTTP on the allowed host
// (which anyone on the path can write) is refused.
func TestWebsocketOriginComparesSchemeAndHost(t *testing.T) {
	g := newTestGateway(t, "--cors-origins=https://app.example.com")
	for origin, want := range map[string]int{
		"https://app.example.com":  http.StatusSwitchingProtocols,
		"http://app.example.com":   http.StatusForbidden,
		"https://evil.example.com": http.StatusForbidden,
		"wss://app.example.com":    http.StatusForbidden,
	} {
		if got := g.dialStatus(t, origin); got != want {
			t.Errorf("Origin %s: %d, want %d", origin, got, want)
		}
	}
}
