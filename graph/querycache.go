package graph

import (
	"math"

	"github.com/vektah/gqlparser/v2/ast"
)

// The parsed-document cache spares a document seen before its parse and
// validation. It is bounded by the memory its entries hold, not by their
// number: a thousand entries of a megabyte each would hold a gigabyte for
// as long as nobody sends other documents.
//
// An entry holds its text (every node of the syntax tree points at it)
// and its syntax tree, whose size follows the number of nodes rather than
// the text: 30 KB of `{ a a a … }` parses into 3.4 MB of tree, 30 KB of
// comment into a few nodes. So an entry is weighed as its text plus
// queryNodeBytes a node. Texts over MaxCachedQuery, and documents that
// weigh more than maxCachedDocument, are parsed afresh each time they
// come: no client needs one cached, and they would crowd out those that
// are.
const (
	// QueryCacheBytes is what the cache's entries may weigh in all: some
	// thousands of the documents an application sends.
	QueryCacheBytes = 16 << 20
	// MaxCachedQuery is the longest query text cached.
	MaxCachedQuery = 32 << 10
	// maxCachedDocument is the heaviest document cached: a thousand or so
	// nodes, more than any document within the complexity limit needs.
	maxCachedDocument = 512 << 10
	// queryNodeBytes is what one node of a validated syntax tree holds at
	// most: a field with its position and its place in its selection set
	// measures about 230 bytes, a __typename, whose definition validation
	// makes for each, about 410 (TestQueryNodeBytesBoundTheTree keeps
	// this above every kind of node).
	queryNodeBytes = 512
)

// newQueryCache holds documents weighing maxWeight bytes in all.
func newQueryCache(maxWeight int) *SizedCache[*ast.QueryDocument] {
	return NewSizedCache(maxWeight, maxCachedDocument, documentWeight)
}

// documentWeight weighs an entry as its text and its syntax tree; a text
// over MaxCachedQuery weighs more than any entry may, uncounted.
func documentWeight(text string, doc *ast.QueryDocument) int {
	if len(text) > MaxCachedQuery {
		return math.MaxInt
	}
	return len(text) + queryNodeBytes*documentNodes(doc)
}

// documentNodes counts the nodes of a document's syntax tree: operations,
// fragments, variable definitions, selections, arguments, directives and
// values.
func documentNodes(doc *ast.QueryDocument) int {
	if doc == nil {
		return 0
	}
	n := 0
	for _, op := range doc.Operations {
		n += 1 + variableNodes(op.VariableDefinitions) + directiveNodes(op.Directives) + selectionNodes(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		n += 1 + variableNodes(f.VariableDefinition) + directiveNodes(f.Directives) + selectionNodes(f.SelectionSet)
	}
	return n
}

func variableNodes(vars ast.VariableDefinitionList) int {
	n := 0
	for _, v := range vars {
		n += 2 + valueNodes(v.DefaultValue) + directiveNodes(v.Directives) // the definition and its type
	}
	return n
}

func selectionNodes(set ast.SelectionSet) int {
	n := 0
	for _, s := range set {
		n++
		switch s := s.(type) {
		case *ast.Field:
			n += argumentNodes(s.Arguments) + directiveNodes(s.Directives) + selectionNodes(s.SelectionSet)
		case *ast.FragmentSpread:
			n += directiveNodes(s.Directives)
		case *ast.InlineFragment:
			n += directiveNodes(s.Directives) + selectionNodes(s.SelectionSet)
		}
	}
	return n
}

func directiveNodes(dirs ast.DirectiveList) int {
	n := 0
	for _, d := range dirs {
		n += 1 + argumentNodes(d.Arguments)
	}
	return n
}

func argumentNodes(args ast.ArgumentList) int {
	n := 0
	for _, a := range args {
		n += 1 + valueNodes(a.Value)
	}
	return n
}

func valueNodes(v *ast.Value) int {
	if v == nil {
		return 0
	}
	n := 1
	for _, c := range v.Children {
		n += 1 + valueNodes(c.Value)
	}
	return n
}
