package graph

import (
	"fmt"
	"math"

	"github.com/vektah/gqlparser/v2/ast"
)

// The walks that measure an operation for Admission (admission.go). Each
// walks the operation once per fragment, not once per spread: a fragment
// that spreads another twice, forty levels down, names 2^40 fields in a
// document of a kilobyte and a half, and a walk that expanded every spread
// would never finish. A fragment's measure does not depend on where it is
// spread (its fields are those of its own type condition), so each is
// worked out the first time and reused.

// depthWalk measures the deepest field path of a selection set, counting
// each fragment once and each field by its weight.
type depthWalk struct {
	fragments fragmentMemo[int]
	weight    func(*ast.Field) int
}

func newDepthWalk(doc *ast.QueryDocument, weight func(*ast.Field) int) depthWalk {
	return depthWalk{fragments: newFragmentMemo[int](doc), weight: weight}
}

func (w depthWalk) depth(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			deepest = max(deepest, w.weight(sel)+w.depth(sel.SelectionSet))
		case *ast.InlineFragment:
			deepest = max(deepest, w.depth(sel.SelectionSet))
		case *ast.FragmentSpread:
			deepest = max(deepest, w.fragments.of(sel.Name, w.depth))
		}
	}
	return deepest
}

// selectionDepth weighs every field 1 but an introspection type's ofType:
// a type reference's chain of wrappers is as long as the schema makes it
// (three at most in Gatehouse's), whatever the document asks, and the
// standard introspection query asks for nine. Introspection is bounded by
// the validator's MaxIntrospectionDepth rule (as graphql-js's) and by its
// price instead.
func selectionDepth(f *ast.Field) int {
	if f.Name == "ofType" && f.ObjectDefinition != nil && f.ObjectDefinition.Name == "__Type" {
		return 0
	}
	return 1
}

// fragmentMemo measures each fragment of a document once.
type fragmentMemo[M any] struct {
	fragments ast.FragmentDefinitionList
	memo      map[string]M
}

func newFragmentMemo[M any](doc *ast.QueryDocument) fragmentMemo[M] {
	return fragmentMemo[M]{fragments: doc.Fragments, memo: map[string]M{}}
}

// of is measure of the named fragment's selection set, measured the first
// time only.
func (m fragmentMemo[M]) of(name string, measure func(ast.SelectionSet) M) M {
	if n, ok := m.memo[name]; ok {
		return n
	}
	// A cycle (which validation refuses anyway) meets the zero, not a loop.
	var n M
	m.memo[name] = n
	if def := m.fragments.ForName(name); def != nil {
		n = measure(def.SelectionSet)
	}
	m.memo[name] = n
	return n
}

// costWalk prices a selection set, each fragment once (prices.go says what
// each field costs).
type costWalk struct {
	vars      map[string]any
	fragments fragmentMemo[price]
	// introspection counts what __schema and __type answer; its budget is
	// shared by the whole operation, so that aliased copies stop being
	// walked once the operation is past its limit.
	introspection introspectionWalk
}

// newCostWalk prices the operations of doc on schema, stopping the count of
// introspection values once they alone would cost more than limit.
func newCostWalk(schema *ast.Schema, doc *ast.QueryDocument, vars map[string]any, limit int) costWalk {
	left := mulCost(addCost(limit, 1), introspectionValuesPerCost)
	return costWalk{
		vars:          vars,
		fragments:     newFragmentMemo[price](doc),
		introspection: introspectionWalk{schema: schema, fragments: doc.Fragments, vars: vars, left: &left},
	}
}

func (w costWalk) cost(set ast.SelectionSet) price {
	var total price
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			total = total.plus(w.field(sel))
		case *ast.InlineFragment:
			total = total.plus(w.cost(sel.SelectionSet))
		case *ast.FragmentSpread:
			total = total.plus(w.fragments.of(sel.Name, w.cost))
		}
	}
	return total
}

func (w costWalk) field(f *ast.Field) price {
	if isIntrospectionRoot(f) {
		return w.introspectionPrice(f)
	}
	if f.Definition == nil || f.ObjectDefinition == nil {
		return price{}
	}
	return fieldPrice(f.Definition, f.ObjectDefinition.Name, w.cost(f.SelectionSet), f.ArgumentMap(w.vars))
}

// introspectionPrice prices __schema or __type by the values it answers; an
// answer past the operation's budget is priced as more than any limit.
func (w costWalk) introspectionPrice(f *ast.Field) price {
	left := w.introspection.left
	if w.introspection.schema == nil || *left <= 0 {
		return price{once: cost{total: math.MaxInt}}
	}
	before := *left
	w.introspection.root(f)
	if *left <= 0 {
		return price{once: cost{total: math.MaxInt}}
	}
	values := before - *left
	return price{once: cost{total: (values + introspectionValuesPerCost - 1) / introspectionValuesPerCost}}
}

// addCost adds two costs, saturating instead of overflowing.
func addCost(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

// mulCost multiplies two non-negative costs, saturating instead of
// overflowing.
func mulCost(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}

// costText says a saturated cost as "more than" rather than a huge number.
func costText(cost int) string {
	if cost == math.MaxInt {
		return fmt.Sprintf("more than %d", math.MaxInt32)
	}
	return fmt.Sprint(cost)
}
