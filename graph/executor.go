package graph

import (
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/vektah/gqlparser/v2/ast"
)

// NewExecutor builds an in-process executor on the same executable schema
// as NewServer, configured exactly as the HTTP handler is: directives,
// complexity and depth limits, parser token limit, per-operation loaders,
// callers' turns, response limit, error presenter, recover function and
// query cache. The legacy REST dialects run their named operations on it,
// with the request's context (and so its caller), so every access rule and
// validation of GraphQL holds for them too. The HTTP transports are the
// handler's alone.
func NewExecutor(r *Resolver, cfg ServerConfig) *executor.Executor {
	cfg = cfg.withDefaults()
	es := newExecutableSchema(r)
	e := executor.New(es)
	configureExecution(e, es, r, cfg)
	e.AroundOperations(introspectionFor(cfg.Introspection))
	return e
}

// newExecutableSchema binds the resolvers and the access-rule directives to
// the generated schema (ComplexityLimit prices the fields itself).
func newExecutableSchema(r *Resolver) graphql.ExecutableSchema {
	return NewExecutableSchema(Config{Resolvers: r, Directives: Directives(r.Store)})
}

// executionSettings is what gqlgen's HTTP handler and its executor both
// accept, so that one function configures both alike.
type executionSettings interface {
	SetQueryCache(cache graphql.Cache[*ast.QueryDocument])
	SetParserTokenLimit(limit int)
	Use(extension graphql.HandlerExtension)
	AroundOperations(f graphql.OperationMiddleware)
	SetErrorPresenter(f graphql.ErrorPresenterFunc)
	SetRecoverFunc(f graphql.RecoverFunc)
	AroundResponses(f graphql.ResponseMiddleware)
	AroundFields(f graphql.FieldMiddleware)
}

// configureExecution applies the execution settings every surface shares.
// cfg must have its defaults applied.
func configureExecution(s executionSettings, es graphql.ExecutableSchema, r *Resolver, cfg ServerConfig) {
	documents := newQueryCache(QueryCacheBytes)
	if cfg.Observer != nil {
		s.Use(observer{to: cfg.Observer})
	}
	s.SetQueryCache(admittedDocuments{cache: documents, observer: cfg.Observer})
	s.SetParserTokenLimit(cfg.ParserTokenLimit)
	s.Use(Admission{
		Schema: es.Schema(), Documents: documents, TokenLimit: cfg.ParserTokenLimit,
		MaxDepth: cfg.DepthLimit, MaxComplexity: cfg.ComplexityLimit, MaxScans: cfg.ScanLimit,
	})
	s.AroundOperations(withLoaders(r.Store))
	s.AroundResponses(cfg.Turns.aroundResponses)
	s.AroundFields(cfg.Turns.aroundFields)
	s.AroundResponses(responseLimit(cfg.ResponseLimit))
	s.SetErrorPresenter(ErrorPresenter(cfg.Logger))
	s.SetRecoverFunc(Recover(cfg.Logger))
}

// withDefaults fills in the zero limits with the defaults.
func (cfg ServerConfig) withDefaults() ServerConfig {
	if cfg.ComplexityLimit <= 0 {
		cfg.ComplexityLimit = DefaultComplexityLimit
	}
	if cfg.DepthLimit <= 0 {
		cfg.DepthLimit = DefaultDepthLimit
	}
	if cfg.ParserTokenLimit <= 0 {
		cfg.ParserTokenLimit = DefaultParserTokenLimit
	}
	if cfg.ScanLimit <= 0 {
		cfg.ScanLimit = DefaultScanLimit
	}
	if cfg.APQMemory == 0 {
		cfg.APQMemory = DefaultAPQMemory
	}
	if cfg.WebsocketPing <= 0 {
		cfg.WebsocketPing = DefaultWebsocketPing
	}
	if cfg.WebsocketOperations <= 0 {
		cfg.WebsocketOperations = DefaultWebsocketOperations
	}
	if cfg.ResponseLimit <= 0 {
		cfg.ResponseLimit = DefaultResponseLimit
	}
	if cfg.Turns == nil {
		cfg.Turns = NewCallerTurns(CallerOperations)
	}
	return cfg
}
