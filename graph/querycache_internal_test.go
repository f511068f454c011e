package graph

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// repeat joins n pieces.
func repeat(n int, piece func(i int) string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(piece(i))
	}
	return b.String()
}

// The cache's bound holds only if what it counts for an entry (its text
// and queryNodeBytes a node) is at least what the entry keeps alive: a
// parsed and validated document. Measured for documents of every kind of
// node, dense enough that the tree outweighs the text; __typename, whose
// definition the validator makes afresh for each occurrence, is the
// heaviest.
func TestQueryNodeBytesBoundTheTree(t *testing.T) {
	shapes := []struct {
		name     string
		document func(i int) string
	}{
		{"aliased __typename", func(i int) string {
			return fmt.Sprintf("query Q%d { %s}", i, repeat(700, func(j int) string { return fmt.Sprintf("a%d: __typename ", j) }))
		}},
		{"aliased fields with selections", func(i int) string {
			return fmt.Sprintf("query Q%d { %s}", i, repeat(500, func(j int) string { return fmt.Sprintf("a%d: me { id } ", j) }))
		}},
		{"repeated fields", func(i int) string {
			return fmt.Sprintf("query Q%d { me { %s} }", i, strings.Repeat("id ", 700))
		}},
		{"arguments of objects and lists", func(i int) string {
			return fmt.Sprintf("query Q%d { %s}", i, repeat(100, func(j int) string {
				return fmt.Sprintf(`a%d: users(first: 3, filter: {username: {exact: "x", in: ["a", "b"]}, isActive: true}) { totalCount } `, j)
			}))
		}},
		{"variables with defaults", func(i int) string {
			return fmt.Sprintf("query Q%d(%s) { %s}", i,
				repeat(100, func(j int) string { return fmt.Sprintf("$v%d: Int = %d ", j, j) }),
				repeat(100, func(j int) string { return fmt.Sprintf("a%d: users(first: $v%d) { totalCount } ", j, j) }))
		}},
		{"directives", func(i int) string {
			return fmt.Sprintf("query Q%d { me { %s} }", i, strings.Repeat("id @include(if: true) @skip(if: false) ", 300))
		}},
		{"fragments", func(i int) string {
			return fmt.Sprintf("query Q%d { me { ...F0 } } %s fragment F199 on User { id }", i,
				repeat(199, func(j int) string {
					return fmt.Sprintf("fragment F%d on User { id ...F%d ... on User { username } } ", j, j+1)
				}))
		}},
	}
	live := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for _, shape := range shapes {
		const n = 30
		docs := make([]*ast.QueryDocument, n)
		counted := 0
		before := live()
		for i := range docs {
			text := shape.document(i)
			doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: text}, DefaultParserTokenLimit)
			if err != nil {
				t.Fatalf("%s: %v", shape.name, err)
			}
			if errs := validator.Validate(parsedSchema, doc); errs != nil {
				t.Fatalf("%s: %v", shape.name, errs)
			}
			docs[i] = doc
			counted += len(text) + queryNodeBytes*documentNodes(doc)
		}
		kept := int(live() - before)
		runtime.KeepAlive(docs)
		t.Logf("%s: %d bytes kept a document, %d counted", shape.name, kept/n, counted/n)
		if kept > counted {
			t.Errorf("%s: a document keeps %d bytes, more than the %d the cache counts", shape.name, kept/n, counted/n)
		}
	}
}

// The cache keeps what was used last and lets the rest go once the
// entries weigh more than its bound; a text over MaxCachedQuery, or a
// document heavier than maxCachedDocument, is not kept at all.
func TestQueryCacheEvictsByWeight(t *testing.T) {
	ctx := context.Background()
	parse := func(text string) *ast.QueryDocument {
		doc, err := parser.ParseQuery(&ast.Source{Input: text})
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	weigh := func(text string) int { return len(text) + queryNodeBytes*documentNodes(parse(text)) }
	a, b, c := "{ a: me { id } }", "{ b: me { id } }", "{ c: me { id } }"
	cache := newQueryCache(weigh(a) + weigh(b) + weigh(c)/2)
	for _, text := range []string{a, b} {
		cache.Add(ctx, text, parse(text))
	}
	if _, ok := cache.Get(ctx, a); !ok { // a is now the one used last
		t.Fatal("a was not kept")
	}
	cache.Add(ctx, c, parse(c))
	for text, want := range map[string]bool{a: true, b: false, c: true} {
		if _, ok := cache.Get(ctx, text); ok != want {
			t.Errorf("%s kept: %v, want %v", text, ok, want)
		}
	}

	big := newQueryCache(QueryCacheBytes)
	long := "{ me { id } } #" + strings.Repeat("x", MaxCachedQuery)
	heavy := "{ " + repeat(maxCachedDocument/queryNodeBytes, func(i int) string { return fmt.Sprintf("a%d: __typename ", i) }) + "}"
	for _, text := range []string{long, heavy} {
		big.Add(ctx, text, parse(text))
		if _, ok := big.Get(ctx, text); ok {
			t.Errorf("a document of %d bytes and %d nodes was kept", len(text), documentNodes(parse(text)))
		}
	}
}
