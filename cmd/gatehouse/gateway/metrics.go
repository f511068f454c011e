package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/graph"
	"github.com/gatehouse/gatehouse/rest"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/docdb"
)

// Metrics are what operators watch: requests, GraphQL operations, sign-ins,
// the token cache, password hashing and the store. Label values come from
// fixed sets (route patterns, operation types, error codes) or are bounded
// (operation names), so no client input can create series without end.
type Metrics struct {
	registry *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight prometheus.Gauge

	gqlOperations *prometheus.CounterVec
	gqlErrors     *prometheus.CounterVec
	gqlDuration   *prometheus.HistogramVec
	gqlComplexity prometheus.Histogram
	gqlQueryCache *prometheus.CounterVec
	names         *boundedNames

	restRequests *prometheus.CounterVec

	signIns  *prometheus.CounterVec
	hashWait prometheus.Histogram

	storeCommands *prometheus.CounterVec
	storeDuration *prometheus.HistogramVec
	storeErrors   *prometheus.CounterVec
	storeInfo     *prometheus.GaugeVec

	dispatch *dispatchMetrics
}

// maxOperationNames bounds the operation names signed-in callers add to the
// labels; past it, their new names fold into "other".
const maxOperationNames = 100

// NewMetrics registers the gateway's metrics, every one at zero. Make it
// before opening the store, whose round trips it counts (StoreObserver),
// and pass it to New, which counts requests and serves it at /metrics; a
// dispatcher running alone reports to it too (DispatchObserver).
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests by route pattern, method and status class.",
		}, []string{"route", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_http_request_duration_seconds", Help: "HTTP request duration by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		httpInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
		gqlOperations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_graphql_operations_total", Help: "GraphQL responses by operation name (anonymous; other for a name neither a REST dialect nor a signed-in caller sent, or past 100 of the latter) and type.",
		}, []string{"name", "type"}),
		gqlErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_graphql_errors_total", Help: "GraphQL errors by extensions.code.",
		}, []string{"code"}),
		gqlDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_graphql_operation_duration_seconds", Help: "GraphQL operation duration by type.",
			Buckets: prometheus.DefBuckets,
		}, []string{"type"}),
		gqlComplexity: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gatehouse_graphql_operation_complexity", Help: "Complexity of GraphQL operations.",
			Buckets: []float64{1, 5, 10, 25, 50, 100, 250, 500, 1000},
		}),
		gqlQueryCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_graphql_query_cache_total", Help: "Parsed-query cache look-ups by result (hit, miss).",
		}, []string{"result"}),
		names: newBoundedNames(maxOperationNames, rest.OperationNames()),
		restRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_rest_requests_total", Help: "Legacy REST requests by dialect, route (the operation it runs) and status.",
		}, []string{"dialect", "route", "status"}),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_signins_total", Help: "Sign-in attempts by outcome (ok, bad_credentials, inactive, throttled).",
		}, []string{"outcome"}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gatehouse_password_hash_wait_seconds", Help: "Time waiting for a password-hashing slot.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		storeCommands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_store_commands_total", Help: "Store round trips by collection and command.",
		}, []string{"collection", "command"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_store_command_duration_seconds", Help: "Store round-trip duration by command.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"command"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_store_errors_total", Help: "Failed store commands by kind (duplicate_key, timeout, network, other).",
		}, []string{"kind"}),
		storeInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatehouse_store_info", Help: "1 for the store in use: backend is sqlite (embedded) or mongodb.",
		}, []string{"backend"}),
	}
	m.registry.MustRegister(
		m.httpRequests, m.httpDuration, m.httpInFlight,
		m.gqlOperations, m.gqlErrors, m.gqlDuration, m.gqlComplexity, m.gqlQueryCache,
		m.restRequests,
		m.signIns, m.hashWait,
		m.storeCommands, m.storeDuration, m.storeErrors, m.storeInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Known label values start at zero, so rates and alerts see them
	// before the first event.
	for _, outcome := range []string{"ok", "bad_credentials", "inactive", "throttled"} {
		m.signIns.WithLabelValues(outcome)
	}
	for _, kind := range []string{"duplicate_key", "timeout", "network", "other"} {
		m.storeErrors.WithLabelValues(kind)
	}
	for _, result := range []string{"hit", "miss"} {
		m.gqlQueryCache.WithLabelValues(result)
	}
	m.dispatch = newDispatchMetrics(m.registry)
	return m
}

