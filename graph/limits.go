package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

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
	if depth := selectionDepth(oc.Operation.SelectionSet, oc.Doc.Fragments, 0, d.Max); depth > d.Max {
		err := gqlerror.Errorf("operation is nested deeper than %d levels", d.Max)
		err.Extensions = map[string]any{"code": "DEPTH_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

// selectionDepth measures the deepest field path, stopping once it passes
// limit (so fragment cycles, which validation refuses anyway, cannot loop).
func selectionDepth(set ast.SelectionSet, fragments ast.FragmentDefinitionList, depth, limit int) int {
	if depth > limit {
		return depth
	}
	deepest := depth
	for _, sel := range set {
		var d int
		switch sel := sel.(type) {
		case *ast.Field:
			d = depth
			if len(sel.SelectionSet) > 0 {
				d = selectionDepth(sel.SelectionSet, fragments, depth+1, limit)
			} else {
				d = depth + 1
			}
		case *ast.InlineFragment:
			d = selectionDepth(sel.SelectionSet, fragments, depth, limit)
		case *ast.FragmentSpread:
			if def := fragments.ForName(sel.Name); def != nil {
				d = selectionDepth(def.SelectionSet, fragments, depth, limit)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}
