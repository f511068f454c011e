package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Admission is the one path every operation takes before any resolver
// runs, whichever transport brought it: an HTTP request, a websocket
// message, or a REST route running its operation on the in-process
// executor. gqlgen runs its checks in this order:
//
//  1. size: the body limit (HTTP) or the message limit (websocket) bounds
//     the request, the parser's token limit the document;
//  2. variables as sent: their nesting and number of values, before they
//     are coerced (coercion costs time in proportion to their size, and to
//     the square of their nesting);
//  3. the document parsed, refused if validating it would compare too
//     many pairs of fields (documents.go), and validated; cached by its
//     text;
//  4. variables as used: a value referenced N times counts N times, so a
//     list sent once cannot be multiplied by the document;
//  5. depth, with an introspection type's ofType chain left to the
//     validator's MaxIntrospectionDepth rule and to its price;
//  6. cost: the price of every field (prices.go), introspection priced by
//     what it answers, and the store scans the operation runs.
//
// No transport keeps a check of its own; each refusal is the same request
// error whichever transport carried the operation.
type Admission struct {
	// Schema is the schema introspection answers from.
	Schema *ast.Schema
	// MaxDepth is the deepest selection allowed.
	MaxDepth int
	// MaxComplexity is the highest price allowed.
	MaxComplexity int
	// Documents is the parsed-document cache the executor reads: the
	// admission parses an uncached document itself (documents.go) and
	// hands it on there. TokenLimit is the parser's token limit.
	Documents  *SizedCache[*ast.QueryDocument]
	TokenLimit int
	// MaxScans is the most the operation's store scans (counts, searches,
	// filtered or ordered pages) may weigh, all together: each its walk
	// of every row and the conditions it evaluates on each (prices.go).
	MaxScans int
}

// Bounds of an operation's variables. The deepest variable the schema
// takes (a users filter nested as deep as it may be, with its lookups) is
// about 40 levels.
const (
	MaxVariableDepth  = 64
	MaxVariableValues = 20_000
)

var (
	_ graphql.HandlerExtension          = Admission{}
	_ graphql.OperationParameterMutator = Admission{}
	_ graphql.OperationContextMutator   = Admission{}
)

// ExtensionName implements graphql.HandlerExtension. Its figures are kept
// under the name of gqlgen's complexity extension, so that
// extension.GetComplexityStats reads them.
func (Admission) ExtensionName() string { return "ComplexityLimit" }

// Validate implements graphql.HandlerExtension.
func (a Admission) Validate(graphql.ExecutableSchema) error {
	switch {
	case a.MaxDepth < 1:
		return fmt.Errorf("depth limit must be at least 1, not %d", a.MaxDepth)
	case a.MaxComplexity < 1:
		return fmt.Errorf("complexity limit must be at least 1, not %d", a.MaxComplexity)
	case a.MaxScans < 0:
		return fmt.Errorf("scan limit must not be negative, not %d", a.MaxScans)
	}
	return nil
}

// MutateOperationParameters implements graphql.OperationParameterMutator:
// the variables as sent, then the document parsed (a document a persisted
// query's hash stands for is not here yet: it was admitted when it was
// remembered, or is trusted).
func (a Admission) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if !variablesWithin(params.Variables) {
		return limitError(CodeVariablesLimitExceeded,
			"The variables may nest at most %d levels and hold at most %d values.", MaxVariableDepth, MaxVariableValues)
	}
	return a.parse(ctx, params.Query)
}

