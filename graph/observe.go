package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"

	"github.com/gatehouse/gatehouse/auth"
)

// OperationObserver learns about every GraphQL operation the gateway runs,
// for metrics. Implementations must be safe for concurrent use and quick.
type OperationObserver interface {
	// Operation is called once per response (a subscription's every event).
	Operation(OperationStats)
	// QueryCache is called on every look-up of a parsed query.
	QueryCache(hit bool)
}

// OperationStats describes one response.
type OperationStats struct {
	// Name is the name the document gives the operation, "" for an
	// anonymous one.
	Name string
	// Type is query, mutation or subscription.
	Type string
	// SignedIn tells whether a signed-in caller sent it.
	SignedIn   bool
	Duration   time.Duration
	Complexity int
	// ErrorCodes holds extensions.code of each error in the response.
	ErrorCodes []string
}

// observer is the extension that reports operations to an OperationObserver.
type observer struct {
	to OperationObserver
}

var (
	_ graphql.HandlerExtension    = observer{}
	_ graphql.ResponseInterceptor = observer{}
)

func (observer) ExtensionName() string { return "OperationObserver" }

func (observer) Validate(graphql.ExecutableSchema) error { return nil }

func (o observer) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	// Requests refused before an operation exists (no query, a query of
	// the wrong type) have no operation context; they are counted by the
	// HTTP metrics alone.
	if !graphql.HasOperationContext(ctx) {
		return resp
	}
	oc := graphql.GetOperationContext(ctx)
	stats := OperationStats{Duration: time.Since(oc.Stats.OperationStart), SignedIn: auth.CallerFrom(ctx) != nil}
	if oc.Operation != nil {
		stats.Name = oc.Operation.Name
		stats.Type = string(oc.Operation.Operation)
	}
	if c := extension.GetComplexityStats(ctx); c != nil {
		stats.Complexity = c.Complexity
	}
	if resp != nil {
		for _, e := range resp.Errors {
			code, _ := e.Extensions["code"].(string)
			stats.ErrorCodes = append(stats.ErrorCodes, code)
		}
	}
	o.to.Operation(stats)
	return resp
}
