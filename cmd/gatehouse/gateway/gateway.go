// Package gateway wires Gatehouse's parts into the HTTP handler it serves:
// accounts and the authenticator over the store, the GraphQL server, the
// legacy REST dialects, health checks, metrics, and the middleware in front
// of them all. The binary and the tests build the gateway here, so what a
// test talks to is what the binary serves.
//
// A caller passes a Config (limits, origins, proxies, timeouts, mounts:
// what the flags of serve set), an open store, and Options (a logger,
// metrics, a clock); it gets back a Gateway, an http.Handler. Serve runs
// it on a listener until its context ends and then shuts it down within the
// grace period; Server is the same http.Server for a caller that runs it
// itself. The store stays the caller's to close.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/cors"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/cmd/gatehouse/explorer"
	"github.com/gatehouse/gatehouse/graph"
	"github.com/gatehouse/gatehouse/rest"
	"github.com/gatehouse/gatehouse/store"
)

// Config is what the gateway is told: each field is one flag of serve
// (the README's configuration table has them all). Start from Defaults.
type Config struct {
	// CORS are the origins allowed to call the API from a browser and
	// open websockets; none allows no origin.
	CORS []string
	// Hosts are the hosts absolute links in REST answers may name; none
	// trusts the request's Host.
	Hosts []string
	// Proxies are the IPs or CIDRs whose X-Forwarded-* and X-Request-Id
	// are believed.
	Proxies []string
	// Introspect says who may introspect the schema: everyone, no one,
	// or staff only.
	Introspect graph.Introspection
	// Explorer serves GraphiQL at /playground.
	Explorer bool
	// TrustedDocuments is the manifest of the documents the gateway's own
	// clients send (Apollo's persisted query manifest or GraphQL Codegen's
	// persisted documents); TrustedDocumentsOnly runs no other document
	// but for staff.
	TrustedDocuments     string
	TrustedDocumentsOnly bool
	// APQMemory is the most bytes of documents remembered for automatic
	// persisted queries; 0 turns them off.
	APQMemory int

	BodyLimit        int64
	ComplexityLimit  int
	DepthLimit       int
	ScanLimit        int
	ParserTokenLimit int
	// ResponseLimit is the largest response sent, in bytes: GraphQL's
	// body or websocket message, a REST dialect's operation.
	ResponseLimit int

	// WebsocketsPerClient is the most websockets one client address holds
	// open at once.
	WebsocketsPerClient int
	// WebsocketPing is how often an open websocket is pinged; a
	// graphql-transport-ws client that answers none for two of them is
	// disconnected, and its place freed.
	WebsocketPing time.Duration
	// WebsocketOperations is the most operations one websocket runs at
	// once; one caller runs twice as many across all their sockets.
	WebsocketOperations int

	// The HTTP server's timeouts (Server), the budget of one request, and
	// the grace Serve gives requests in flight when it stops.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	RequestTimeout    time.Duration
	ShutdownTimeout   time.Duration

	// TokenCacheTTL is how long a checked token is trusted without asking
	// the store; 0 asks every time.
	TokenCacheTTL time.Duration
	// HashConcurrency is how many password hashes are computed at once.
	HashConcurrency int
	// SignUpLimit is the most sign-ups from one client address in an
	// hour; 0 does not limit them.
	SignUpLimit int

	// MetricsAddr, when set, is where the caller serves /metrics on a
	// listener of its own, so the gateway's handler does not.
	MetricsAddr string

	// RESTMounts and RESTTimeZones say where each legacy dialect is served
	// and in which time zone it writes datetimes (rest.ParseMounts).
	RESTMounts    string
	RESTTimeZones string
}

// Defaults is the configuration serve runs with when no flag says
// otherwise.
func Defaults() Config {
	return Config{
		Introspect:          graph.IntrospectionOn,
		Explorer:            true,
		APQMemory:           graph.DefaultAPQMemory,
		BodyLimit:           1 << 20,
		ResponseLimit:       graph.DefaultResponseLimit,
		ComplexityLimit:     graph.DefaultComplexityLimit,
		DepthLimit:          graph.DefaultDepthLimit,
		ScanLimit:           graph.DefaultScanLimit,
		ParserTokenLimit:    graph.DefaultParserTokenLimit,
		WebsocketsPerClient: 20,
		WebsocketPing:       graph.DefaultWebsocketPing,
		WebsocketOperations: graph.DefaultWebsocketOperations,
		ReadHeaderTimeout:   5 * time.Second,
		ReadTimeout:         30 * time.Second,
		WriteTimeout:        60 * time.Second,
		IdleTimeout:         120 * time.Second,
		RequestTimeout:      30 * time.Second,
		ShutdownTimeout:     20 * time.Second,
		TokenCacheTTL:       5 * time.Second,
		HashConcurrency:     runtime.GOMAXPROCS(0),
		SignUpLimit:         30,
		RESTMounts:          rest.DefaultMounts,
	}
}

