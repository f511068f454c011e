package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Two Authorization headers are refused, on every surface: a proxy that
// reads the last and a gateway that reads the first would disagree about
// who is calling.
func TestTwoAuthorizationHeadersAreRefused(t *testing.T) {
	g := newTestGateway(t)
	_, staff := g.member(t, "twoheads", true, 1, 2, 3, 4)
	_, other := g.member(t, "otherhead", false)
	const message = "Invalid token header. Send one Authorization header."
	for _, pair := range [][]string{
		{"Token " + staff, "Token " + other},
		{"Token " + staff, "Token " + staff},
		{"Token " + staff, ""},
		{"Basic eDp5", "Token " + staff},
	} {
		send := func(method, path, contentType, body string) rawResponse {
			t.Helper()
			return g.send(t, method, path, http.Header{"Authorization": pair}, contentType, body)
		}
		r := send("POST", "/graphql", mediaJSONBody, `{"query": "{ me { username } }"}`)
		if r.Status != http.StatusUnauthorized || r.errorDoc(t)[0].Extensions["code"] != "UNAUTHENTICATED" || r.Header.Get("WWW-Authenticate") != "Token" {
			t.Errorf("GraphQL, %q: %d %s", pair, r.Status, r.Body)
		}
		for _, c := range []struct{ path, want string }{
			{"/api/users/1", `{"detail":"` + message + `"}`},
			{"/api/users/", `{"detail":"` + message + `"}`},
			{"/v1/users/1", `{"detail":"` + message + `"}`},
			{"/api/v1/clients/", `{"detail":"` + message + `"}`},
			{"/users/1", `"detail":"` + message + `"`},
		} {
			r := send("GET", c.path, "", "")
			if r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), c.want) {
				t.Errorf("GET %s, %q: %d %s", c.path, pair, r.Status, r.Body)
			}
		}
		// A write is refused before it runs.
		if r := send("PATCH", "/api/users/2/", mediaJSONBody, `{"first_name": "Changed"}`); r.Status != http.StatusUnauthorized {
			t.Errorf("PATCH, %q: %d %s", pair, r.Status, r.Body)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(g.srv.URL, "http")+"/graphql", &websocket.DialOptions{
			Subprotocols: []string{"graphql-transport-ws"},
			HTTPHeader:   http.Header{"Authorization": pair},
		})
		cancel()
		if err == nil {
			conn.CloseNow()
			t.Errorf("websocket upgrade, %q: accepted", pair)
		} else if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("websocket upgrade, %q: %v %v", pair, resp, err)
		}
	}
	if u, err := g.store.UserByID(context.Background(), 2); err != nil || u.FirstName != "" {
		t.Errorf("a refused request changed the user: %+v %v", u, err)
	}
}
