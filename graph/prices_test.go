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

// A page costs its rows' selection times its size whichever argument gives
// the size: a backward page (last) is as large as a forward one (first) or
// an offset one (limit), so a page of pages is priced the same, and refused,
// whichever way it is asked. last without before also counts the list to
// find its end: a scan, once per page.
func TestPageIsPricedByItsSizeWhicheverArgumentGivesIt(t *testing.T) {
	// 100 roles, each with a page of 100 users: each page is itself (1),
	// its nodes (1) and each row's selection (id: 1), so a page of users
	// costs 102 and the page of roles 1 + 1 + 100 × 102.
	const rows = 10202
	want := map[string]cost{
		"first": {total: rows},
		"limit": {total: rows},
		// 101 pages from the end, each a scan of every row.
		"last": {total: rows + 101*scanCost, scans: 101 * scanWalk},
	}
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
				w := newCostWalk(parsedSchema, oc.Doc, oc.Variables, DefaultComplexityLimit)
				got := w.cost(oc.Operation.SelectionSet).once
				if got.total != want[size].total || got.scans != want[size].scans {
					t.Errorf("priced %d with %d scans, want %d with %d", got.total, got.scans, want[size].total, want[size].scans)
				}
			})
		}
	}
}
