package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Every operation passes one admission, whichever transport carries it:
// each shape past a limit is refused over HTTP and over a websocket with
// the same error, before any resolver runs, and promptly. Checks kept by
// one transport alone once let a websocket message nested 9,900 levels
// cost 1.5 s of CPU that HTTP refused.
func TestOverLimitOperationsAreRefusedAlikeOnEveryTransport(t *testing.T) {
	g := newServedGateway(t)
	token := g.signUp(t, "shaper", "shaper-password")
	ws := newSockets(t, g, nil)

	for _, shape := range overLimitShapes() {
		t.Run(shape.name, func(t *testing.T) {
			start := time.Now()
			overHTTP := g.query(t, token, shape.doc, shape.vars)
			httpTook := time.Since(start)
			start = time.Now()
			overSocket := ws.send(t, token, shape.doc, shape.vars)
			socketTook := time.Since(start)

			if overHTTP.code() != shape.code || len(overHTTP.Errors) != 1 || overHTTP.Data != nil {
				t.Fatalf("over HTTP: %+v, want one %s and no data", overHTTP, shape.code)
			}
			if len(overSocket.Errors) != 1 || overSocket.Errors[0].Message != overHTTP.Errors[0].Message || overSocket.code() != shape.code {
				t.Fatalf("over a websocket: %+v; over HTTP: %+v", overSocket.Errors, overHTTP.Errors)
			}
			// Refusals come before any work: well under the seconds each
			// shape once cost, even on a loaded machine.
			for transport, took := range map[string]time.Duration{"HTTP": httpTook, "websocket": socketTook} {
				if took > 500*time.Millisecond {
					t.Errorf("refused over %s after %v", transport, took)
				}
			}
		})
	}
}

type overLimitShape struct {
	name string
	doc  string
	vars map[string]any
	code string
}

// overLimitShapes are the attacks that once got through one transport or
// one price, each past one limit.
func overLimitShapes() []overLimitShape {
	nested := map[string]any{"isActive": true}
	for range 9900 {
		nested = map[string]any{"not": nested}
	}
	list := make([]any, 19_000)
	for i := range list {
		list[i] = fmt.Sprintf("user%05d", i)
	}
	var ors, counts, introspections, hashes strings.Builder
	for range 950 {
		ors.WriteString(`{username: {in: $names}} `)
	}
	for i := range 1000 {
		fmt.Fprintf(&counts, "c%d: users(first: 0) { totalCount } ", i)
	}
	for i := range 2000 {
		fmt.Fprintf(&introspections, "i%d: __schema { ...S } ", i)
	}
	for i := range 10 {
		fmt.Fprintf(&hashes, `p%d: changePassword(oldPassword: "guess %d", newPassword: "a new password") `, i, i)
	}
	deep := "{ me { " + strings.Repeat("createdBy { ", 20) + "id" + strings.Repeat(" }", 20) + " } }"
	return []overLimitShape{
		{"variables nested 9,900 levels", `query($f: UserFilter) { users(filter: $f) { nodes { id } } }`,
			map[string]any{"f": nested}, "VARIABLES_LIMIT_EXCEEDED"},
		{"a list of 19,000 names used 950 times", `query($names: [String!]) { users(filter: {or: [` + ors.String() + `]}) { nodes { id } } }`,
			map[string]any{"names": list}, "VARIABLES_LIMIT_EXCEEDED"},
		{"1,000 counts of empty pages", "{ " + counts.String() + "}", nil, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"the schema 2,000 times", "{ " + introspections.String() + "} fragment S on __Schema { types { name fields { name type { name ofType { name } } } } }",
			nil, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"ten password checks", "mutation { " + hashes.String() + "}", nil, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"selections 22 deep", deep, nil, "DEPTH_LIMIT_EXCEEDED"},
	}
}

// GraphiQL, graphql-codegen, Apollo's and Relay's tooling download the
// schema with graphql-js's introspection query, anonymous or with a token;
// under the default limits it is answered in full.
func TestStandardIntrospectionIsAnswered(t *testing.T) {
	g := newTestGateway(t)
	token := g.signUp(t, "explorer", "explorer-password")
	for _, file := range []string{"introspection-default.graphql", "introspection-all-options.graphql"} {
		query, err := os.ReadFile(filepath.Join("..", "..", "graph", "testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		for caller, tok := range map[string]string{"anonymous": "", "signed in": token} {
			r := g.query(t, tok, string(query), nil)
			types, _ := dig(r.mustData(t), "__schema", "types").([]any)
			if len(r.Errors) > 0 || len(types) < 50 {
				t.Errorf("%s, %s, POST: %d types, errors %+v", file, caller, len(types), r.Errors)
			}
			req, err := http.NewRequest(http.MethodGet, g.srv.URL+"/graphql?query="+url.QueryEscape(string(query)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tok != "" {
				req.Header.Set("Authorization", "Token "+tok)
			}
			r = g.do(t, req)
			types, _ = dig(r.mustData(t), "__schema", "types").([]any)
			if len(r.Errors) > 0 || len(types) < 50 {
				t.Errorf("%s, %s, GET: %d types, errors %+v", file, caller, len(types), r.Errors)
			}
		}
	}
}

// A websocket message is bounded as a request body is: a subscribe
// message larger than --body-limit closes the socket with 1009 (message
// too big) before it is decoded.
func TestWebsocketMessageIsBoundedAsABody(t *testing.T) {
	g := newServedGateway(t, "--body-limit=2048")
	ws := newSockets(t, g, nil)
	c := ws.client(t, "")
	c.send(map[string]any{"id": "small", "type": "subscribe", "payload": map[string]any{"query": "{ __typename }"}})
	if m, err := c.next(); err != nil || m.Type != "next" {
		t.Fatalf("a small message: %v %s", err, m.Type)
	}
	c.send(map[string]any{"id": "large", "type": "subscribe", "payload": map[string]any{"query": "{ __typename }" + strings.Repeat(" ", 4096)}})
	for {
		m, err := c.next()
		if err != nil {
			if status := websocket.CloseStatus(err); status != websocket.StatusMessageTooBig {
				t.Fatalf("closed with %v (%v), want 1009", status, err)
			}
			return
		}
		if m.ID == "large" {
			t.Fatalf("a message over the limit was answered: %s %s", m.Type, m.Payload)
		}
	}
}
