package graph

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
)

// operationOf parses and validates query against the schema, as the
// executor does before the limits run.
func operationOf(t *testing.T, query string) *graphql.OperationContext {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(parsedSchema, query)
	if errs != nil {
		t.Fatalf("%s: %v", query, errs)
	}
	return &graphql.OperationContext{Doc: doc, Operation: doc.Operations[0], Variables: map[string]any{}}
}

// doubling is a document whose fragment of each level spreads the one below
// twice: levels spreads of doubling, 2^levels fields once expanded.
func doubling(levels int) string {
	var b strings.Builder
	b.WriteString("{ me { ...F" + strconv.Itoa(levels) + " } }\nfragment F0 on User { id createdBy { id } }\n")
	for i := 1; i <= levels; i++ {
		b.WriteString("fragment F" + strconv.Itoa(i) + " on User { ...F" + strconv.Itoa(i-1) + " ...F" + strconv.Itoa(i-1) + " }\n")
	}
	return b.String()
}

func TestDepthLimit(t *testing.T) {
	chain := func(depth int) string { // me { createdBy { … { id } } }: depth fields from me to id
		n := depth - 2
		return "{ me { " + strings.Repeat("createdBy { ", n) + "id" + strings.Repeat(" }", n) + " } }"
	}
	for _, tc := range []struct {
		name    string
		query   string
		refused bool
	}{
		{"at the limit", chain(10), false},
		{"one past it", chain(11), true},
		{"fragments counted once, whatever their spreads", doubling(40), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := DepthLimit{Max: 10}.MutateOperationContext(context.Background(), operationOf(t, tc.query))
			if refused := err != nil; refused != tc.refused {
				t.Fatalf("refused: %v (%v), want %v", refused, err, tc.refused)
			}
			if err != nil && err.Extensions["code"] != CodeDepthLimitExceeded {
				t.Errorf("code %v", err.Extensions["code"])
			}
		})
	}
}

func TestComplexityLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		query   string
		refused bool
	}{
		{"a plain query", "{ me { id username } }", false},
		{"a page of users and their roles", "{ users(first: 20) { nodes { id roles { name } } } }", false},
		{"pages of pages", "{ roles(limit: 100) { nodes { users(limit: 100) { nodes { id } } } } }", true},
		{"backward pages of pages", "{ roles(last: 100) { nodes { users(last: 100) { nodes { id } } } } }", true},
		// Priced each fragment once, the walk still sees what the spreads
		// would cost, and refuses it without expanding them.
		{"fragments doubling 40 times", doubling(40), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oc := operationOf(t, tc.query)
			err := ComplexityLimit{Max: DefaultComplexityLimit}.MutateOperationContext(context.Background(), oc)
			if refused := err != nil; refused != tc.refused {
				t.Fatalf("refused: %v (%v), want %v", refused, err, tc.refused)
			}
			if err != nil && err.Extensions["code"] != CodeComplexityLimitExceeded {
				t.Errorf("code %v", err.Extensions["code"])
			}
		})
	}
}
