package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// newMetricsGateway is a test gateway that counts what it does.
func newMetricsGateway(t testing.TB, args ...string) (*testGateway, *gateway.Metrics) {
	t.Helper()
	m := gateway.NewMetrics()
	s := storetest.Open(t, store.Options{Observer: m.StoreObserver()})
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	m.WatchStore(s, s.Engine(), logger)
	g := buildTestGateway(t, s, testConfig(t, args...), gateway.Options{Logger: logger, Metrics: m}, logs)
	g.srv = httptest.NewServer(g.gw)
	t.Cleanup(g.srv.Close)
	return g, m
}

// scrape reads /metrics with Prometheus's own text parser.
func scrape(t testing.TB, g *testGateway) map[string]*dto.MetricFamily {
	t.Helper()
	return scrapeURL(t, g.srv.URL+"/metrics")
}

// scrapeURL reads and parses the metrics at url.
func scrapeURL(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// value is the counter (or gauge) with exactly these labels, 0 if absent.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := families[name]
	if f == nil {
		return 0
	}
	for _, m := range f.Metric {
		match := len(m.Label) == len(labels)
		for _, l := range m.Label {
			match = match && labels[l.GetName()] == l.GetValue()
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

func series(families map[string]*dto.MetricFamily, name string) int {
	if f := families[name]; f != nil {
		return len(f.Metric)
	}
	return 0
}

// After a scripted workload each counter moved by exactly what it did.
func TestMetricsCountTheWorkload(t *testing.T) {
	g, _ := newMetricsGateway(t)
	before := scrape(t, g)

	token := g.signUp(t, "rita", "rita-password")                                                           // 1 POST, signUp
	g.query(t, token, `query Me { me { id } }`, nil).mustData(t)                                            // 1 POST, Me
	g.query(t, "", `mutation Login { signIn(username: "rita", password: "wrong") { token } }`, nil)         // bad credentials
	g.query(t, "", `mutation Login { signIn(username: "rita", password: "rita-password") { token } }`, nil) // ok
	g.query(t, "deadbeef", `{ me { id } }`, nil)                                                            // 401 before GraphQL
	g.query(t, token, `{ user(id: "1") { id } a: user(id: "1") { id } }`, nil)                              // anonymous query
	resp, _ := g.srv.Client().Get(g.srv.URL + "/healthz")
	resp.Body.Close()
	// Legacy REST: a page of users, one that is not there, an anonymous call.
	for _, call := range []struct {
		path, token string
		want        int
	}{{"/api/users/", token, 200}, {"/api/users/999/", token, 404}, {"/api/users/", "", 401}} {
		req, _ := http.NewRequest(http.MethodGet, g.srv.URL+call.path, nil)
		if call.token != "" {
			req.Header.Set("Authorization", "Token "+call.token)
		}
		resp, err := g.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != call.want {
			t.Fatalf("GET %s: %d, want %d", call.path, resp.StatusCode, call.want)
		}
	}
	// An internal error: a user document the gateway cannot read.
	corruptUser(t, g, "777")
	broken := g.query(t, token, `query Broken { user(id: "777") { username } }`, nil)
	if broken.code() != "INTERNAL" {
		t.Fatalf("a corrupt user answered %+v", broken.Errors)
	}
	// The user can quote the id; the operator finds the line.
	id := broken.Header.Get("X-Request-Id")
	if id == "" || broken.Errors[0].Extensions["requestId"] != id || !g.logs.contains(`"msg":"internal error","request_id":"`+id+`"`) {
		t.Errorf("internal error %+v (request id %q) not traceable to its log line", broken.Errors[0], id)
	}

	after := scrape(t, g)
	delta := func(name string, labels map[string]string) float64 {
		return value(after, name, labels) - value(before, name, labels)
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"gatehouse_http_requests_total", map[string]string{"route": "/graphql", "method": "POST", "status": "2xx"}, 6},
		{"gatehouse_http_requests_total", map[string]string{"route": "/graphql", "method": "POST", "status": "4xx"}, 1},
		{"gatehouse_http_requests_total", map[string]string{"route": "/healthz", "method": "GET", "status": "2xx"}, 1},
		{"gatehouse_graphql_operations_total", map[string]string{"name": "anonymous", "type": "mutation"}, 1},
		{"gatehouse_graphql_operations_total", map[string]string{"name": "Me", "type": "query"}, 1},
		// Signed out, Login is a name the gateway does not know.
		{"gatehouse_graphql_operations_total", map[string]string{"name": "other", "type": "mutation"}, 2},
		{"gatehouse_graphql_operations_total", map[string]string{"name": "anonymous", "type": "query"}, 1},
		{"gatehouse_graphql_errors_total", map[string]string{"code": "BAD_USER_INPUT"}, 1},
		{"gatehouse_graphql_errors_total", map[string]string{"code": "INTERNAL"}, 1},
		{"gatehouse_graphql_operations_total", map[string]string{"name": "Broken", "type": "query"}, 1},
		// chi's route pattern drops a trailing slash, so the HTTP series
		// of accounts and usermgmt meet; the REST series tell them apart.
		{"gatehouse_http_requests_total", map[string]string{"route": "/api/users", "method": "GET", "status": "2xx"}, 1},
		{"gatehouse_http_requests_total", map[string]string{"route": "/api/users", "method": "GET", "status": "4xx"}, 1},
		{"gatehouse_http_requests_total", map[string]string{"route": "/api/users/{id}", "method": "GET", "status": "4xx"}, 1},
		{"gatehouse_rest_requests_total", map[string]string{"dialect": "usermgmt", "route": "ManagedUsers", "status": "200"}, 1},
		{"gatehouse_rest_requests_total", map[string]string{"dialect": "usermgmt", "route": "ManagedUsers", "status": "401"}, 1},
		{"gatehouse_rest_requests_total", map[string]string{"dialect": "usermgmt", "route": "ManagedUser", "status": "404"}, 1},
		{"gatehouse_signins_total", map[string]string{"outcome": "ok"}, 1},
		{"gatehouse_signins_total", map[string]string{"outcome": "bad_credentials"}, 1},
		{"gatehouse_token_cache_misses_total", nil, 1}, // the sign-up's token; a malformed one is never looked up
		{"gatehouse_token_cache_hits_total", nil, 4},   // after Me: the anonymous query, two REST calls, Broken
		{"gatehouse_graphql_operation_duration_seconds", map[string]string{"type": "mutation"}, 3},
		{"gatehouse_password_hash_wait_seconds", nil, 3},
	}
	for _, c := range checks {
		if got := delta(c.name, c.labels); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if value(after, "gatehouse_store_commands_total", map[string]string{"collection": "users", "command": "insert"}) < 1 {
		t.Error("the store's round trips are not counted")
	}
	if series(after, "go_goroutines") == 0 || series(after, "process_cpu_seconds_total") == 0 {
		t.Error("runtime and process collectors missing")
	}
}

// corruptUser writes a user document of the given id that the gateway
// cannot decode, as a bad migration or a hand edit might leave one.
func corruptUser(t *testing.T, g *testGateway, id string) {
	t.Helper()
	ctx := context.Background()
	key := fmt.Sprintf("%020s", id)
	if _, err := g.store.Collection("users").Insert(ctx, bson.D{
		{Key: "_id", Value: key}, {Key: "username", Value: bson.A{"not", "a", "name"}},
	}); err != nil {
		t.Fatal(err)
	}
}

// Ids in paths never become label values.
func TestMetricsCardinality(t *testing.T) {
	g, _ := newMetricsGateway(t)
	warm, _ := g.srv.Client().Get(g.srv.URL + "/users/0")
	warm.Body.Close()
	before := series(scrape(t, g), "gatehouse_http_requests_total")
	for i := range 1000 {
		resp, err := g.srv.Client().Get(fmt.Sprintf("%s/users/%d", g.srv.URL, i+1))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	after := scrape(t, g)
	if got := series(after, "gatehouse_http_requests_total"); got != before+1 { // + the /metrics scrape itself
		t.Errorf("%d series after 1,000 ids, %d before", got, before)
	}
}

// The example alerting rules name only metrics the gateway exports.
func TestAlertRulesNameRealMetrics(t *testing.T) {
	raw, err := os.ReadFile("../../docs/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	g, _ := newMetricsGateway(t)
	g.signUp(t, "sam", "sam-password") // so that lazily made series exist
	families := scrape(t, g)
	known := map[string]bool{"up": true}
	for name := range families {
		known[name] = true
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			known[name+suffix] = true
		}
	}
	names := regexp.MustCompile(`\b(gatehouse_[a-z_]+|up)\b`)
	n := 0
	for _, grp := range rules.Groups {
		for _, r := range grp.Rules {
			n++
			for _, name := range names.FindAllString(r.Expr, -1) {
				if !known[name] && !strings.HasPrefix(name, "gatehouse_graphql_errors") {
					t.Errorf("alert %s uses %s, which the gateway does not export (it has %v)", r.Alert, name, keys(families))
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no alerting rules parsed")
	}
}

func keys(m map[string]*dto.MetricFamily) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if strings.HasPrefix(k, "gatehouse_") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Metrics on their own listener are not on the main one.
func TestMetricsOffTheMainListener(t *testing.T) {
	for _, args := range [][]string{{"--metrics-addr=127.0.0.1:0"}, {"--metrics=false"}} {
		cfg := testConfig(t, args...)
		opts := gateway.Options{Logger: slog.New(slog.DiscardHandler)}
		if cfg.Metrics {
			opts.Metrics = gateway.NewMetrics()
		}
		g := buildTestGateway(t, storetest.Open(t, store.Options{}), cfg, opts, nil)
		srv := httptest.NewServer(g.gw)
		resp, err := srv.Client().Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%v: /metrics on the main listener: %d", args, resp.StatusCode)
		}
	}
}

// Every request has an id, echoed and logged; a trusted proxy's id is kept,
// anyone else's replaced; a W3C trace id is logged beside it.
func TestRequestIDs(t *testing.T) {
	g := newTestGateway(t, "--trusted-proxies=127.0.0.1/32")
	get := func(h http.Header) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, g.srv.URL+"/healthz", nil)
		req.Header = h
		resp, err := g.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := get(http.Header{})
	id := resp.Header.Get("X-Request-Id")
	if len(id) != 24 || !g.logs.contains(`"request_id":"`+id+`"`) {
		t.Errorf("new id %q not echoed and logged", id)
	}
	resp = get(http.Header{"X-Request-Id": {"proxy-abc.123"}, "Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	if resp.Header.Get("X-Request-Id") != "proxy-abc.123" {
		t.Errorf("a trusted proxy's id was replaced: %q", resp.Header.Get("X-Request-Id"))
	}
	if !g.logs.contains(`"request_id":"proxy-abc.123","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`) {
		t.Error("the trace id is not logged with the request id")
	}
	resp = get(http.Header{"X-Request-Id": {"bad id with spaces"}, "Traceparent": {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}})
	if got := resp.Header.Get("X-Request-Id"); got == "bad id with spaces" || len(got) != 24 {
		t.Errorf("an invalid id was kept: %q", got)
	}
	if g.logs.contains(`"trace_id":"00000000000000000000000000000000"`) {
		t.Error("an all-zero trace id was logged")
	}
	untrusted := newTestGateway(t)
	req, _ := http.NewRequest(http.MethodGet, untrusted.srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-Id", "forged")
	r2, err := untrusted.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.Header.Get("X-Request-Id") == "forged" {
		t.Error("an untrusted client's request id was kept")
	}
}

// The cost of metrics on the commonest request: `me` with a cached token,
// with metrics on and off in one run.
func BenchmarkMeWithMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", on), func(b *testing.B) {
			var g *testGateway
			if on {
				g, _ = newMetricsGateway(b)
			} else {
				g = newTestGateway(b, "--metrics=false")
			}
			token := g.signUp(b, "bench", "bench-password")
			g.query(b, token, meQuery, nil).mustData(b)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				g.query(b, token, meQuery, nil).mustData(b)
			}
		})
	}
}

// Requests refused before any operation exists are still answered as the
// transport says (400), with metrics on.
func TestMetricsAndRequestsWithoutAnOperation(t *testing.T) {
	g, _ := newMetricsGateway(t)
	for _, body := range []string{`{}`, `{"query": 1}`, `{"query": ["x"]}`} {
		r := g.post(t, http.Header{"Content-Type": {"application/json"}}, []byte(body))
		if r.Status != http.StatusBadRequest || r.code() == "INTERNAL" {
			t.Errorf("%s: %d %+v", body, r.Status, r.Errors)
		}
	}
	if g.logs.contains("panic") {
		t.Error("a request without an operation panicked")
	}
}
