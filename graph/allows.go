package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gatehouse/gatehouse/graph/model"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// allows runs the access-rule directive of another root field for the
// caller, through the same directive functions the field itself runs, so
// the answer can never differ from what calling the field would decide.
// field is "Mutation.updateUser" or "Query.users"; id fills the arguments
// the rule's orSelf names; users is the store the directives read.
func allows(ctx context.Context, schema *ast.Schema, users *store.Store, field string, id *store.ID) (bool, error) {
	def := rootField(schema, field)
	if def == nil {
		return false, fault.Field("field", "Name a query or mutation field, as Mutation.updateUser.")
	}
	yes := func(context.Context) (any, error) { return true, nil }
	d := Directives(users)
	for _, dir := range def.Directives {
		var err error
		switch dir.Name {
		case "public":
			_, err = d.Public(ctx, nil, yes)
		case "auth":
			_, err = d.Auth(ctx, nil, yes)
		case "superuser":
			_, err = d.Superuser(ctx, nil, yes)
		case "hasPermission":
			args := dir.ArgumentMap(nil)
			orSelf := stringList(args["orSelf"])
			ctx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Args: selfArgs(orSelf, id)})
			_, err = d.HasPermission(ctx, nil, yes,
				stringArg(args["resource"]), model.Action(stringArg(args["action"])), orSelf,
				boolArg(args["orStaff"]))
		default:
			continue
		}
		if err != nil {
			return false, err
		}
		return true, nil
	}
	// Every root field carries a rule (a test checks it); one that does not
	// is not for anyone.
	return false, errForbidden
}

// rootField finds "Query.x" or "Mutation.x" in the schema.
func rootField(schema *ast.Schema, name string) *ast.FieldDefinition {
	typeName, fieldName, ok := strings.Cut(name, ".")
	var root *ast.Definition
	switch {
	case !ok:
		return nil
	case typeName == "Query":
		root = schema.Query
	case typeName == "Mutation":
		root = schema.Mutation
	}
	if root == nil {
		return nil
	}
	return root.Fields.ForName(fieldName)
}

// selfArgs gives every argument orSelf names the id, as the field's own
// arguments would hold it.
func selfArgs(names []string, id *store.ID) map[string]any {
	args := make(map[string]any, len(names))
	if id == nil {
		return args
	}
	for _, n := range names {
		args[n] = *id
	}
	return args
}

func stringArg(v any) string {
	s, _ := v.(string)
	return s
}

func boolArg(v any) *bool {
	b, ok := v.(bool)
	if !ok {
		return nil
	}
	return &b
}

func stringList(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
