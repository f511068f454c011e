package graph

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/graph/model"
	"github.com/gatehouse/gatehouse/store"
)

// ServerConfig sets the limits of the GraphQL endpoint. Zero values take
// the defaults below.
type ServerConfig struct {
	// ComplexityLimit refuses operations whose estimated cost is higher.
	ComplexityLimit int
	// DepthLimit refuses operations nested deeper.
	DepthLimit int
	// ParserTokenLimit stops the parser on huge documents (CVE-2023-49559).
	ParserTokenLimit int
	// Introspection answers __schema and __type queries.
	Introspection bool
	// AllowedOrigins may open websockets from a browser; the gateway's own
	// origin always may.
	AllowedOrigins []string
	// Authenticator checks the token a websocket client sends in its
	// connection_init payload.
	Authenticator *auth.Authenticator
	Logger        *slog.Logger
}

// Defaults, chosen so that the largest legitimate request (a full page of
// 100 users with their fields) fits with room to spare.
const (
	DefaultComplexityLimit  = 1000
	DefaultDepthLimit       = 12
	DefaultParserTokenLimit = 15000
	queryCacheSize          = 1000
	// signInCost makes each signIn or signUp cost as much as a hundred
	// fields, so one request cannot carry many password checks as aliases.
	signInCost = 100
)

// NewServer builds the GraphQL handler explicitly: named transports, a query
// cache, the limits, the introspection switch, the error presenter and the
// recover function.
func NewServer(r *Resolver, cfg ServerConfig) *handler.Server {
	if cfg.ComplexityLimit <= 0 {
		cfg.ComplexityLimit = DefaultComplexityLimit
	}
	if cfg.DepthLimit <= 0 {
		cfg.DepthLimit = DefaultDepthLimit
	}
	if cfg.ParserTokenLimit <= 0 {
		cfg.ParserTokenLimit = DefaultParserTokenLimit
	}
	es := NewExecutableSchema(Config{Resolvers: r, Directives: Directives(), Complexity: complexity()})
	srv := handler.New(es)

	srv.AddTransport(transport.Websocket{
		Implementation: transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{OriginPatterns: originHosts(cfg.AllowedOrigins)},
		},
		InitFunc:              websocketAuth(cfg.Authenticator),
		InitTimeout:           10 * time.Second,
		KeepAlivePingInterval: 15 * time.Second,
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](queryCacheSize))
	srv.SetParserTokenLimit(cfg.ParserTokenLimit)
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.FixedComplexityLimit(cfg.ComplexityLimit))
	srv.Use(DepthLimit{Max: cfg.DepthLimit})
	srv.AroundOperations(withLoaders(r.Store))
	srv.SetErrorPresenter(ErrorPresenter(cfg.Logger))
	srv.SetRecoverFunc(Recover(cfg.Logger))
	return srv
}

// complexity prices list fields by the page size they may return.
func complexity() ComplexityRoot {
	var c ComplexityRoot
	c.Query.Users = func(child int, _ *store.UserFilter, _ *string, _ []model.UserOrder, first *int, _ *string, last *int, _ *string, _ *int, limit *int) int {
		return 1 + child*pageSize(first, last, limit)
	}
	c.Mutation.SignIn = func(child int, _, _ string) int { return signInCost + child }
	c.Mutation.SignUp = func(child int, _ model.SignUpInput) int { return signInCost + child }
	return c
}

// pageSize is the number of items a list field may return.
func pageSize(sizes ...*int) int {
	for _, n := range sizes {
		if n != nil {
			return min(max(*n, 0), MaxPageSize)
		}
	}
	return DefaultPageSize
}

// websocketAuth authenticates a subscription client by the Authorization
// value of its connection_init payload, as graphql-ws clients send it. A bad
// token closes the socket with 4403, an anonymous client may connect.
func websocketAuth(a *auth.Authenticator) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if a == nil {
			return ctx, nil, nil
		}
		caller, err := a.Authenticate(ctx, payload.Authorization())
		if err != nil {
			return transport.WithWebsocketCloseCode(ctx, 4403), nil, err
		}
		return auth.WithCaller(ctx, caller), nil, nil
	}
}

// originHosts turns allowed origins (https://app.example.com) into the host
// patterns the websocket library matches.
func originHosts(origins []string) []string {
	hosts := make([]string, 0, len(origins))
	for _, o := range origins {
		if o == "*" {
			hosts = append(hosts, "*")
			continue
		}
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}