// Validate refuses what serve's flags may not set, naming the flag at
// fault. New checks only what it cannot build without (proxies, mounts),
// so tests may set limits serve would refuse (a tiny body limit).
func (c *Config) Validate() error {
	if c.BodyLimit < 1024 {
		return errors.New("--body-limit must be at least 1024 bytes")
	}
	// The largest page of users, with their roles, fits many times over.
	if c.ResponseLimit < 64<<10 {
		return errors.New("--response-limit must be at least 65536 bytes")
	}
	if c.WebsocketsPerClient < 1 {
		return errors.New("--websockets-per-client must be at least 1")
	}
	if c.WebsocketOperations < 1 {
		return errors.New("--websocket-operations must be at least 1")
	}
	// Pings more often than a second cost every socket traffic and cut off
	// clients on a slow link.
	if c.WebsocketPing < time.Second {
		return errors.New("--websocket-ping must be at least 1s")
	}
	if c.HashConcurrency < 1 {
		return errors.New("--hash-concurrency must be at least 1")
	}
	if c.TrustedDocumentsOnly && c.TrustedDocuments == "" {
		return errors.New("--trusted-documents-only needs --trusted-documents, the manifest of the documents to trust")
	}
	if c.APQMemory < 0 {
		return errors.New("--apq-memory must not be negative")
	}
	_, err := c.mounts()
	return err
}

// mounts reads RESTMounts and RESTTimeZones.
func (c *Config) mounts() ([]rest.Mount, error) {
	return rest.ParseMounts(c.RESTMounts, c.RESTTimeZones)
}

// Options are the gateway's surroundings, each optional.
type Options struct {
	// Logger takes the access log and every warning; nil discards them.
	Logger *slog.Logger
	// Metrics, when set, counts what the gateway does, and is served at
	// /metrics unless Config.MetricsAddr is set.
	Metrics *Metrics
	// Now is the clock accounts (sign-ins, throttles) and the token cache
	// read; nil is the system's. Tests fix it so that the dates in answers
	// do not move, and move it to expire cached tokens without waiting.
	Now func() time.Time
	// Ticks paces the checks an open websocket makes of its token and the
	// polls of a watched mailing's progress; nil is a time.Ticker. Tests
	// tick by hand.
	Ticks graph.Ticks
}

// Gateway is the wired application: every dependency, built once, and the
// handler that routes every surface.
type Gateway struct {
	cfg           Config
	store         *store.Store
	accounts      *graph.Accounts
	authenticator *auth.Authenticator
	proxies       auth.TrustedProxies
	logger        *slog.Logger
	ticks         graph.Ticks
	// metrics is nil when metrics are off.
	metrics *Metrics
	handler http.Handler
}

// New wires the store into accounts, the authenticator and the password
// hasher, and builds the handler.
func New(cfg Config, s *store.Store, opts Options) (*Gateway, error) {
	proxies, err := auth.ParseTrustedProxies(cfg.Proxies)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	accounts := &graph.Accounts{
		Store:           s,
		Hasher:          auth.NewHasher(cfg.HashConcurrency),
		AccountThrottle: auth.DefaultThrottlePolicy(),
		AddressThrottle: addressThrottlePolicy(),
		SignUpsPerHour:  cfg.SignUpLimit,
		Logger:          logger,
		Now:             opts.Now,
	}
	cache := auth.NewCallerCache(cfg.TokenCacheTTL, tokenCacheEntries, opts.Now)
	authenticator := auth.NewAuthenticator(accounts, cache)
	accounts.Tokens = authenticator
	g := &Gateway{cfg: cfg, store: s, accounts: accounts, authenticator: authenticator, proxies: proxies, logger: logger, ticks: opts.Ticks, metrics: opts.Metrics}
	if m := g.metrics; m != nil {
		accounts.OnSignIn = m.signIn
		accounts.Hasher.OnWait = func(d time.Duration) { m.hashWait.Observe(d.Seconds()) }
		m.watchTokenCache(cache)
	}
	if g.handler, err = g.routes(); err != nil {
		return nil, err
	}
	return g, nil
}