// MutateOperationContext implements graphql.OperationContextMutator: the
// checks that need the validated document.
func (a Admission) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	set := oc.Operation.SelectionSet
	if used := newVariableUse(oc.Doc, oc.Variables).of(set); used > MaxVariableValues {
		return limitError(CodeVariablesLimitExceeded,
			"The variables as the operation uses them hold %s values (a value used N times counts N times); the limit is %d.",
			costText(used), MaxVariableValues)
	}
	if depth := newDepthWalk(oc.Doc, selectionDepth).depth(set); depth > a.MaxDepth {
		return limitError(CodeDepthLimitExceeded, "operation is nested deeper than %d levels", a.MaxDepth)
	}
	c := newCostWalk(a.Schema, oc.Doc, oc.Variables, a.MaxComplexity).cost(set).once
	oc.Stats.SetExtension(a.ExtensionName(), &extension.ComplexityStats{Complexity: c.total, ComplexityLimit: a.MaxComplexity})
	if c.total > a.MaxComplexity {
		return limitError(CodeComplexityLimitExceeded,
			"operation has complexity %s, which exceeds the limit of %d", costText(c.total), a.MaxComplexity)
	}
	if c.scans > a.MaxScans {
		return limitError(CodeComplexityLimitExceeded,
			"operation's store scans (counts, searches, filtered or ordered pages, pages far into a list) weigh %s, each 5 for its walk of every row and 1 for each condition it evaluates on each, which exceeds the limit of %d",
			costText(c.scans), a.MaxScans)
	}
	return nil
}

func limitError(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	err.Extensions = map[string]any{"code": code}
	return err
}

// variablesWithin tells whether decoded variables nest at most
// MaxVariableDepth levels and hold at most MaxVariableValues values. It
// stops as soon as a bound is passed.
func variablesWithin(vars map[string]any) bool {
	values := 0
	var within func(v any, depth int) bool
	within = func(v any, depth int) bool {
		if values++; values > MaxVariableValues {
			return false
		}
		switch v := v.(type) {
		case map[string]any:
			if depth++; depth > MaxVariableDepth {
				return false
			}
			for _, e := range v {
				if !within(e, depth) {
					return false
				}
			}
		case []any:
			if depth++; depth > MaxVariableDepth {
				return false
			}
			for _, e := range v {
				if !within(e, depth) {
					return false
				}
			}
		}
		return true
	}
	return within(map[string]any(vars), 0)
}

// variableUse counts the values an operation's variables hold as the
// operation uses them: each reference to a variable counts its values,
// each fragment is measured once and counted at every spread.
type variableUse struct {
	sizes     map[string]int
	fragments fragmentMemo[int]
}

func newVariableUse(doc *ast.QueryDocument, vars map[string]any) variableUse {
	sizes := make(map[string]int, len(vars))
	for name, v := range vars {
		sizes[name] = valueCount(v)
	}
	return variableUse{sizes: sizes, fragments: newFragmentMemo[int](doc)}
}

func (u variableUse) of(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			for _, arg := range sel.Arguments {
				n = addCost(n, u.value(arg.Value))
			}
			n = addCost(n, u.directives(sel.Directives))
			n = addCost(n, u.of(sel.SelectionSet))
		case *ast.InlineFragment:
			n = addCost(n, u.directives(sel.Directives))
			n = addCost(n, u.of(sel.SelectionSet))
		case *ast.FragmentSpread:
			n = addCost(n, u.directives(sel.Directives))
			n = addCost(n, u.fragments.of(sel.Name, u.of))
		}
	}
	return n
}

func (u variableUse) directives(list ast.DirectiveList) int {
	n := 0
	for _, d := range list {
		for _, arg := range d.Arguments {
			n = addCost(n, u.value(arg.Value))
		}
	}
	return n
}

func (u variableUse) value(v *ast.Value) int {
	if v == nil {
		return 0
	}
	if v.Kind == ast.Variable {
		return u.sizes[v.Raw]
	}
	n := 0
	for _, child := range v.Children {
		n = addCost(n, u.value(child.Value))
	}
	return n
}

// valueCount is how many values v holds, itself included.
func valueCount(v any) int {
	n := 1
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			n += valueCount(e)
		}
	case []any:
		for _, e := range v {
			n += valueCount(e)
		}
	}
	return n
}
