package graph

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// Every list in the schema has a price and every field with a resolver of
// its own is accounted for: a list or resolver added later without one
// fails here, before it can let one request fan out into the store.
func TestEveryListAndResolverHasAPrice(t *testing.T) {
	for _, typ := range parsedSchema.Types {
		if typ.Kind != ast.Object || typ.BuiltIn || len(typ.Name) > 1 && typ.Name[:2] == "__" {
			continue
		}
		for _, f := range typ.Fields {
			coord := typ.Name + "." + f.Name
			items := parsedSchema.Types[f.Type.Name()]
			isList := f.Type.Elem != nil && items != nil && items.Kind == ast.Object
			switch {
			case isConnection(f.Type.Name()) && !isPaged(f):
				t.Errorf("%s answers a connection but takes no page size", coord)
			case isList && !isConnection(typ.Name) && !isPaged(f) && listRows[coord] == 0:
				t.Errorf("%s is a list of %s with no bound in listRows", coord, items.Name)
			}
			if forcesResolver(f) && !isPaged(f) && f.Name != "totalCount" && !batchedFields[coord] && fieldPrices[coord] == 0 {
				t.Errorf("%s has a resolver of its own but is neither in fieldPrices nor in batchedFields", coord)
			}
		}
	}
	for coord := range listRows {
		if batchedFields[coord] == (fieldPrices[coord] > 0) {
			t.Errorf("%s must be either batched or priced", coord)
		}
	}
}

func forcesResolver(f *ast.FieldDefinition) bool {
	d := f.Directives.ForName("goField")
	if d == nil {
		return false
	}
	arg := d.Arguments.ForName("forceResolver")
	return arg != nil && arg.Value.Raw == "true"
}

// A page costs its size times its selection whichever argument gives the
// size: a backward page (last) is as large as a forward one (first) or an
// offset one (limit), so a page of pages is priced the same, and refused,
// whichever way it is asked.
func TestPageIsPricedByItsSizeWhicheverArgumentGivesIt(t *testing.T) {
	// 100 roles, each with a page of 100 users of two fields each (nodes
	// and id): 1 + 100 × (1 + 1 + 100 × 2).
	const want = 20201
	for _, size := range []string{"first", "last", "limit"} {
		for _, tc := range []struct {
			name, query string
			vars        map[string]any
		}{
			{"in the document", "{ roles(SIZE: 100) { nodes { users(SIZE: 100) { nodes { id } } } } }", nil},
			{"from a variable", "query($n: Int) { roles(SIZE: $n) { nodes { users(SIZE: $n) { nodes { id } } } } }", map[string]any{"n": int64(100)}},
		} {
			t.Run(size+" "+tc.name, func(t *testing.T) {
				oc := operationOf(t, strings.ReplaceAll(tc.query, "SIZE", size))
				oc.Variables = tc.vars
				w := costWalk{vars: oc.Variables, fragments: newFragmentMemo[price](oc.Doc)}
				if got := w.cost(oc.Operation.SelectionSet).total; got != want {
					t.Errorf("priced %d, want %d", got, want)
				}
			})
		}
	}
}