// WatchStore reports which store is in use and what it holds of sending:
// messages and mailings by status, and work waiting for a dispatcher.
func (m *Metrics) WatchStore(s *store.Store, backend string, logger *slog.Logger) {
	m.storeInfo.WithLabelValues(backend).Set(1)
	m.registry.MustRegister(newStoreSummary(s, logger))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// middleware counts every request by the route pattern it matched (never
// the raw path: ids would make a series each).
func (m *Metrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.httpInFlight.Inc()
		defer m.httpInFlight.Dec()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil {
			if p := rc.RoutePattern(); p != "" {
				route = p
			}
		}
		m.httpRequests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status/100)+"xx").Inc()
		m.httpDuration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (websockets).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Operation implements graph.OperationObserver.
func (m *Metrics) Operation(s graph.OperationStats) {
	typ := s.Type
	if typ == "" {
		typ = "unknown"
	}
	m.gqlOperations.WithLabelValues(m.names.label(s.Name, s.SignedIn), typ).Inc()
	m.gqlDuration.WithLabelValues(typ).Observe(s.Duration.Seconds())
	m.gqlComplexity.Observe(float64(s.Complexity))
	for _, code := range s.ErrorCodes {
		if code == "" {
			code = "none"
		}
		m.gqlErrors.WithLabelValues(code).Inc()
	}
}

// QueryCache implements graph.OperationObserver.
func (m *Metrics) QueryCache(hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.gqlQueryCache.WithLabelValues(result).Inc()
}

// restRequest counts an answered legacy REST request.
func (m *Metrics) restRequest(s rest.RouteStats) {
	m.restRequests.WithLabelValues(s.Dialect, s.Route, strconv.Itoa(s.Status)).Inc()
}

// boundedNames turns operation names into labels without letting clients
// make new series at will: the names the gateway knows (its REST
// operations) are always labels; a name a signed-in caller sends becomes
// one while fewer than max such names have; every other name is "other".
type boundedNames struct {
	mu    sync.Mutex
	max   int
	known map[string]bool
	seen  map[string]bool
}

func newBoundedNames(max int, known []string) *boundedNames {
	b := &boundedNames{max: max, known: map[string]bool{}, seen: map[string]bool{}}
	for _, name := range known {
		b.known[name] = true
	}
	return b
}

func (b *boundedNames) label(name string, signedIn bool) string {
	if name == "" {
		return "anonymous"
	}
	if b.known[name] {
		return name
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen[name] {
		return name
	}
	if !signedIn || len(b.seen) >= b.max {
		return "other"
	}
	b.seen[name] = true
	return name
}

// signIn counts a sign-in attempt by outcome.
func (m *Metrics) signIn(outcome string) { m.signIns.WithLabelValues(outcome).Inc() }

// watchTokenCache exposes the token cache's counters, read at each scrape.
func (m *Metrics) watchTokenCache(cache *auth.CallerCache) {
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_token_cache_hits_total", Help: "Token checks answered from the cache.",
		}, func() float64 { return float64(cache.Stats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_token_cache_misses_total", Help: "Token checks that asked the store.",
		}, func() float64 { return float64(cache.Stats().Misses) }),
	)
}

// StoreObserver counts the store's round trips: every operation the
// store sends to its engine.
func (m *Metrics) StoreObserver() *docdb.Observer {
	return &docdb.Observer{
		Started: func(_ context.Context, op docdb.Op) {
			m.storeCommands.WithLabelValues(op.Collection, op.Name).Inc()
		},
		Finished: func(_ context.Context, op docdb.Op, took time.Duration, err error) {
			m.storeDuration.WithLabelValues(op.Name).Observe(took.Seconds())
			if err != nil && !errors.Is(err, docdb.ErrNotFound) {
				m.storeErrors.WithLabelValues(storeErrorKind(err)).Inc()
			}
		},
	}
}

func storeErrorKind(err error) string {
	switch {
	case errors.Is(err, docdb.ErrDuplicate):
		return "duplicate_key"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, docdb.ErrUnavailable):
		return "network"
	}
	return "other"
}
