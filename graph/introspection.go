package graph

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Introspection answers from the schema in memory, with no store read, but
// what it answers can be large: the whole schema, once per alias. It is
// priced by the number of values it would answer, counted by walking the
// schema as the answer would (introspectionWalk), so that the standard
// introspection query of GraphiQL, graphql-codegen and Apollo is accepted
// and a few aliased copies of it are not.

// introspectionValuesPerCost is how many answered introspection values cost
// as much as one field that is resolved: they are read from memory, not
// the store, but each is still encoded and sent. The standard introspection
// query answers about 8,200 values from Gatehouse's schema, so it costs
// about 410, and two copies fit under the default limit but not three; an
// operation's introspection answers at most 20,000 values.
const introspectionValuesPerCost = 20

// isIntrospectionRoot tells __schema and __type, the fields whose whole
// selection is priced by introspectionWalk.
func isIntrospectionRoot(f *ast.Field) bool {
	return f.Name == "__schema" || f.Name == "__type"
}

// introspectionWalk counts the values an introspection answer holds,
// walking the schema with the selection. It spends one unit of left per
// value and stops when left runs out, so that a document whose answer would
// be huge (aliases, fragments spread in fragments) is measured only as far
// as its refusal needs: no walk visits more values than the budget.
type introspectionWalk struct {
	schema    *ast.Schema
	fragments ast.FragmentDefinitionList
	vars      map[string]any
	left      *int
}

// introNode is one object of an introspection answer: the schema, a type
// (a named definition or a list or non-null wrapper), a field, an input
// value (an argument or an input field), an enum value or a directive.
type introNode struct {
	schema    bool
	def       *ast.Definition
	wrapper   *ast.Type
	field     *ast.FieldDefinition
	input     *ast.ArgumentDefinition
	enumValue bool
	directive *ast.DirectiveDefinition
}

// root counts the values of __schema or __type (f) at the top of an
// operation.
func (w introspectionWalk) root(f *ast.Field) {
	*w.left--
	switch f.Name {
	case "__schema":
		w.object(f.SelectionSet, introNode{schema: true})
	case "__type":
		name, _ := f.ArgumentMap(w.vars)["name"].(string)
		if def := w.schema.Types[name]; def != nil {
			w.object(f.SelectionSet, introNode{def: def})
		}
	}
}

// object counts the values of a selection on one object of the answer.
func (w introspectionWalk) object(set ast.SelectionSet, n introNode) {
	for _, sel := range set {
		if *w.left <= 0 {
			return
		}
		switch sel := sel.(type) {
		case *ast.Field:
			*w.left--
			for _, child := range w.children(sel, n) {
				*w.left--
				w.object(sel.SelectionSet, child)
			}
		case *ast.InlineFragment:
			w.object(sel.SelectionSet, n)
		case *ast.FragmentSpread:
			if def := w.fragments.ForName(sel.Name); def != nil {
				w.object(def.SelectionSet, n)
			}
		}
	}
}

// children answers the objects field f of node n holds: none for a scalar
// or a null, one for an object, each element for a list.
func (w introspectionWalk) children(f *ast.Field, n introNode) []introNode {
	switch {
	case n.schema:
		return w.schemaChildren(f.Name)
	case n.def != nil || n.wrapper != nil:
		return w.typeChildren(f.Name, n)
	case n.field != nil:
		switch f.Name {
		case "args":
			return inputNodes(n.field.Arguments)
		case "type":
			return []introNode{w.typeNode(n.field.Type)}
		}
	case n.input != nil:
		if f.Name == "type" {
			return []introNode{w.typeNode(n.input.Type)}
		}
	case n.directive != nil:
		switch f.Name {
		case "args":
			return inputNodes(n.directive.Arguments)
		case "locations":
			return make([]introNode, len(n.directive.Locations))
		}
	}
	return nil
}

func (w introspectionWalk) schemaChildren(name string) []introNode {
	switch name {
	case "types":
		nodes := make([]introNode, 0, len(w.schema.Types))
		for _, def := range w.schema.Types {
			nodes = append(nodes, introNode{def: def})
		}
		return nodes
	case "queryType":
		return definitionNode(w.schema.Query)
	case "mutationType":
		return definitionNode(w.schema.Mutation)
	case "subscriptionType":
		return definitionNode(w.schema.Subscription)
	case "directives":
		nodes := make([]introNode, 0, len(w.schema.Directives))
		for _, d := range w.schema.Directives {
			nodes = append(nodes, introNode{directive: d})
		}
		return nodes
	}
	return nil
}

func (w introspectionWalk) typeChildren(name string, n introNode) []introNode {
	if n.wrapper != nil {
		if name != "ofType" {
			return nil
		}
		if n.wrapper.NonNull {
			unwrapped := *n.wrapper
			unwrapped.NonNull = false
			return []introNode{w.typeNode(&unwrapped)}
		}
		return []introNode{w.typeNode(n.wrapper.Elem)}
	}
	def := n.def
	switch name {
	case "fields":
		if def.Kind != ast.Object && def.Kind != ast.Interface {
			return nil
		}
		nodes := make([]introNode, 0, len(def.Fields))
		for _, f := range def.Fields {
			if !strings.HasPrefix(f.Name, "__") {
				nodes = append(nodes, introNode{field: f})
			}
		}
		return nodes
	case "inputFields":
		if def.Kind != ast.InputObject {
			return nil
		}
		nodes := make([]introNode, len(def.Fields))
		for i, f := range def.Fields {
			nodes[i] = introNode{input: &ast.ArgumentDefinition{Name: f.Name, Type: f.Type}}
		}
		return nodes
	case "interfaces":
		return w.namedNodes(def.Interfaces)
	case "possibleTypes":
		if def.Kind != ast.Interface && def.Kind != ast.Union {
			return nil
		}
		nodes := []introNode{}
		for _, p := range w.schema.GetPossibleTypes(def) {
			nodes = append(nodes, introNode{def: p})
		}
		return nodes
	case "enumValues":
		return make([]introNode, len(def.EnumValues))
	}
	return nil
}

// typeNode is the __Type of a field's or an argument's type: its
// wrappers first, then its named definition.
func (w introspectionWalk) typeNode(t *ast.Type) introNode {
	if t.NonNull || t.Elem != nil {
		return introNode{wrapper: t}
	}
	return introNode{def: w.schema.Types[t.NamedType]}
}

func (w introspectionWalk) namedNodes(names []string) []introNode {
	nodes := make([]introNode, 0, len(names))
	for _, name := range names {
		if def := w.schema.Types[name]; def != nil {
			nodes = append(nodes, introNode{def: def})
		}
	}
	return nodes
}

func definitionNode(def *ast.Definition) []introNode {
	if def == nil {
		return nil
	}
	return []introNode{{def: def}}
}

func inputNodes(args ast.ArgumentDefinitionList) []introNode {
	nodes := make([]introNode, len(args))
	for i, a := range args {
		nodes[i] = introNode{input: a}
	}
	return nodes
}
