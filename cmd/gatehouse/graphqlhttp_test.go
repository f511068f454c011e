package main

// GraphQL over HTTP (the spec's stage 2 draft, as graphql-http's server
// audit checks it) and graphql-transport-ws: the transport rules the gateway
// keeps, one test each.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

const (
	mtJSON            = "application/json"
	mtGraphQLResponse = "application/graphql-response+json"
)

// httpAnswer is a response as it came, for checks the JSON helpers hide:
// whether the data entry is there at all, and what the body says verbatim.
type httpAnswer struct {
	Status int
	Header http.Header
	Body   []byte
	Fields map[string]json.RawMessage
}

func (r httpAnswer) mediaType(t testing.TB) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("status %d: Content-Type %q: %v (body %s)", r.Status, r.Header.Get("Content-Type"), err, r.Body)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		t.Errorf("Content-Type %q: charset is not utf-8", r.Header.Get("Content-Type"))
	}
	return mt
}

func (r httpAnswer) hasData() bool {
	_, ok := r.Fields["data"]
	return ok
}

// code is extensions.code of the first error.
func (r httpAnswer) code() string {
	var errs []gqlError
	_ = json.Unmarshal(r.Fields["errors"], &errs)
	if len(errs) == 0 {
		return ""
	}
	c, _ := errs[0].Extensions["code"].(string)
	return c
}