// ServeHTTP answers every surface of the gateway.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

// Accounts are the sign-in, sign-up and token rules the gateway runs; a
// caller may change their throttles before serving.
func (g *Gateway) Accounts() *graph.Accounts { return g.accounts }

// Authenticator finds the caller of each request; ForgetUser makes this
// instance see a change to a user at once rather than within the token
// cache's TTL.
func (g *Gateway) Authenticator() *auth.Authenticator { return g.authenticator }

// tokenCacheEntries bounds the token cache's memory (a few hundred bytes
// an entry).
const tokenCacheEntries = 100_000

// addressThrottlePolicy allows one client address more failures than one
// account, since many people may share an address.
func addressThrottlePolicy() auth.ThrottlePolicy {
	p := auth.DefaultThrottlePolicy()
	p.Limit *= 3
	return p
}

// Subscriptions poll a watched mailing this often.
const progressInterval = time.Second

// socketCheckEvery is how often an open websocket asks the store whether
// its token still holds: once a token cache TTL, so that a revocation made
// on any instance closes it within the TTL; once a second with the cache
// off.
func socketCheckEvery(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return time.Second
	}
	return ttl
}

// resolver is the root of the GraphQL layer, shared by every surface.
func (g *Gateway) resolver() *graph.Resolver {
	return &graph.Resolver{
		Store:    g.store,
		Accounts: g.accounts,
		Access:   &graph.Access{Store: g.store, Tokens: g.authenticator},
		Progress: &graph.Progress{
			Store:    g.store,
			Interval: progressInterval,
			Ticks:    g.ticks,
			Logger:   g.logger,
		},
	}
}

// observer is the metrics' view of GraphQL operations, if metrics are on.
func (g *Gateway) observer() graph.OperationObserver {
	if g.metrics == nil {
		return nil
	}
	return g.metrics
}

// routes routes every surface of the gateway.
func (g *Gateway) routes() (http.Handler, error) {
	cfg := &g.cfg
	resolver, gqlConfig := g.resolver(), graph.ServerConfig{
		ComplexityLimit:  cfg.ComplexityLimit,
		DepthLimit:       cfg.DepthLimit,
		ScanLimit:        cfg.ScanLimit,
		ParserTokenLimit: cfg.ParserTokenLimit,
		MessageLimit:     cfg.BodyLimit,
		Introspection:    cfg.Introspect,
		AllowedOrigins:   cfg.CORS,
		Authenticator:    g.authenticator,
		SocketCheckEvery: socketCheckEvery(cfg.TokenCacheTTL),
		SocketTicks:      g.ticks,
		WebsocketPing:    cfg.WebsocketPing,
		Observer:         g.observer(),
		Logger:           g.logger,

		WebsocketOperations: cfg.WebsocketOperations,
		// A query or mutation on a websocket has the time an HTTP request
		// has; the socket itself is exempt from the request timeout.
		OperationTimeout: cfg.RequestTimeout,
		ResponseLimit:    cfg.ResponseLimit,
		// One caller's turns, whether they ask over GraphQL or a dialect.
		Turns: graph.NewCallerTurns(graph.CallerOperations),
	}
	if cfg.TrustedDocuments != "" {
		docs, err := graph.LoadTrustedDocuments(cfg.TrustedDocuments)
		if err != nil {
			return nil, fmt.Errorf("--trusted-documents: %w", err)
		}
		gqlConfig.TrustedDocuments, gqlConfig.TrustedDocumentsOnly = docs, cfg.TrustedDocumentsOnly
	}
	gqlConfig.APQMemory = cfg.APQMemory
	if cfg.APQMemory == 0 {
		gqlConfig.APQMemory = -1 // off
	}
	gql := graph.NewServer(resolver, gqlConfig)

	r := chi.NewRouter()
	if g.metrics != nil {
		r.Use(g.metrics.middleware)
	}
	r.Use(g.proxies.Middleware())
	r.Use(requestID(g.proxies))
	r.Use(accessLog(g.logger))
	r.Use(recoverer(g.logger))
	r.Use(corsPolicy(cfg.CORS).Handler)
	r.Use(timeout(cfg.RequestTimeout))
	r.MethodNotAllowed(methodNotAllowed(r))
	r.NotFound(notFound)

	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", g.ready)
	if g.metrics != nil && cfg.MetricsAddr == "" {
		r.Method(http.MethodGet, "/metrics", g.metrics.Handler())
	}
	if cfg.Explorer {
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, ExplorerPath, http.StatusFound)
		})
		ex := explorer.Handler(ExplorerPath, "/graphql", g.requestedHost)
		r.Get(ExplorerPath, ex.ServeHTTP)
		r.Get(ExplorerPath+"/*", ex.ServeHTTP)
	}

	r.Route("/graphql", func(r chi.Router) {
		r.MethodNotAllowed(graphQLMethodNotAllowed(r))
		r.Use(websocketSlots(cfg.WebsocketsPerClient))
		r.Use(graphQLBody(cfg.BodyLimit))
		r.Use(g.authenticator.Middleware(graphQLAuthError(g.logger)))
		r.Get("/", gql.ServeHTTP)
		r.Post("/", gql.ServeHTTP)
		r.Options("/", gql.ServeHTTP)
	})

	// The legacy REST dialects run GraphQL operations in-process, on an
	// executor configured as the handler above, with the caller the
	// authenticator finds; a refused token is answered in DRF's words.
	mounts, err := cfg.mounts()
	if err != nil {
		return nil, err
	}
	restCfg := rest.Config{
		Executor:     graph.NewExecutor(resolver, gqlConfig),
		Proxies:      g.proxies,
		AllowedHosts: cfg.Hosts,
		BodyLimit:    cfg.BodyLimit,
		Mounts:       mounts,
		Logger:       g.logger,
	}
	if g.metrics != nil {
		restCfg.Observe = g.metrics.restRequest
	}
	rest.New(restCfg).Register(r, g.authenticator.Middleware)
	return r, nil
}

