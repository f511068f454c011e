package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	// Named apart: the harness's own type is gateway.
	wiring "github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// now is the fixed clock of every test gateway, so that the datetimes in
// golden files do not move.
var now = time.Date(2025, 11, 5, 14, 21, 5, 963000000, time.UTC)

// testPassword is every fixture user's password; hashing it once keeps
// each test's fixture fast.
const testPassword = "Pass-word-1!"

var passwordHash = sync.OnceValue(func() string {
	h, err := auth.NewHasher(1).Hash(context.Background(), testPassword)
	if err != nil {
		panic(err)
	}
	return h
})

// gateway is the whole gateway, wired by cmd/gatehouse/gateway as the
// binary wires it, on one fresh store behind a real HTTP server.
type gateway struct {
	t     testing.TB
	store *store.Store
	srv   *httptest.Server
	// handler is the gateway's handler, for benchmarks that skip the
	// network.
	handler http.Handler
	tokens  map[string]string // fixture username → token key
}

// fixture users: the ids the seeds' examples use (8 is 004's "mike", 66
// the user 000's examples read, change and delete) exist, with others
// around them.
var fixtureUsers = map[int]store.NewUser{
	1: {Username: "admin", Email: "admin@example.com", IsActive: true, IsStaff: true, IsSuperuser: true},
	2: {Username: "staff", Email: "staff@example.com", FirstName: "Stella", LastName: "Staff", IsActive: true, IsStaff: true},
	3: {Username: "alice", Email: "alice@example.com", FirstName: "Alice", LastName: "Liddell", IsActive: true},
	4: {Username: "editor", Email: "editor@example.com", IsActive: true},
	5: {Username: "inactive", Email: "inactive@example.com", IsActive: false},
	8: {Username: "mike", Email: "hello@world.com", PhoneNumber: "1234567890", IsActive: true},
}

// signedIn are the fixture users that get a token.
var signedIn = []string{"admin", "staff", "alice", "editor"}

// gatewayOptions change a test gateway's wiring.
type gatewayOptions struct {
	cfg      wiring.Config
	storeOpt store.Options
	throttle *auth.ThrottlePolicy
}

type gatewayOption func(*gatewayOptions)

// withMounts mounts the dialects as --rest-mounts and --rest-time-zones say.
func withMounts(mounts, zones string) gatewayOption {
	return func(o *gatewayOptions) { o.cfg.RESTMounts, o.cfg.RESTTimeZones = mounts, zones }
}

// withTrustedProxies believes X-Forwarded-* from these addresses.
func withTrustedProxies(entries ...string) gatewayOption {
	return func(o *gatewayOptions) { o.cfg.Proxies = entries }
}

// withBodyLimit sets the largest body.
func withBodyLimit(n int64) gatewayOption {
	return func(o *gatewayOptions) { o.cfg.BodyLimit = n }
}

// withStoreOptions opens the store with these options (a command monitor).
func withStoreOptions(so store.Options) gatewayOption {
	return func(o *gatewayOptions) { o.storeOpt = so }
}

// withTokenCache trusts a checked token for a while, as the gateway does
// by default (benchmarks; tests see every revocation at once without it).
func withTokenCache() gatewayOption {
	return func(o *gatewayOptions) { o.cfg.TokenCacheTTL = wiring.Defaults().TokenCacheTTL }
}

// withThrottle limits failed sign-ins per account and per address.
func withThrottle(p auth.ThrottlePolicy) gatewayOption {
	return func(o *gatewayOptions) { o.throttle = &p }
}

// newGateway is the gateway serve runs with its default flags, except that
// a checked token is not cached and sign-ups are not limited (fixtures sign
// up many users from one address), on a store whose clock stands still.
func newGateway(t testing.TB, opts ...gatewayOption) *gateway {
	t.Helper()
	o := gatewayOptions{cfg: wiring.Defaults()}
	o.cfg.TokenCacheTTL, o.cfg.SignUpLimit = 0, 0
	for _, opt := range opts {
		opt(&o)
	}
	clock := func() time.Time { return now }
	o.storeOpt.Now = clock
	s := storetest.Open(t, o.storeOpt)
	logger := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	gw, err := wiring.New(o.cfg, s, wiring.Options{Logger: logger, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if o.throttle != nil {
		gw.Accounts().AccountThrottle, gw.Accounts().AddressThrottle = *o.throttle, *o.throttle
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)

	g := &gateway{t: t, store: s, srv: srv, handler: gw, tokens: map[string]string{}}
	g.seed()
	return g
}

// seed creates the fixture users (ids 1 to 66) and tokens.
func (g *gateway) seed() {
	ctx := context.Background()
	users := make([]store.NewUser, 66)
	for i := range users {
		id := i + 1
		u, ok := fixtureUsers[id]
		if !ok {
			u = store.NewUser{Username: "user" + pad3(id), Email: "user" + pad3(id) + "@example.com", IsActive: true}
		}
		u.PasswordHash = passwordHash()
		users[i] = u
	}
	if _, err := g.store.CreateUsers(ctx, users); err != nil {
		g.t.Fatal(err)
	}
	// editor may change users: the permission, not staff.
	if _, err := g.store.ChangeUserPermissions(ctx, 4, store.SetAdd, []store.ID{2}); err != nil {
		g.t.Fatal(err)
	}
	for _, name := range signedIn {
		g.tokenFor(name)
	}
}

func pad3(n int) string { return fmt.Sprintf("%03d", n) }

// response is an answer as a test reads it.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// json decodes the body.
func (r response) json(t testing.TB) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.Body)
	}
	return v
}

// object decodes a JSON object body.
func (r response) object(t testing.TB) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	if !ok {
		t.Fatalf("body is not an object: %s", r.Body)
	}
	return m
}

// do sends a request as the named fixture user ("" for anonymous).
func (g *gateway) do(method, path, as string, body string, header ...string) response {
	g.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, g.srv.URL+path, rd)
	if err != nil {
		g.t.Fatal(err)
	}
	// Links are built from the Host the client sent; Django's test
	// client's name keeps golden files stable.
	req.Host = "testserver"
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if as != "" {
		req.Header.Set("Authorization", "Token "+g.tokens[as])
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		g.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// noRedirects answers a redirect as it is, for the tests to read.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// graphql runs a GraphQL request as the named fixture user.
func (g *gateway) graphql(query string, variables map[string]any, as string) map[string]any {
	g.t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
	r := g.do(http.MethodPost, "/graphql", as, string(b))
	var out map[string]any
	if err := json.Unmarshal(r.Body, &out); err != nil {
		g.t.Fatalf("graphql answer is not JSON (%d): %s", r.Status, r.Body)
	}
	return out
}

// testLog shows the gateway's warnings and errors in the test's output.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// tokenFor gives a fixture user a token (the inactive one, say).
func (g *gateway) tokenFor(username string) string {
	g.t.Helper()
	ctx := context.Background()
	user, err := g.store.UserByUsername(ctx, username)
	if err != nil {
		g.t.Fatal(err)
	}
	key, digest, err := auth.NewToken()
	if err != nil {
		g.t.Fatal(err)
	}
	if _, err := g.store.CreateToken(ctx, digest, user.ID); err != nil {
		g.t.Fatal(err)
	}
	g.tokens[username] = key
	return key
}
