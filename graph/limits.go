package graph

import (
	"context"
	"fmt"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Both limits walk the operation once per fragment, not once per spread: a
// fragment that spreads another twice, forty levels down, names 2^40 fields
// in a document of a kilobyte and a half, and a walk that expanded every
// spread would never finish. A fragment's depth and cost do not depend on
// where it is spread (its fields are those of its own type condition), so
// each is worked out the first time and reused.

// DepthLimit refuses operations nested deeper than Max before any resolver
// runs. Complexity alone does not catch a deep chain of cheap fields.
type DepthLimit struct {
	Max int
}

var (
	_ graphql.HandlerExtension        = DepthLimit{}
	_ graphql.OperationContextMutator = DepthLimit{}
)

// ExtensionName implements graphql.HandlerExtension.
func (DepthLimit) ExtensionName() string { return "DepthLimit" }

// Validate implements graphql.HandlerExtension.
func (d DepthLimit) Validate(graphql.ExecutableSchema) error {
	if d.Max < 1 {
		return fmt.Errorf("depth limit must be at least 1, not %d", d.Max)
	}
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator.
func (d DepthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	w := depthWalk{fragments: newFragmentMemo[int](oc.Doc)}
	if w.depth(oc.Operation.SelectionSet) > d.Max {
		err := gqlerror.Errorf("operation is nested deeper than %d levels", d.Max)
		err.Extensions = map[string]any{"code": CodeDepthLimitExceeded}
		return err
	}
	return nil
}

// depthWalk measures the deepest field path of a selection set, counting
// each fragment once.
type depthWalk struct {
	fragments fragmentMemo[int]
}

func (w depthWalk) depth(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			deepest = max(deepest, 1+w.depth(sel.SelectionSet))
		case *ast.InlineFragment:
			deepest = max(deepest, w.depth(sel.SelectionSet))
		case *ast.FragmentSpread:
			deepest = max(deepest, w.fragments.of(sel.Name, w.depth))
		}
	}
	return deepest
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

// ComplexityLimit refuses operations whose estimated cost is higher than
// Max before any resolver runs; prices.go says what each field costs. It
// stands in for gqlgen's own extension, which walks every spread of every
// fragment; it records its figures under the same name, so
// extension.GetComplexityStats reads them.
type ComplexityLimit struct {
	Max int
}

var (
	_ graphql.HandlerExtension        = ComplexityLimit{}
	_ graphql.OperationContextMutator = ComplexityLimit{}
)

// ExtensionName implements graphql.HandlerExtension.
func (ComplexityLimit) ExtensionName() string { return "ComplexityLimit" }

// Validate implements graphql.HandlerExtension.
func (c ComplexityLimit) Validate(graphql.ExecutableSchema) error {
	if c.Max < 1 {
		return fmt.Errorf("complexity limit must be at least 1, not %d", c.Max)
	}
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator.
func (c ComplexityLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	w := costWalk{vars: oc.Variables, fragments: newFragmentMemo[price](oc.Doc)}
	cost := w.cost(oc.Operation.SelectionSet).total
	oc.Stats.SetExtension(c.ExtensionName(), &extension.ComplexityStats{Complexity: cost, ComplexityLimit: c.Max})
	if cost > c.Max {
		err := gqlerror.Errorf("operation has complexity %s, which exceeds the limit of %d", costText(cost), c.Max)
		err.Extensions = map[string]any{"code": CodeComplexityLimitExceeded}
		return err
	}
	return nil
}

// costWalk prices a selection set, each fragment once.
type costWalk struct {
	vars      map[string]any
	fragments fragmentMemo[price]
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
	// Introspection of the whole schema is priced by its depth alone.
	if f.Definition == nil || f.ObjectDefinition == nil || f.Definition.Type.Name() == "__Schema" {
		return price{}
	}
	return fieldPrice(f.Definition, f.ObjectDefinition.Name, w.cost(f.SelectionSet), f.ArgumentMap(w.vars))
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
