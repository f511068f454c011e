package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

const schemaQuery = `{ __schema { queryType { name } } }`

// refusal reads the code and reason of an introspection refused to the
// caller; "" for an answer.
func refusal(t *testing.T, payload []byte) (code, reason string) {
	t.Helper()
	var doc struct {
		Data   map[string]any
		Errors []gqlError
	}
	if err := json.Unmarshal(payload, &doc); err != nil {
		t.Fatalf("%s: %v", payload, err)
	}
	if len(doc.Errors) == 0 {
		if dig(doc.Data, "__schema", "queryType", "name") != "Query" {
			t.Errorf("neither an answer nor an error: %s", payload)
		}
		return "", ""
	}
	if doc.Data["__schema"] != nil {
		t.Errorf("refused, yet answered: %s", payload)
	}
	c, _ := doc.Errors[0].Extensions["code"].(string)
	r, _ := doc.Errors[0].Extensions["reason"].(string)
	return c, r
}

// --introspection=staff: active staff and superusers introspect, over HTTP
// and websocket; anyone else is told why not (UNAUTHENTICATED signed out,
// FORBIDDEN signed in), and __typename stays open to all. A websocket's
// caller is read again for each operation, so staff who lose their role
// lose introspection on a socket they opened before.
func TestIntrospectionForStaff(t *testing.T) {
	g := newTestGateway(t, "--introspection=staff")
	user := g.signUp(t, "user", "user-password")
	staffID, staff := g.member(t, "staffer", true)
	super := g.staff(t, "root", true)

	for _, c := range []struct{ who, token, code string }{
		{"anonymous", "", "UNAUTHENTICATED"},
		{"a user", user, "FORBIDDEN"},
		{"staff", staff, ""},
		{"a superuser", super, ""},
	} {
		for _, q := range []string{schemaQuery, `{ __type(name: "User") { name } }`} {
			r := g.query(t, c.token, q, nil)
			raw, _ := json.Marshal(map[string]any{"data": r.Data, "errors": r.Errors})
			if q != schemaQuery {
				if got := r.code(); got != c.code {
					t.Errorf("%s, %s: code %q, want %q", c.who, q, got, c.code)
				}
				continue
			}
			code, reason := refusal(t, raw)
			if code != c.code || (code != "" && reason != "introspection is for staff only") {
				t.Errorf("%s over HTTP: %q %q, want %q and the reason", c.who, code, reason, c.code)
			}
		}
		if dig(g.query(t, c.token, `{ __typename }`, nil).mustData(t), "__typename") != "Query" {
			t.Errorf("%s: __typename is refused", c.who)
		}
	}
	if g.logs.contains(`"level":"ERROR"`) {
		t.Errorf("refused introspection is logged as an error:\n%s", g.logs.String())
	}

	subscribe := func(ws *transportWSClient, id string) []byte {
		t.Helper()
		ws.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": schemaQuery}})
		return ws.mustNext("next").Payload
	}
	anon := g.dialTransportWS(t, nil)
	anon.init(nil)
	if code, _ := refusal(t, subscribe(anon, "1")); code != "UNAUTHENTICATED" {
		t.Errorf("anonymous over the websocket: %q", code)
	}
	ws := g.dialTransportWS(t, nil)
	ws.init(map[string]any{"Authorization": "Token " + staff})
	if code, _ := refusal(t, subscribe(ws, "1")); code != "" {
		t.Errorf("staff over the websocket: %q", code)
	}
	ws.mustNext("complete")

	// No longer staff: the same socket introspects no more.
	no := false
	if _, err := g.store.UpdateUser(context.Background(), staffID, store.UserUpdate{IsStaff: &no}); err != nil {
		t.Fatal(err)
	}
	g.authenticator.ForgetUser(int64(staffID))
	if code, reason := refusal(t, subscribe(ws, "2")); code != "FORBIDDEN" || !strings.Contains(reason, "staff") {
		t.Errorf("former staff over their open websocket: %q %q", code, reason)
	}
}

// The other values: true answers everyone (the default), false no one,
// staff included, with the reason it always gave.
func TestIntrospectionOnAndOff(t *testing.T) {
	for _, c := range []struct {
		arg, code, reason string
	}{
		{"--introspection", "", ""},
		{"--introspection=true", "", ""},
		{"--introspection=false", "FORBIDDEN", "introspection is disabled"},
	} {
		g := newTestGateway(t, c.arg)
		for _, token := range []string{"", g.staff(t, "root", true)} {
			r := g.query(t, token, schemaQuery, nil)
			raw, _ := json.Marshal(map[string]any{"data": r.Data, "errors": r.Errors})
			if code, reason := refusal(t, raw); code != c.code || reason != c.reason {
				t.Errorf("%s, token %v: %q %q, want %q %q", c.arg, token != "", code, reason, c.code, c.reason)
			}
		}
	}
	if err := parseFlags("serve", []string{"--introspection=operators"}, noEnv, &strings.Builder{}, (&config{}).serveFlags); err == nil ||
		!strings.Contains(err.Error(), "true, false or staff") {
		t.Errorf("--introspection=operators: %v", err)
	}
}
