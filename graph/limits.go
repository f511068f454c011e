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
	w := depthWalk{fragments: newFragmentMemo(oc.Doc)}
	if w.depth(oc.Operation.SelectionSet) > d.Max {
		err := gqlerror.Errorf("operation is nested deeper than %d levels", d.Max)
		err.Extensions = map[string]any{"code": "DEPTH_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

// depthWalk measures the deepest field path of a selection set, counting
// each fragment once.
type depthWalk struct {
	fragments fragmentMemo
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
type fragmentMemo struct {
	fragments ast.FragmentDefinitionList
	memo      map[string]int
}

func newFragmentMemo(doc *ast.QueryDocument) fragmentMemo {
	return fragmentMemo{fragments: doc.Fragments, memo: map[string]int{}}
}

// of is measure of the named fragment's selection set, measured the first
// time only.
func (m fragmentMemo) of(name string, measure func(ast.SelectionSet) int) int {
	if n, ok := m.memo[name]; ok {
		return n
	}
	// A cycle (which validation refuses anyway) meets this 0, not a loop.
	m.memo[name] = 0
	n := 0
	if def := m.fragments.ForName(name); def != nil {
		n = measure(def.SelectionSet)
	}
	m.memo[name] = n
	return n
}

// ComplexityLimit refuses operations whose estimated cost is higher than
// Max before any resolver runs. It stands in for gqlgen's own extension,
// which walks every spread of every fragment; it records its figures under
// the same name, so extension.GetComplexityStats reads them.
type ComplexityLimit struct {
	Max int
	es  graphql.ExecutableSchema
}

var (
	_ graphql.HandlerExtension        = &ComplexityLimit{}
	_ graphql.OperationContextMutator = &ComplexityLimit{}
)

// ExtensionName implements graphql.HandlerExtension.
func (*ComplexityLimit) ExtensionName() string { return "ComplexityLimit" }

// Validate implements graphql.HandlerExtension.
func (c *ComplexityLimit) Validate(es graphql.ExecutableSchema) error {
	if c.Max < 1 {
		return fmt.Errorf("complexity limit must be at least 1, not %d", c.Max)
	}
	c.es = es
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator.
func (c *ComplexityLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	w := costWalk{ctx: ctx, es: c.es, vars: oc.Variables, fragments: newFragmentMemo(oc.Doc)}
	cost := w.cost(oc.Operation.SelectionSet)
	oc.Stats.SetExtension(c.ExtensionName(), &extension.ComplexityStats{Complexity: cost, ComplexityLimit: c.Max})
	if cost > c.Max {
		err := gqlerror.Errorf("operation has complexity %s, which exceeds the limit of %d", costText(cost), c.Max)
		err.Extensions = map[string]any{"code": "COMPLEXITY_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

// costWalk prices a selection set as gqlgen does (a field costs 1 plus its
// selection unless the schema's complexity functions say otherwise),
// counting each fragment once.
type costWalk struct {
	ctx       context.Context
	es        graphql.ExecutableSchema
	vars      map[string]any
	fragments fragmentMemo
}

func (w costWalk) cost(set ast.SelectionSet) int {
	total := 0
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			total = addCost(total, w.field(sel))
		case *ast.InlineFragment:
			total = addCost(total, w.cost(sel.SelectionSet))
		case *ast.FragmentSpread:
			total = addCost(total, w.fragments.of(sel.Name, w.cost))
		}
	}
	return total
}

func (w costWalk) field(f *ast.Field) int {
	if f.Definition == nil || f.ObjectDefinition == nil || f.Definition.Type.Name() == "__Schema" {
		return 0
	}
	child := w.cost(f.SelectionSet)
	if c, ok := w.es.Complexity(w.ctx, f.ObjectDefinition.Name, f.Name, child, f.ArgumentMap(w.vars)); ok && c >= 1 {
		return c
	}
	return addCost(1, child)
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
