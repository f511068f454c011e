package graph

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// operationOf parses and validates query against the schema, as the
// executor does before the limits run.
func operationOf(t *testing.T, query string) *graphql.OperationContext {
	t.Helper()
	oc, err := operationOrError(query)
	if err != nil {
		t.Fatalf("%.200s: %v", query, err)
	}
	return oc
}

func operationOrError(query string) (*graphql.OperationContext, gqlerror.List) {
	doc, errs := gqlparser.LoadQuery(parsedSchema, query)
	if errs != nil {
		return nil, errs
	}
	return &graphql.OperationContext{Doc: doc, Operation: doc.Operations[0], Variables: map[string]any{}}, nil
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

// admission is the admission of the default limits, but for those a test
// sets.
func admission(depth, complexity int) Admission {
	return Admission{Schema: parsedSchema, MaxDepth: depth, MaxComplexity: complexity, MaxScans: DefaultScanLimit}
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
			err := admission(10, math.MaxInt).MutateOperationContext(context.Background(), operationOf(t, tc.query))
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
			err := admission(DefaultDepthLimit, DefaultComplexityLimit).MutateOperationContext(context.Background(), oc)
			if refused := err != nil; refused != tc.refused {
				t.Fatalf("refused: %v (%v), want %v", refused, err, tc.refused)
			}
			if err != nil && err.Extensions["code"] != CodeComplexityLimitExceeded {
				t.Errorf("code %v", err.Extensions["code"])
			}
		})
	}
}

// TestComplexityIsExact pins what some operations cost, and that an
// operation costing exactly the limit is let through while one more is
// refused with its cost named.
func TestComplexityIsExact(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
		cost  int
	}{
		// me, id and username: a field costs 1.
		{"plain fields", "{ me { id username } }", 3},
		// A page of 20 users: itself and its nodes, once, and 20 times
		// each row's selection (id).
		{"a page", "{ users(first: 20) { nodes { id } } }", 22},
		// The list (2), one row's matchedClients (3), and its three reads
		// again for each of the other rows the list may hold.
		{"an unpaged list repeats its rows' reads", "{ mailingsStats { matchedClients } }", 2 + 3 + (mailingsStatsLimit-1)*3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := admission(DefaultDepthLimit, tc.cost).MutateOperationContext(context.Background(), operationOf(t, tc.query))
			if at != nil {
				t.Fatalf("refused at a limit equal to its cost %d: %v", tc.cost, at)
			}
			over := admission(DefaultDepthLimit, tc.cost-1).MutateOperationContext(context.Background(), operationOf(t, tc.query))
			want := "operation has complexity " + strconv.Itoa(tc.cost) + ", which exceeds the limit of " + strconv.Itoa(tc.cost-1)
			if over == nil || over.Message != want {
				t.Fatalf("at a limit one below its cost: %v, want %q", over, want)
			}
		})
	}
}

func TestLimitsOfOneAreValid(t *testing.T) {
	if err := admission(1, 1).Validate(nil); err != nil {
		t.Errorf("limits of 1: %v", err)
	}
	if err := admission(0, 1).Validate(nil); err == nil {
		t.Error("depth limit 0 accepted")
	}
	if err := admission(1, 0).Validate(nil); err == nil {
		t.Error("complexity limit 0 accepted")
	}
}

func TestCostArithmeticSaturates(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want int
	}{
		{"a sum that fits", addCost(math.MaxInt-5, 5), math.MaxInt},
		{"a sum one past", addCost(math.MaxInt-5, 6), math.MaxInt},
		{"a product that just fits", mulCost(2, math.MaxInt/2), math.MaxInt - 1},
		{"a product one past", mulCost(2, math.MaxInt/2+1), math.MaxInt},
		{"zero times anything", mulCost(0, math.MaxInt), 0},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	if got := costText(math.MaxInt); !strings.HasPrefix(got, "more than ") {
		t.Errorf("a saturated cost reads %q", got)
	}
}
