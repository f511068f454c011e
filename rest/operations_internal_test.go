package rest

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"

	"github.com/gatehouse/gatehouse/graph"
)

// TestOperationsFitTheSchema: every embedded document parses and
// validates against the executable schema, every route names operations
// that exist, a lookup only reads, and every operation is used.
func TestOperationsFitTheSchema(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	ops, err := loadOperations()
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]bool{}
	for _, o := range ops {
		if docs[o.File] {
			continue
		}
		docs[o.File] = true
		if _, errs := gqlparser.LoadQuery(schema, o.Document); errs != nil {
			t.Errorf("%s: %v", o.File, errs)
		}
	}
	// The guard's operations, and those a dialect or a binder asks itself.
	used := map[string]bool{"JSONAPIRolesKnown": true}
	for _, name := range Dialects() {
		d := dialectNamed(name)
		used[d.Guards.field], used[d.Guards.user] = true, true
		for _, guard := range d.Guards.objects {
			used[guard] = true
		}
		for _, r := range d.Routes {
			if l := r.Op.lookup; l != "" {
				switch {
				case ops[l] == nil:
					t.Errorf("%s %s %s: no lookup operation %s", name, r.Method, r.Path, l)
				case !strings.HasPrefix(ops[l].Root, "Query."):
					// A lookup runs before the route's operation: were it
					// to write, a failing request would leave it done.
					t.Errorf("%s %s %s: lookup %s calls %s, not a query", name, r.Method, r.Path, l, ops[l].Root)
				}
				used[l] = true
			}
			if ops[r.Op.op] == nil {
				t.Errorf("%s %s %s: no operation %s", name, r.Method, r.Path, r.Op.op)
			}
			used[r.Op.op] = true
		}
	}
	for name := range ops {
		if !used[name] {
			t.Errorf("operation %s is used by no route", name)
		}
	}
}

// TestMethodRulesNameFields: each dialect's method rules name root fields
// the schema has, so that 403 before 405 asks a real rule.
func TestMethodRulesNameFields(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	for _, name := range Dialects() {
		for method, root := range dialectNamed(name).MethodRules {
			typeName, field, _ := strings.Cut(root, ".")
			if def := schema.Types[typeName]; def == nil || def.Fields.ForName(field) == nil || (def != schema.Query && def != schema.Mutation) {
				t.Errorf("%s: %s's rule %s is not a query or mutation field", name, method, root)
			}
		}
	}
}
