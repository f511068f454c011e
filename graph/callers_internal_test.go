package graph

import (
	"context"
	"net/netip"
	"testing"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gatehouse/gatehouse/auth"
)

// An anonymous caller is counted as every per-address limit counts it: an
// IPv6 client by its /64, so that one holding a /64 cannot take a turn or
// a websocket's place per address it owns.
func TestAnonymousCallersAreKeyedByAddressBlock(t *testing.T) {
	of := func(addr string) callerID {
		return callerOf(auth.WithClientIP(context.Background(), netip.MustParseAddr(addr)))
	}
	if a, b := of("2001:db8::1"), of("2001:db8::ffff:1"); a != b {
		t.Errorf("one /64 is two callers: %v, %v", a, b)
	}
	if a, b := of("2001:db8::1"), of("2001:db8:0:1::1"); a == b {
		t.Errorf("two /64s are one caller: %v", a)
	}
	if a, b := of("192.0.2.1"), of("::ffff:192.0.2.1"); a != b {
		t.Errorf("an IPv4 address and its mapped form are two callers: %v, %v", a, b)
	}
	if c := callerOf(context.Background()); c != (callerID{}) {
		t.Errorf("a request with no address is counted as %v", c)
	}
}

// The admission parses and validates a document the cache does not hold,
// and hands it to the executor: the executor's look-up finds it (so it is
// neither parsed nor validated again), and the cache keeps it for the next
// request. A document that does not validate is left for the executor to
// report, and is not handed on.
func TestAdmittedDocumentIsHandedToTheExecutor(t *testing.T) {
	documents := newQueryCache(QueryCacheBytes)
	a := Admission{Schema: parsedSchema, Documents: documents, TokenLimit: DefaultParserTokenLimit}
	executor := admittedDocuments{cache: documents}
	for query, handed := range map[string]bool{"{ me { id } }": true, "{ me { noSuchField } }": false} {
		ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{})
		if err := a.MutateOperationParameters(ctx, &graphql.RawParams{Query: query}); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		doc, ok := executor.Get(ctx, query)
		if ok != handed || ok && len(doc.Operations) != 1 {
			t.Errorf("%s: handed to the executor: %v, want %v", query, ok, handed)
		}
		if _, kept := documents.Get(context.Background(), query); kept != handed {
			t.Errorf("%s: kept in the cache: %v, want %v", query, kept, handed)
		}
	}
}