// ExplorerPath is where GraphiQL is served. It keeps the path of the
// GraphQL Playground it replaced, so that bookmarks and links still work.
const ExplorerPath = "/playground"

// requestedHost is the host the browser asked for: the request's Host, or
// the first X-Forwarded-Host of a trusted proxy.
func (g *Gateway) requestedHost(r *http.Request) string {
	if g.proxies.TrustsPeer(r) {
		if v, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ","); strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return r.Host
}

// ready answers 200 while the store answers, 503 while it does not.
func (g *Gateway) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := g.store.Ping(ctx); err != nil {
		g.logger.WarnContext(ctx, "not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// corsPolicy lets the configured origins call the API from a browser with
// a token header, and no other origin; with none configured, no origin may.
// Cookies are never involved.
func corsPolicy(origins []string) *cors.Cors {
	var noOrigin func(string) bool
	if len(origins) == 0 {
		// rs/cors reads an empty list as every origin.
		noOrigin = func(string) bool { return false }
	}
	return cors.New(cors.Options{
		AllowedOrigins:   origins,
		AllowOriginFunc:  noOrigin,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "Accept", "X-Request-Id"},
		ExposedHeaders:   []string{"X-Request-Id", "WWW-Authenticate", "Location"},
		AllowCredentials: false,
		MaxAge:           600,
	})
}

// methodNotAllowed answers 405 with the Allow header listing the methods the
// path does have, found by asking the router.
func methodNotAllowed(routes chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowedMethods(routes, r.URL.Path))
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": `Method "` + r.Method + `" not allowed.`})
	}
}

// graphQLMethodNotAllowed is methodNotAllowed for the /graphql subrouter,
// in GraphQL's error shape. It asks the subrouter with the path relative to
// it: the parent router matches a mounted path for every method, so it would
// list them all in Allow.
func graphQLMethodNotAllowed(routes chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := "/"
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePath != "" {
			path = rctx.RoutePath
		}
		w.Header().Set("Allow", allowedMethods(routes, path))
		writeGraphQLError(w, http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`, graph.CodeMethodNotAllowed)
	}
}

func allowedMethods(routes chi.Routes, path string) string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if routes.Match(chi.NewRouteContext(), m, path) {
			allowed = append(allowed, m)
		}
	}
	return strings.Join(allowed, ", ")
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not found."})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
