package rest

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/gatehouse/gatehouse/graph"
)

// The GraphQL operations the dialects run, one document per dialect: each
// route names its operations, and docs/rest.md lists them.
//
//go:embed operations/*.graphql
var operationFiles embed.FS

// operation is one named operation of a document under operations/.
type operation struct {
	Name string
	// Document is the whole file, so the operation's fragments come with
	// it; the executor's query cache holds it parsed and validated once.
	Document string
	File     string
	// Root is the field it calls, "Mutation.updateUser": the field whose
	// access rule stands for DRF's permission check on the route.
	Root string
	// public: the schema marks Root @public, open to anyone.
	public bool
	// required are the variables it cannot run without.
	required []string
}

// OperationNames are the names of the operations the dialects run, sorted:
// names the gateway itself sends, which metrics may use as labels.
func OperationNames() []string {
	ops, err := loadOperations()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(ops))
	for name := range ops {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// operations are the embedded operations by name.
type operations map[string]*operation

// loadOperations parses the embedded documents. They are part of the
// program: a document that does not parse, or two operations with one
// name, is a bug the tests catch, so the error is for them.
func loadOperations() (operations, error) {
	files, err := fs.Glob(operationFiles, "operations/*.graphql")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	ops := operations{}
	for _, file := range files {
		text, err := fs.ReadFile(operationFiles, file)
		if err != nil {
			return nil, err
		}
		doc, err := parser.ParseQuery(&ast.Source{Name: file, Input: string(text)})
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		for _, def := range doc.Operations {
			if _, dup := ops[def.Name]; dup || def.Name == "" {
				return nil, fmt.Errorf("%s: operation %q is unnamed or not unique", file, def.Name)
			}
			ops[def.Name] = &operation{
				Name:     def.Name,
				Document: string(text),
				File:     path.Base(file),
				Root:     rootOf(def),
				public:   isPublic(rootOf(def)),
				required: requiredVariables(def),
			}
		}
	}
	return ops, nil
}

func rootOf(def *ast.OperationDefinition) string {
	typeName := "Query"
	if def.Operation == ast.Mutation {
		typeName = "Mutation"
	}
	for _, sel := range def.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			return typeName + "." + f.Name
		}
	}
	return typeName
}

// isPublic tells whether the executable schema marks a root field
// ("Mutation.signIn") @public: the access rule is the schema's, read where
// it is declared rather than copied.
func isPublic(root string) bool {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	typeName, field, _ := strings.Cut(root, ".")
	def := schema.Types[typeName]
	if def == nil {
		return false
	}
	f := def.Fields.ForName(field)
	return f != nil && f.Directives.ForName("public") != nil
}

func requiredVariables(def *ast.OperationDefinition) []string {
	var names []string
	for _, v := range def.VariableDefinitions {
		if v.Type.NonNull && v.DefaultValue == nil {
			names = append(names, v.Variable)
		}
	}
	return names
}
