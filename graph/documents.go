package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// Validation can cost far more than the document it checks: the rule that
// fields of one name can be merged compares every pair of them, and the
// pairs of their selections, so eight `me` nested four deep, eight times
// at each level (20 KB), took a second of CPU to validate, and 394 `users`
// side by side 300 ms. So the admission parses a document itself, counts
// those comparisons, and refuses a document needing more than
// maxMergePairs (about 2 ms of them) before it is validated; one within the bound it validates and hands to the
// executor through the parsed-document cache (admittedDocuments), so that
// it is parsed and validated once.
const maxMergePairs = 10_000

// admittedKey is where the admission leaves a document it parsed and
// validated, on the operation's context, for admittedDocuments.
const admittedKey = "admittedDocument"

type admittedDocument struct {
	query string
	doc   *ast.QueryDocument
}

// parse parses and validates query unless it is cached, refusing it when
// validating it would compare too many pairs of fields. A document that
// does not parse or validate is left for the executor, which reports every
// error it has.
func (a Admission) parse(ctx context.Context, query string) *gqlerror.Error {
	if query == "" || a.Documents == nil {
		return nil
	}
	if _, ok := a.Documents.Get(ctx, query); ok {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, a.TokenLimit)
	if err != nil || len(doc.Operations) == 0 {
		return nil
	}
	if pairs := mergePairs(doc); pairs > maxMergePairs {
		return limitError(CodeComplexityLimitExceeded,
			"the document repeats fields of one name so often that validating it would compare %s pairs of fields (each pair, and each pair of their selections); the limit is %d",
			costText(pairs), maxMergePairs)
	}
	if errs := validator.ValidateWithRules(a.Schema, doc, rules.NewDefaultRules()); len(errs) > 0 {
		return nil
	}
	graphql.GetOperationContext(ctx).Stats.SetExtension(admittedKey, admittedDocument{query, doc})
	return nil
}

// admittedDocuments is the executor's parsed-document cache: the cache,
// or else the document the admission parsed and validated for this very
// operation, which it then keeps. Each look-up is reported to the
// observer, if any, as a hit only when the cache held the document.
type admittedDocuments struct {
	cache    *SizedCache[*ast.QueryDocument]
	observer OperationObserver
}

var _ graphql.Cache[*ast.QueryDocument] = admittedDocuments{}

// Get implements graphql.Cache.
func (d admittedDocuments) Get(ctx context.Context, query string) (*ast.QueryDocument, bool) {
	doc, ok := d.cache.Get(ctx, query)
	if d.observer != nil {
		d.observer.QueryCache(ok)
	}
	if ok {
		return doc, true
	}
	if !graphql.HasOperationContext(ctx) {
		return nil, false
	}
	admitted, ok := graphql.GetOperationContext(ctx).Stats.GetExtension(admittedKey).(admittedDocument)
	if !ok || admitted.query != query {
		return nil, false
	}
	d.cache.Add(ctx, query, admitted.doc)
	return admitted.doc, true
}

// Add implements graphql.Cache.
func (d admittedDocuments) Add(ctx context.Context, query string, doc *ast.QueryDocument) {
	d.cache.Add(ctx, query, doc)
}

// mergePairs counts the comparisons validation makes to check that fields
// sharing a response name can be merged, as its rule makes them: within
// each selection set (its inline fragments and the fragments it spreads
// included), every pair of one name, and for each pair, every pair of one
// name across their two selections, and so on down. It stops past
// maxMergePairs, so counting costs no more than the bound.
func mergePairs(doc *ast.QueryDocument) int {
	w := &mergeWalk{fragments: doc.Fragments, byName: map[*ast.Selection]map[string][]*ast.Field{}}
	for _, op := range doc.Operations {
		w.within(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		w.within(f.SelectionSet)
	}
	return w.count
}

type mergeWalk struct {
	fragments ast.FragmentDefinitionList
	count     int
	byName    map[*ast.Selection]map[string][]*ast.Field
}

func (w *mergeWalk) over() bool { return w.count > maxMergePairs }

// within counts the comparisons inside set and every selection below it.
func (w *mergeWalk) within(set ast.SelectionSet) {
	for _, fields := range w.fieldsByName(set) {
		for i := range fields {
			for j := i + 1; j < len(fields) && !w.over(); j++ {
				w.across(fields[i], fields[j])
			}
		}
	}
	for _, sel := range set {
		if w.over() {
			return
		}
		switch sel := sel.(type) {
		case *ast.Field:
			w.within(sel.SelectionSet)
		case *ast.InlineFragment:
			w.within(sel.SelectionSet)
		}
	}
}

// across counts comparing two fields of one name: themselves, then every
// pair of one name across their selections.
func (w *mergeWalk) across(a, b *ast.Field) {
	w.count++
	if len(a.SelectionSet) == 0 || len(b.SelectionSet) == 0 {
		return
	}
	fromB := w.fieldsByName(b.SelectionSet)
	for name, fromA := range w.fieldsByName(a.SelectionSet) {
		for _, x := range fromA {
			for _, y := range fromB[name] {
				if w.over() {
					return
				}
				w.across(x, y)
			}
		}
	}
}

// fieldsByName groups the fields a selection set selects by response
// name, its inline fragments and the fragments it spreads (each once)
// included; each set is grouped once.
func (w *mergeWalk) fieldsByName(set ast.SelectionSet) map[string][]*ast.Field {
	if len(set) == 0 {
		return nil
	}
	if groups, ok := w.byName[&set[0]]; ok {
		return groups
	}
	groups := map[string][]*ast.Field{}
	seen := map[string]bool{}
	var collect func(set ast.SelectionSet)
	collect = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				name := sel.Alias
				if name == "" {
					name = sel.Name
				}
				groups[name] = append(groups[name], sel)
			case *ast.InlineFragment:
				collect(sel.SelectionSet)
			case *ast.FragmentSpread:
				if def := w.fragments.ForName(sel.Name); def != nil && !seen[sel.Name] {
					seen[sel.Name] = true
					collect(def.SelectionSet)
				}
			}
		}
	}
	collect(set)
	w.byName[&set[0]] = groups
	return groups
}
