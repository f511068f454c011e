package graph

import (
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
