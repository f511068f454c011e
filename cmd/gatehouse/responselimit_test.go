package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// A response larger than --response-limit is not sent: the client gets
// RESPONSE_TOO_LARGE, whose message names the limit, instead. Over HTTP
// it is answered as a request error is (no data entry; 400 for
// application/graphql-response+json, 200 for application/json), over a
// websocket as the operation's next message, and by a REST dialect as 500
// with the message as its detail: a route's page is bounded, and the
// client cannot ask it for fewer fields, so the service is the one to fix
// it. Responses within the limit are answered as before.
func TestResponseLimit(t *testing.T) {
	g := newTestGateway(t, "--response-limit=4096")
	seedUsers(t, g.store, "member", 120, "!")
	token := g.staff(t, "root", true)
	const large = `{ users(first: 100) { nodes { id username email } } }`
	body := marshalString(t, map[string]any{"query": large})
	auth := func(h http.Header) http.Header {
		h.Set("Authorization", "Token "+token)
		return h
	}
	refused := func(t *testing.T, code, message string) {
		t.Helper()
		if code != "RESPONSE_TOO_LARGE" || !strings.Contains(message, "4 KiB") {
			t.Errorf("code %s, message %q", code, message)
		}
	}
	firstError := func(raw []byte) (code, message string) {
		var errs []gqlError
		_ = json.Unmarshal(raw, &errs)
		if len(errs) != 1 {
			t.Fatalf("errors: %s", raw)
		}
		c, _ := errs[0].Extensions["code"].(string)
		return c, errs[0].Message
	}

	t.Run("HTTP", func(t *testing.T) {
		for accept, status := range map[string]int{mtJSON: http.StatusOK, mtGraphQLResponse: http.StatusBadRequest} {
			r := g.sendHTTP(t, http.MethodPost, "", auth(postHeader(accept)), body)
			if r.Status != status || r.hasData() {
				t.Errorf("Accept %s: %d %.300s", accept, r.Status, r.Body)
			}
			code, message := firstError(r.Fields["errors"])
			refused(t, code, message)
		}
		if r := g.query(t, token, meQuery, nil); dig(r.mustData(t), "me", "username") != "root" {
			t.Errorf("a small response: %+v", r)
		}
	})

	t.Run("websocket", func(t *testing.T) {
		c := g.dialTransportWS(t, nil)
		c.init(map[string]any{"Authorization": "Token " + token})
		c.send(map[string]any{"id": "large", "type": "subscribe", "payload": map[string]any{"query": large}})
		next := c.mustNext("next")
		var payload struct {
			Data   json.RawMessage `json:"data"`
			Errors json.RawMessage `json:"errors"`
		}
		if err := json.Unmarshal(next.Payload, &payload); err != nil || len(payload.Data) > 0 && string(payload.Data) != "null" {
			t.Errorf("next: %.300s", next.Payload)
		}
		code, message := firstError(payload.Errors)
		refused(t, code, message)
		c.mustNext("complete")
		if got := c.run("small", meQuery); !strings.Contains(got, `"username":"root"`) {
			t.Errorf("a small response: %s", got)
		}
		c.conn.Close(websocket.StatusNormalClosure, "")
	})

	t.Run("REST", func(t *testing.T) {
		r := g.rest(t, http.MethodGet, "/api/users?limit=100", token, "", "")
		var doc struct {
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal(r.Body, &doc); err != nil || r.Status != http.StatusInternalServerError {
			t.Fatalf("%d %.300s", r.Status, r.Body)
		}
		refused(t, "RESPONSE_TOO_LARGE", doc.Detail)
		if r := g.rest(t, http.MethodGet, "/api/users?limit=2", token, "", ""); r.Status != http.StatusOK {
			t.Errorf("a small page: %d %.300s", r.Status, r.Body)
		}
	})
}