// sendHTTP makes a request to /graphql (query is the raw query string) and
// insists that every answer is JSON with a Content-Type.
func (g *testGateway) sendHTTP(t testing.TB, method, query string, h http.Header, body string) httpAnswer {
	t.Helper()
	u := g.srv.URL + "/graphql"
	if query != "" {
		u += "?" + query
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if h != nil {
		req.Header = h
	}
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := httpAnswer{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if resp.Header.Get("Content-Type") == "" {
		t.Errorf("%s %s: status %d without a Content-Type", method, u, resp.StatusCode)
	}
	if err := json.Unmarshal(raw, &out.Fields); err != nil {
		t.Fatalf("%s %s: status %d, body is not a JSON object: %q", method, u, resp.StatusCode, raw)
	}
	return out
}

func postHeader(accept string) http.Header {
	h := http.Header{"Content-Type": {mtJSON}}
	if accept != "" {
		h.Set("Accept", accept)
	}
	return h
}

func getQueryString(query string, vars map[string]any) string {
	v := url.Values{"query": {query}}
	if vars != nil {
		b, _ := json.Marshal(vars)
		v.Set("variables", string(b))
	}
	return v.Encode()
}

// GET runs queries, with variables in the query string; a mutation over GET
// is refused with 405 and Allow: POST, and is not executed.
func TestGraphQLGet(t *testing.T) {
	g := newTestGateway(t)

	r := g.sendHTTP(t, http.MethodGet, getQueryString(`query($n: String!) { __type(name: $n) { name } }`, map[string]any{"n": "Query"}), nil, "")
	if r.Status != http.StatusOK || r.mediaType(t) != mtJSON || !strings.Contains(string(r.Body), `"__type":{"name":"Query"}`) {
		t.Errorf("GET query: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}

	for _, accept := range []string{"", mtJSON, mtGraphQLResponse} {
		h := http.Header{}
		if accept != "" {
			h.Set("Accept", accept)
		}
		r := g.sendHTTP(t, http.MethodGet, getQueryString(`mutation { signUp(input: {username: "over-get", password: "over-get-pass"}) { token } }`, nil), h, "")
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != http.MethodPost || r.hasData() || r.code() != "METHOD_NOT_ALLOWED" {
			t.Errorf("GET mutation (Accept %q): %d Allow %q %s", accept, r.Status, r.Header.Get("Allow"), r.Body)
		}
	}
	if _, err := g.store.UserByUsername(context.Background(), "over-get"); err == nil {
		t.Error("a mutation sent with GET was executed")
	}
	// The same mutation with POST goes through.
	g.signUp(t, "over-get", "over-get-pass")
}

// The response media type follows Accept, q-values included; application/json
// when Accept says nothing in particular; 406 when neither type is acceptable.
func TestGraphQLAccept(t *testing.T) {
	g := newTestGateway(t)
	cases := []struct {
		accept string
		want   string // media type, or "" for 406
	}{
		{"", mtJSON},
		{"*/*", mtJSON},
		{"application/*", mtJSON},
		{mtJSON, mtJSON},
		{mtGraphQLResponse, mtGraphQLResponse},
		{mtGraphQLResponse + ", " + mtJSON + ";q=0.9", mtGraphQLResponse}, // what the spec tells clients to send
		{mtJSON + ", " + mtGraphQLResponse, mtGraphQLResponse},            // equal q: the spec's own type
		{mtGraphQLResponse + ";q=0.5, " + mtJSON, mtJSON},
		{mtGraphQLResponse + "; charset=utf-8", mtGraphQLResponse},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", mtJSON}, // a browser
		{mtJSON + ";q=0, */*", mtGraphQLResponse},
		{"text/html", ""},
		{"application/xml, text/*", ""},
		{mtGraphQLResponse + ";q=0, " + mtJSON + ";q=0", ""},
	}
	for _, c := range cases {
		r := g.sendHTTP(t, http.MethodPost, "", postHeader(c.accept), `{"query": "{ __typename }"}`)
		if c.want == "" {
			if r.Status != http.StatusNotAcceptable || r.code() != "NOT_ACCEPTABLE" || r.hasData() {
				t.Errorf("Accept %q: %d %s, want 406", c.accept, r.Status, r.Body)
			}
			continue
		}
		if got := r.mediaType(t); r.Status != http.StatusOK || got != c.want || !r.hasData() {
			t.Errorf("Accept %q: %d %s %s, want 200 %s", c.accept, r.Status, got, r.Body, c.want)
		}
	}
	// GET negotiates the same way.
	h := http.Header{"Accept": {"text/html"}}
	if r := g.sendHTTP(t, http.MethodGet, getQueryString("{ __typename }", nil), h, ""); r.Status != http.StatusNotAcceptable {
		t.Errorf("GET with Accept text/html: %d %s", r.Status, r.Body)
	}
}

// A request error (the document does not parse or validate, a variable does
// not coerce, a limit is passed) gets no data entry; its status is 400 for a
// client that accepts application/graphql-response+json and 200 for a
// legacy application/json client, which can only trust a 200. A field error
// during execution is 200 either way.
func TestGraphQLRequestErrorStatus(t *testing.T) {
	g := newTestGateway(t, "--depth-limit", "3")
	requestErrors := []struct {
		name, body, code string
	}{
		{"parse", `{"query": "{"}`, "GRAPHQL_PARSE_FAILED"},
		{"validation", `{"query": "{ noSuchField8f31 }"}`, "GRAPHQL_VALIDATION_FAILED"},
		{"unknown operation", `{"query": "query A { __typename }", "operationName": "B"}`, "GRAPHQL_VALIDATION_FAILED"},
		{"variable coercion", `{"query": "query($n: String!) { __type(name: $n) { name } }", "variables": {"n": null}}`, "GRAPHQL_VALIDATION_FAILED"},
		{"depth limit", `{"query": "{ __schema { types { fields { type { name } } } } }"}`, "DEPTH_LIMIT_EXCEEDED"},
	}
	for _, c := range requestErrors {
		for accept, want := range map[string]int{mtGraphQLResponse: http.StatusBadRequest, mtJSON: http.StatusOK} {
			r := g.sendHTTP(t, http.MethodPost, "", postHeader(accept), c.body)
			if r.Status != want || r.mediaType(t) != accept || r.hasData() || r.code() != c.code {
				t.Errorf("%s, Accept %s: %d %s %s; want %d, no data, code %s", c.name, accept, r.Status, r.Header.Get("Content-Type"), r.Body, want, c.code)
			}
		}
	}
	for _, accept := range []string{mtGraphQLResponse, mtJSON} {
		r := g.sendHTTP(t, http.MethodPost, "", postHeader(accept), `{"query": "{ me { id } }"}`)
		if r.Status != http.StatusOK || !r.hasData() || r.code() != "UNAUTHENTICATED" {
			t.Errorf("field error, Accept %s: %d %s", accept, r.Status, r.Body)
		}
	}
}

// A request that is not a GraphQL-over-HTTP request at all (no query, a
// parameter of the wrong type, a body that is not a JSON object) is 400, and
// the answer never quotes what was sent.
func TestGraphQLNotWellFormed(t *testing.T) {
	g := newTestGateway(t)
	const secret = "hunter2-secret-8f31"
	bodies := []string{
		`{"qeury": "{ __typename }", "password": "` + secret + `"}`,
		`{"query": null, "x": "` + secret + `"}`,
		`{"query": {"q": "` + secret + `"}}`,
		`{"query": ["` + secret + `"]}`,
		`{"query": "{ __typename }", "variables": "` + secret + `"}`,
		`{"query": "{ __typename }", "variables": ["` + secret + `"]}`,
		`{"query": "{ __typename }", "extensions": "` + secret + `"}`,
		`{"query": "{ __typename }", "operationName": ["` + secret + `"]}`,
		`["` + secret + `"]`,
		`"` + secret + `"`,
		`{"query": "` + secret + ``, // not JSON: the body guard's 400
	}
	for _, body := range bodies {
		for _, accept := range []string{mtJSON, mtGraphQLResponse} {
			r := g.sendHTTP(t, http.MethodPost, "", postHeader(accept), body)
			if r.Status != http.StatusBadRequest || r.code() != "BAD_REQUEST" || r.hasData() {
				t.Errorf("%s (Accept %s): %d %s, want 400 BAD_REQUEST", body, accept, r.Status, r.Body)
			}
			if bytes.Contains(r.Body, []byte(secret)) {
				t.Errorf("%s: the answer quotes the request: %s", body, r.Body)
			}
		}
	}
	for _, query := range []string{"", "operationName=A", url.Values{"query": {"{ __typename }"}, "variables": {"{" + secret}}.Encode()} {
		r := g.sendHTTP(t, http.MethodGet, query, nil, "")
		if r.Status != http.StatusBadRequest || r.code() != "BAD_REQUEST" || bytes.Contains(r.Body, []byte(secret)) {
			t.Errorf("GET ?%s: %d %s", query, r.Status, r.Body)
		}
	}
	// Parameters that are null or absent are fine, and so are others the
	// server does not know.
	r := g.sendHTTP(t, http.MethodPost, "", postHeader(mtJSON), `{"query": "{ __typename }", "operationName": null, "variables": null, "extensions": null, "persisted": 1}`)
	if r.Status != http.StatusOK || r.code() != "" {
		t.Errorf("null parameters: %d %s", r.Status, r.Body)
	}
}

// A POST must be application/json in UTF-8: the charset parameter may say
// so in any case; any other charset, another media type (the response type
// included) or none is 415 with Accept naming the one taken. Bodies over
// the limit are 413.
func TestGraphQLPostContentType(t *testing.T) {
	g := newTestGateway(t, "--body-limit", "200")
	const query = `{"query": "{ __type(name: \"Run🏃Swim🏊\") { name } }"}`
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8", `application/json; charset="utf-8"`} {
		r := g.sendHTTP(t, http.MethodPost, "", http.Header{"Content-Type": {ct}}, query)
		if r.Status != http.StatusOK || r.code() != "" || !r.hasData() {
			t.Errorf("Content-Type %q: %d %s", ct, r.Status, r.Body)
		}
	}
	for _, ct := range []string{"", "application/json; charset=iso-8859-1", "application/json; charset=utf-16", "text/plain", "text/plain; charset=utf-8",
		"application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/graphql", mtGraphQLResponse, "application/json+x", "nonsense"} {
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		r := g.sendHTTP(t, http.MethodPost, "", h, query)
		if r.Status != http.StatusUnsupportedMediaType || r.code() != "UNSUPPORTED_MEDIA_TYPE" || r.Header.Get("Accept") != mtJSON {
			t.Errorf("Content-Type %q: %d Accept %q %s, want 415", ct, r.Status, r.Header.Get("Accept"), r.Body)
		}
	}
	r := g.sendHTTP(t, http.MethodPost, "", postHeader(""), `{"query": "{ __typename }", "variables": {"pad": "`+strings.Repeat("x", 300)+`"}}`)
	if r.Status != http.StatusRequestEntityTooLarge || r.code() != "PAYLOAD_TOO_LARGE" {
		t.Errorf("body over the limit: %d %s", r.Status, r.Body)
	}
}

// Methods /graphql does not take are 405 with the methods it does take, in
// GraphQL's error shape.
func TestGraphQLMethodNotAllowed(t *testing.T) {
	g := newTestGateway(t)
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
		r := g.sendHTTP(t, m, "", postHeader(""), `{"query": "{ __typename }"}`)
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, POST, OPTIONS" || r.code() != "METHOD_NOT_ALLOWED" {
			t.Errorf("%s: %d Allow %q %s", m, r.Status, r.Header.Get("Allow"), r.Body)
		}
	}
	req, _ := http.NewRequest(http.MethodPut, g.srv.URL+"/healthz", nil)
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("PUT /healthz: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// Subscriptions are served over the websocket only: over HTTP they are a
// request error, never a one-event answer.
func TestGraphQLSubscriptionOverHTTP(t *testing.T) {
	g := newTestGateway(t)
	token := g.signUp(t, "sub-over-http", "sub-over-http-pass")
	fields := g.query(t, "", `{ __type(name: "Subscription") { fields { name } } }`, nil).mustData(t)
	if !strings.Contains(marshalString(t, fields), `"mailingProgress"`) {
		t.Skip("no mailingProgress subscription in the schema")
	}
	h := postHeader(mtGraphQLResponse)
	h.Set("Authorization", "Token "+token)
	r := g.sendHTTP(t, http.MethodPost, "", h, `{"query": "subscription { mailingProgress(id: \"1\") { total } }"}`)
	if r.Status != http.StatusBadRequest || r.code() != "BAD_REQUEST" || r.hasData() {
		t.Errorf("subscription over POST: %d %s", r.Status, r.Body)
	}
	r = g.sendHTTP(t, http.MethodGet, getQueryString(`subscription { mailingProgress(id: "1") { total } }`, nil), http.Header{"Authorization": {"Token " + token}}, "")
	if r.Status != http.StatusOK || r.code() != "BAD_REQUEST" || r.hasData() {
		t.Errorf("subscription over GET (application/json): %d %s", r.Status, r.Body)
	}
}

func marshalString(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// transportWSMessage is a graphql-transport-ws message.
type transportWSMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// transportWSClient is the smallest graphql-transport-ws client: it answers pings
// and hands every other message to the test.
type transportWSClient struct {
	t    testing.TB
	ctx  context.Context
	conn *websocket.Conn
}

func (g *testGateway) dialTransportWS(t testing.TB, header http.Header) *transportWSClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(g.srv.URL, "http")+"/graphql", &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
		HTTPHeader:   header,
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	t.Cleanup(func() { conn.CloseNow() })
	if conn.Subprotocol() != "graphql-transport-ws" {
		t.Fatalf("subprotocol %q", conn.Subprotocol())
	}
	return &transportWSClient{t: t, ctx: ctx, conn: conn}
}

func (c *transportWSClient) send(m any) {
	c.t.Helper()
	if err := wsjson.Write(c.ctx, c.conn, m); err != nil {
		c.t.Fatalf("write %+v: %v", m, err)
	}
}

// next reads the next message that is not a ping or pong; err is the read
// error (a close) instead.
func (c *transportWSClient) next() (transportWSMessage, error) {
	for {
		var m transportWSMessage
		if err := wsjson.Read(c.ctx, c.conn, &m); err != nil {
			return m, err
		}
		switch m.Type {
		case "ping":
			c.send(transportWSMessage{Type: "pong"})
		case "pong":
		default:
			return m, nil
		}
	}
}

func (c *transportWSClient) mustNext(want string) transportWSMessage {
	c.t.Helper()
	m, err := c.next()
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", want, err)
	}
	if m.Type != want {
		c.t.Fatalf("got %s %s, want %s", m.Type, m.Payload, want)
	}
	return m
}

func (c *transportWSClient) init(payload map[string]any) {
	c.t.Helper()
	c.send(map[string]any{"type": "connection_init", "payload": payload})
	c.mustNext("connection_ack")
}

// run subscribes to a one-result operation and returns its one next payload,
// insisting on complete right after.
func (c *transportWSClient) run(id, query string) string {
	c.t.Helper()
	c.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query}})
	next := c.mustNext("next")
	if next.ID != id {
		c.t.Errorf("next for id %q, want %q", next.ID, id)
	}
	if done := c.mustNext("complete"); done.ID != id {
		c.t.Errorf("complete for id %q, want %q", done.ID, id)
	}
	return string(next.Payload)
}

