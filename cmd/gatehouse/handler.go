package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/go-chi/chi/v5"
	"github.com/rs/cors"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/graph"
	"github.com/gatehouse/gatehouse/rest"
	"github.com/gatehouse/gatehouse/store"
)

// gateway is the wired application: every dependency, built once.
type gateway struct {
	store         *store.Store
	accounts      *graph.Accounts
	authenticator *auth.Authenticator
	proxies       auth.TrustedProxies
	logger        *slog.Logger
	// metrics is nil when metrics are off.
	metrics *metrics
}

// gatewayOption adds an optional part to a gateway.
type gatewayOption func(*gateway)

// withMetrics makes the gateway count what it does in m.
func withMetrics(m *metrics) gatewayOption { return func(g *gateway) { g.metrics = m } }

// newGateway wires the store into accounts, the authenticator and the
// password hasher.
func newGateway(cfg *config, s *store.Store, logger *slog.Logger, opts ...gatewayOption) (*gateway, error) {
	proxies, err := auth.ParseTrustedProxies(cfg.Proxies)
	if err != nil {
		return nil, err
	}
	accounts := &graph.Accounts{
		Store:           s,
		Hasher:          auth.NewHasher(cfg.HashConcurrency),
		AccountThrottle: auth.DefaultThrottlePolicy(),
		AddressThrottle: addressThrottlePolicy(),
		SignUpsPerHour:  cfg.SignUpLimit,
		Logger:          logger,
	}
	cache := auth.NewCallerCache(cfg.TokenCacheTTL, tokenCacheEntries, time.Now)
	authenticator := auth.NewAuthenticator(accounts, cache)
	accounts.Tokens = authenticator
	g := &gateway{store: s, accounts: accounts, authenticator: authenticator, proxies: proxies, logger: logger}
	for _, opt := range opts {
		opt(g)
	}
	if m := g.metrics; m != nil {
		accounts.OnSignIn = m.signIn
		accounts.Hasher.OnWait = func(d time.Duration) { m.hashWait.Observe(d.Seconds()) }
		m.watchTokenCache(cache)
	}
	return g, nil
}

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
func (g *gateway) resolver() *graph.Resolver {
	return &graph.Resolver{
		Store:    g.store,
		Accounts: g.accounts,
		Access:   &graph.Access{Store: g.store, Tokens: g.authenticator},
		Progress: &graph.Progress{
			Store:    g.store,
			Interval: progressInterval,
			Logger:   g.logger,
		},
	}
}

// observer is the metrics' view of GraphQL operations, if metrics are on.
func (g *gateway) observer() graph.OperationObserver {
	if g.metrics == nil {
		return nil
	}
	return g.metrics
}

// handler routes every surface of the gateway.
func (g *gateway) handler(cfg *config) http.Handler {
	resolver, gqlConfig := g.resolver(), graph.ServerConfig{
		ComplexityLimit:  cfg.ComplexityLimit,
		DepthLimit:       cfg.DepthLimit,
		ParserTokenLimit: cfg.ParserTokenLimit,
		Introspection:    cfg.Introspect,
		AllowedOrigins:   cfg.CORS,
		Authenticator:    g.authenticator,
		SocketCheckEvery: socketCheckEvery(cfg.TokenCacheTTL),
		Observer:         g.observer(),
		Logger:           g.logger,
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
		r.Method(http.MethodGet, "/metrics", g.metrics.handler())
	}
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/playground", http.StatusFound)
	})
	r.Get("/playground", playground.Handler("Gatehouse", "/graphql"))

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
	mounts, err := cfg.restMounts()
	if err != nil {
		g.logger.Error("legacy REST dialects not served", "err", err)
		return r
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
	return r
}

// ready answers 200 while the store answers, 503 while it does not.
func (g *gateway) ready(w http.ResponseWriter, r *http.Request) {
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
