package graph

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// Validation compares every pair of fields that share a name, and the
// pairs of their selections: eight `me` nested four deep, eight times at
// each level, took a second of CPU to validate, and 394 `users` side by
// side 300 ms, before any price was looked at. The admission counts those
// pairs on the parsed document and refuses such a document at once.
func TestDocumentsWhoseValidationWouldCompareTooManyPairsAreRefused(t *testing.T) {
	repeat := func(n int, s string) string { return strings.TrimSpace(strings.Repeat(s+" ", n)) }
	nested := func(k int) string {
		return "{ " + repeat(k, "me { "+repeat(k, "createdBy { "+repeat(k, "createdBy { "+repeat(k, "id")+" }")+" }")+" }") + " }"
	}
	a := Admission{Schema: parsedSchema, Documents: newQueryCache(QueryCacheBytes), TokenLimit: DefaultParserTokenLimit}
	for _, tc := range []struct {
		name    string
		query   string
		refused bool
	}{
		{"fields of one name in a few fragments", `{ me { ...A ...B ...C id } } fragment A on User { id username } fragment B on User { id email } fragment C on User { id }`, false},
		{"two of each, nested four deep", nested(2), false},
		{"three of each, nested four deep", nested(3), false},
		{"eight of each, nested four deep", nested(8), true},
		{"394 users side by side", "{ " + repeat(394, "users(first: 1) { nodes { id username email } }") + " }", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{})
			start := time.Now()
			err := a.MutateOperationParameters(ctx, &graphql.RawParams{Query: tc.query})
			took := time.Since(start)
			if refused := err != nil; refused != tc.refused {
				t.Fatalf("refused: %v (%v), want %v", refused, err, tc.refused)
			}
			if err != nil && err.Extensions["code"] != CodeComplexityLimitExceeded {
				t.Errorf("code %v", err.Extensions["code"])
			}
			if tc.refused && took > 50*time.Millisecond {
				t.Errorf("refused after %v", took)
			}
		})
	}
}