// graphql-transport-ws: a client with a token in connection_init runs
// { __typename } and gets next then complete; a client authenticated by the
// upgrade request's header keeps that caller when connection_init carries no
// token; a wrong token closes the socket with 4403 before any ack.
func TestGraphQLWebsocket(t *testing.T) {
	g := newTestGateway(t)
	token := g.signUp(t, "ws-user", "ws-user-pass")

	c := g.dialTransportWS(t, nil)
	c.init(map[string]any{"Authorization": "Token " + token})
	if got := c.run("1", "{ __typename }"); got != `{"data":{"__typename":"Query"}}` {
		t.Errorf("{ __typename }: %s", got)
	}
	if got := c.run("2", "{ me { username } }"); !strings.Contains(got, `"username":"ws-user"`) {
		t.Errorf("me with the connection_init token: %s", got)
	}
	c.conn.Close(websocket.StatusNormalClosure, "")

	c = g.dialTransportWS(t, http.Header{"Authorization": {"Token " + token}})
	c.init(nil)
	if got := c.run("1", "{ me { username } }"); !strings.Contains(got, `"username":"ws-user"`) {
		t.Errorf("me with the upgrade request's token: %s", got)
	}
	c.conn.Close(websocket.StatusNormalClosure, "")

	for _, wrong := range []string{"Token " + strings.Repeat("0", 40), "Token not-a-token", "Token a b"} {
		c = g.dialTransportWS(t, nil)
		c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": wrong}})
		m, err := c.next()
		if err == nil {
			t.Errorf("%q: got %s %s, want the socket closed", wrong, m.Type, m.Payload)
			continue
		}
		if status := websocket.CloseStatus(err); status != 4403 {
			t.Errorf("%q: closed with %d (%v), want 4403", wrong, status, err)
		}
	}
}
