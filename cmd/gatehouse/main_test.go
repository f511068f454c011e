package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/graph"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// asGatehouse, set in a process's environment, makes the test binary run
// as gatehouse itself (main), so tests can start real gateway and
// dispatcher processes and kill them.
const asGatehouse = "GATEHOUSE_TEST_RUN_AS_GATEHOUSE"

func TestMain(m *testing.M) {
	if os.Getenv(asGatehouse) != "" {
		main()
		os.Exit(0)
	}
	storetest.Main(m)
}

// testConfig is serve's configuration with no flags and no environment.
func testConfig(t testing.TB, args ...string) *config {
	t.Helper()
	cfg := &config{}
	if err := parseFlags("serve", args, func(string) string { return "" }, io.Discard, cfg.serveFlags); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testGateway is a gateway on its own database behind a real HTTP server,
// with the parts tests reach into.
type testGateway struct {
	gw            *gateway.Gateway
	store         *store.Store
	accounts      *graph.Accounts
	authenticator *auth.Authenticator
	logger        *slog.Logger
	srv           *httptest.Server
	logs          *syncBuffer
}

func newTestGateway(t testing.TB, args ...string) *testGateway {
	t.Helper()
	return newTestGatewayOn(t, storetest.Open(t, store.Options{}), args...)
}

func newTestGatewayOn(t testing.TB, s *store.Store, args ...string) *testGateway {
	t.Helper()
	return newTestGatewayWith(t, s, gateway.Options{}, args...)
}

// newTestGatewayWith is newTestGatewayOn with options (a clock, a
// ticker); the logger is the test gateway's.
func newTestGatewayWith(t testing.TB, s *store.Store, opts gateway.Options, args ...string) *testGateway {
	t.Helper()
	logs := &syncBuffer{}
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := buildTestGateway(t, s, testConfig(t, args...), opts, logs)
	g.srv = httptest.NewServer(g.gw)
	t.Cleanup(g.srv.Close)
	return g
}

// buildTestGateway wires a gateway as serve does, not yet served.
func buildTestGateway(t testing.TB, s *store.Store, cfg *config, opts gateway.Options, logs *syncBuffer) *testGateway {
	t.Helper()
	gw, err := gateway.New(cfg.Config, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &testGateway{gw: gw, store: s, accounts: gw.Accounts(), authenticator: gw.Authenticator(), logger: opts.Logger, logs: logs}
}

// gqlResponse is a GraphQL response as a client reads it.
type gqlResponse struct {
	Status int
	Header http.Header
	Data   map[string]any
	Errors []gqlError
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// fields are the field errors of the first error.
func (r gqlResponse) fields() map[string]any {
	if len(r.Errors) == 0 {
		return nil
	}
	f, _ := r.Errors[0].Extensions["fields"].(map[string]any)
	return f
}

// query POSTs a GraphQL operation with an optional token.
func (g *testGateway) query(t testing.TB, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	h := http.Header{"Content-Type": {"application/json"}}
	if token != "" {
		h.Set("Authorization", "Token "+token)
	}
	return g.post(t, h, body)
}

func (g *testGateway) post(t testing.TB, h http.Header, body []byte) gqlResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.srv.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	return g.do(t, req)
}

func (g *testGateway) do(t testing.TB, req *http.Request) gqlResponse {
	t.Helper()
	return doGraphQLWith(t, g.srv.Client(), req)
}

// doGraphQLWith sends a request and reads a GraphQL answer.
func doGraphQLWith(t testing.TB, client *http.Client, req *http.Request) gqlResponse {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := gqlResponse{Status: resp.StatusCode, Header: resp.Header}
	var doc struct {
		Data   map[string]any `json:"data"`
		Errors []gqlError     `json:"errors"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("response is not JSON (%d): %q", resp.StatusCode, raw)
	}
	out.Data, out.Errors = doc.Data, doc.Errors
	return out
}

// mustData fails the test unless the response has data and no errors.
func (r gqlResponse) mustData(t testing.TB) map[string]any {
	t.Helper()
	if len(r.Errors) > 0 || r.Status != http.StatusOK {
		t.Fatalf("status %d, errors %+v", r.Status, r.Errors)
	}
	return r.Data
}

// signUp creates a user and returns their token.
func (g *testGateway) signUp(t testing.TB, username, password string) string {
	t.Helper()
	r := g.query(t, "", `mutation($u: String!, $p: String!) { signUp(input: {username: $u, password: $p}) { token } }`,
		map[string]any{"u": username, "p": password})
	return dig(r.mustData(t), "signUp", "token").(string)
}

// staff creates a staff user who administers users (holding the four user
// permissions directly), or a superuser, and signs them in.
func (g *testGateway) staff(t testing.TB, username string, superuser bool) string {
	t.Helper()
	token := g.signUp(t, username, "staff-password")
	u, err := g.store.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	up := store.UserUpdate{IsStaff: &yes}
	if superuser {
		up.IsSuperuser = &yes
	}
	if _, err := g.store.UpdateUser(context.Background(), u.ID, up); err != nil {
		t.Fatal(err)
	}
	if _, err := g.store.ChangeUserPermissions(context.Background(), u.ID, store.SetAdd, []store.ID{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	g.authenticator.ForgetUser(int64(u.ID))
	return token
}

// dig walks a decoded JSON document.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) contains(sub string) bool { return strings.Contains(s.String(), sub) }
