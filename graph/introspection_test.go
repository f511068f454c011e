package graph

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The introspection query graphql-js's getIntrospectionQuery() writes, as
// GraphiQL, graphql-codegen and Apollo's tooling send it: with its default
// options, and with every option on (GraphiQL 4). Its type references nest
// ofType nine levels deep.
var standardIntrospection = map[string]string{
	"defaults":    "testdata/introspection-default.graphql",
	"all options": "testdata/introspection-all-options.graphql",
}

// Every tool that downloads the schema sends the standard query, anonymous
// or signed in: it passes the default limits, at well under half of the
// complexity limit, so that two copies fit and three do not.
func TestStandardIntrospectionIsAcceptedAndPricedByItsAnswer(t *testing.T) {
	for name, path := range standardIntrospection {
		t.Run(name, func(t *testing.T) {
			query := readTestdata(t, path)
			if err := admit(query); err != nil {
				t.Fatalf("refused under the default limits: %v", err)
			}
			cost := priceOf(t, query)
			if cost < 300 || cost > DefaultComplexityLimit/2 {
				t.Fatalf("priced %d; the answer holds thousands of values, priced between 300 and half the limit", cost)
			}
			if err := admit(aliased(query, 2)); err != nil {
				t.Errorf("two copies refused: %v", err)
			}
			err := admit(aliased(query, 3))
			if err == nil || err.Extensions["code"] != CodeComplexityLimitExceeded {
				t.Errorf("three copies: %v, want %s", err, CodeComplexityLimitExceeded)
			}
		})
	}
}

// aliased repeats the standard query's __schema selection n times under
// aliases, as an attacker multiplies the answer.
func aliased(query string, n int) string {
	open := strings.Index(query, "__schema {")
	end := strings.Index(query, "\n    }\n\n    fragment") // the end of __schema's selection
	body := query[open+len("__schema") : end]
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: __schema %s\n", i, body)
	}
	return query[:open] + b.String() + query[end:]
}

// Introspection is priced by what it answers, not by the fields it names:
// a selection on a list the schema holds many of costs many, and a chain
// of ofType past the deepest wrapper costs next to nothing.
func TestIntrospectionIsPricedByWhatItAnswers(t *testing.T) {
	ofTypes := func(n int) string {
		return strings.Repeat("ofType { ", n) + "name" + strings.Repeat(" }", n)
	}
	for _, tc := range []struct {
		name     string
		query    string
		min, max int
	}{
		{"a type's name", `{ __type(name: "User") { name } }`, 1, 1},
		{"a type that does not exist", `{ __type(name: "Nothing") { name } }`, 1, 1},
		// Every type's every field: hundreds of values.
		{"every field of every type", `{ __schema { types { fields { name } } } }`, 20, 200},
		// Thirty ofType levels answer four values at most per field.
		{"ofType past the wrappers", `{ __type(name: "Query") { fields { type { ` + ofTypes(30) + ` } } } }`, 3, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := admit(tc.query); err != nil {
				t.Fatalf("refused: %v", err)
			}
			if cost := priceOf(t, tc.query); cost < tc.min || cost > tc.max {
				t.Errorf("priced %d, want %d to %d", cost, tc.min, tc.max)
			}
		})
	}
}

// The validator's MaxIntrospectionDepth rule, as graphql-js's: fields,
// inputFields, interfaces and possibleTypes nested three deep would answer
// the schema cubed.
func TestIntrospectionNestingIsBounded(t *testing.T) {
	two := `{ __type(name: "Query") { fields { type { fields { name } } } } }`
	if err := admit(two); err != nil {
		t.Fatalf("two levels refused: %v", err)
	}
	three := `{ __type(name: "Query") { fields { type { fields { type { inputFields { name } } } } } } }`
	if err := admit(three); err == nil || !strings.Contains(err.Message, "introspection depth") {
		t.Fatalf("three levels: %v, want the validator's refusal", err)
	}
}

// 2,000 aliased copies of the whole schema, each spreading fragments that
// double forty times, were once priced 0 and answered 158 MB. The walk that
// prices them stops as soon as the operation is past its limit.
func TestIntrospectionFloodIsRefusedQuickly(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 2000 {
		fmt.Fprintf(&b, " a%d: __schema { types { ...T40 } }", i)
	}
	b.WriteString(" }\nfragment T0 on __Type { name kind }\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "fragment T%d on __Type { ...T%d fields { name } ...T%d }\n", i, i-1, i-1)
	}
	oc := operationOf(t, b.String())
	start := time.Now()
	err := admission(DefaultDepthLimit, DefaultComplexityLimit).MutateOperationContext(context.Background(), oc)
	took := time.Since(start)
	if err == nil || err.Extensions["code"] != CodeComplexityLimitExceeded {
		t.Fatalf("%v, want %s", err, CodeComplexityLimitExceeded)
	}
	if took > 20*time.Millisecond {
		t.Errorf("refused after %v; pricing must stop at the limit", took)
	}
}

// admit runs the admission of the default limits on query.
func admit(query string) *gqlerror.Error {
	oc, errs := operationOrError(query)
	if errs != nil {
		return errs[0]
	}
	return admission(DefaultDepthLimit, DefaultComplexityLimit).MutateOperationContext(context.Background(), oc)
}

func priceOf(t *testing.T, query string) int {
	t.Helper()
	oc := operationOf(t, query)
	return newCostWalk(parsedSchema, oc.Doc, oc.Variables, DefaultComplexityLimit).cost(oc.Operation.SelectionSet).once.total
}

func readTestdata(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
