package main

// Operations generated from the schema the gateway serves, each pushed to
// a bound along one axis: the largest page, nesting to the depth limit
// through every edge of the schema, aliases up to the parser's token
// limit, filters, searches and variables at their bounds, introspection,
// and every mutation. The ceilings test and benchmarks (ceilings_test.go)
// run them; this file only writes them.
//
// Where an axis has a knob (a page size, a number of aliases, a depth of
// ofType), two operations are written: one at the axis's own bound, which
// the price model is free to refuse, and one at the largest value the
// model accepts, found by asking the gateway's own executor to plan the
// operation without running it. The second is the most an attacker can
// have answered along that axis, whatever the model is; the first shows
// that a refusal is quick. The same generator run twice writes the same
// operations (its random choices come from a fixed seed).

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/graph"
)

// generatorSeed fixes the generator's random choices (which edge a chain
// follows among equals, which values a filter compares with), so that a
// failure names an operation that the next run writes again.
const generatorSeed = 20250601

// Callers of generated operations.
const (
	callerRoot  = "superuser"
	callerPlain = "plain"
)

// genOp is one generated operation.
type genOp struct {
	// Name says what the operation pushes to which bound; unique.
	Name  string
	Query string
	// Vars are the variables as the generator writes them; once the
	// operation is added, they are kept as RawVars, their JSON, which
	// holds the largest (twenty thousand values) in far less memory.
	Vars    map[string]any
	RawVars json.RawMessage
	// Caller is callerRoot or callerPlain.
	Caller string
	// FreshToken sends the operation with a token made for it alone:
	// signOut revokes the token it comes with.
	FreshToken bool
	// Unique marks text holding uniqueRun, replaced by a number of its own
	// at each run, for the names a create must not repeat.
	Unique bool
}

// uniqueRun, in a generated operation, stands for a number no other run
// of it uses: six digits, so that a phone number built on it keeps its
// length.
const uniqueRun = "RUNID"

// genLimits are the bounds the generator pushes against: the gateway's
// defaults, and the bounds the GraphQL endpoint declares.
type genLimits struct {
	Depth, Tokens, Page  int
	FilterNodes          int
	FilterDepth          int
	VariableValues, Body int
}

func defaultGenLimits() genLimits {
	def := gateway.Defaults()
	return genLimits{
		Depth: def.DepthLimit, Tokens: def.ParserTokenLimit, Page: graph.MaxPageSize,
		FilterNodes: graph.MaxFilterNodes, FilterDepth: graph.MaxFilterDepth,
		VariableValues: graph.MaxVariableValues, Body: int(def.BodyLimit),
	}
}

// planner tells whether the gateway would run an operation, without
// running it: parsed, validated, variables coerced, depth and price
// checked, as the endpoint does before any resolver. cost is the price
// the complexity check recorded, or 0 when it did not get that far.
type planner func(query string, vars map[string]any) (accepted bool, cost int)

// seedRefs are what the seeded store holds that operations name: an id of
// each type, the ids of whole lists, the callers and the objects that
// mutations may change.
type seedRefs struct {
	// IDs holds, by type name, an id of an object that exists.
	IDs map[string]string
	// Counts holds, by type name, how many objects there are.
	Counts        map[string]int
	PermissionIDs []string
	RoleIDs       []string
	TagNames      []string
	Codes         []string
	// The callers, with their passwords.
	Root, Plain seedUser
	// What mutations change, which no other operation reads by id.
	VictimUser                               seedUser
	VictimRole, VictimTag, VictimTagName     string
	VictimCode, VictimCodeName, VictimClient string
	VictimMailing                            string
	// A tag and an operator code for new clients; an id nothing has.
	TagID, CodeID, MissingID string
	// A word in every user's email, and the start of every username.
	SearchWord, Prefix string
}

type seedUser struct {
	ID, Username, Password string
}

// opGenerator writes operations from a schema.
type opGenerator struct {
	schema *ast.Schema
	lim    genLimits
	rng    *rand.Rand
	refs   *seedRefs
	plan   planner
	ops    []genOp
	names  map[string]bool
	// problems are what the generator could not write: a required
	// argument or a mutation it has no value for. The test fails on them,
	// so that a field added to the schema is never left out unnoticed.
	problems []string
	heights  map[heightKey]int
}

type heightKey struct {
	typ   string
	depth int
}

func newOpGenerator(schema *ast.Schema, lim genLimits, refs *seedRefs, plan planner) *opGenerator {
	return &opGenerator{schema: schema, lim: lim, rng: rand.New(rand.NewPCG(generatorSeed, generatorSeed)),
		refs: refs, plan: plan, names: map[string]bool{}, heights: map[heightKey]int{}}
}

// generate writes every operation.
func (g *opGenerator) generate() []genOp {
	g.pages()
	g.chains()
	g.aliasFloods()
	g.duplicates()
	g.filters()
	g.searches()
	g.orders()
	g.variables()
	g.introspections()
	g.mutations()
	g.misc()
	return g.ops
}

func (g *opGenerator) add(op genOp) {
	if op.Caller == "" {
		op.Caller = callerRoot
	}
	if g.names[op.Name] {
		g.problems = append(g.problems, "two operations named "+op.Name)
		return
	}
	g.names[op.Name] = true
	if op.Vars != nil {
		raw, err := json.Marshal(op.Vars)
		if err != nil {
			g.problem("%s: %v", op.Name, err)
			return
		}
		op.Vars, op.RawVars = nil, raw
	}
	g.ops = append(g.ops, op)
}

func (g *opGenerator) problem(format string, args ...any) {
	g.problems = append(g.problems, fmt.Sprintf(format, args...))
}

// ---------------------------------------------------------------------------
// The schema, read.
// ---------------------------------------------------------------------------

func (g *opGenerator) typ(name string) *ast.Definition { return g.schema.Types[name] }

func (g *opGenerator) isLeaf(t *ast.Type) bool {
	d := g.typ(t.Name())
	return d != nil && (d.Kind == ast.Scalar || d.Kind == ast.Enum)
}

func (g *opGenerator) isObject(t *ast.Type) bool {
	d := g.typ(t.Name())
	return d != nil && d.Kind == ast.Object
}

// rootFields are Query's own fields, introspection left to its own shapes.
func (g *opGenerator) rootFields() []*ast.FieldDefinition {
	var out []*ast.FieldDefinition
	for _, f := range g.schema.Query.Fields {
		if !strings.HasPrefix(f.Name, "__") {
			out = append(out, f)
		}
	}
	return out
}

// leaves are the scalar and enum fields of a type.
func (g *opGenerator) leaves(typ string) []string {
	var out []string
	for _, f := range g.typ(typ).Fields {
		if !strings.HasPrefix(f.Name, "__") && g.isLeaf(f.Type) && !hasRequiredArgs(f) {
			out = append(out, f.Name)
		}
	}
	return out
}

// edges are the fields of a type that lead to another object.
func (g *opGenerator) edges(typ string) []*ast.FieldDefinition {
	var out []*ast.FieldDefinition
	for _, f := range g.typ(typ).Fields {
		if !strings.HasPrefix(f.Name, "__") && g.isObject(f.Type) {
			out = append(out, f)
		}
	}
	return out
}

func hasRequiredArgs(f *ast.FieldDefinition) bool {
	for _, a := range f.Arguments {
		if a.Type.NonNull && a.DefaultValue == nil {
			return true
		}
	}
	return false
}

// paged tells a field that takes a page size, as the price model does.
func paged(f *ast.FieldDefinition) bool {
	return f.Arguments.ForName("first") != nil || f.Arguments.ForName("limit") != nil
}

func isList(t *ast.Type) bool { return t.Elem != nil }

// height is how many levels of fields a selection of typ can nest, at most
// depth: a type without edges has 1 (its leaves).
func (g *opGenerator) height(typ string, depth int) int {
	if depth <= 1 {
		return depth
	}
	k := heightKey{typ, depth}
	if h, ok := g.heights[k]; ok {
		return h
	}
	g.heights[k] = 1 // a cycle meets the least, not a loop
	best := 1
	for _, e := range g.edges(typ) {
		best = max(best, 1+g.height(e.Type.Name(), depth-1))
	}
	g.heights[k] = best
	return best
}

// ---------------------------------------------------------------------------
// Arguments and selections.
// ---------------------------------------------------------------------------

// pageArgs says how a paged field is paged.
type pageArgs struct {
	first, last, limit, offset int // -1: not given
}

func firstPage(n int) pageArgs { return pageArgs{first: n, last: -1, limit: -1, offset: -1} }

func (p pageArgs) String() string {
	var parts []string
	for _, a := range []struct {
		name string
		v    int
	}{{"first", p.first}, {"last", p.last}, {"offset", p.offset}, {"limit", p.limit}} {
		if a.v >= 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", a.name, a.v))
		}
	}
	return strings.Join(parts, ", ")
}

// idFor is the id an id argument of a field gets: an object of the type
// the field answers that exists. Two fields answer a type other than the
// one their id names.
func (g *opGenerator) idFor(parent string, f *ast.FieldDefinition) string {
	typ := f.Type.Name()
	switch {
	case typ == "MailingStats": // mailingStats, mailingProgress
		typ = "Mailing"
	case parent+"."+f.Name == "Query.allows":
		typ = "User"
	}
	id, ok := g.refs.IDs[typ]
	if !ok {
		g.problem("no seeded %s for the id of %s.%s", typ, parent, f.Name)
	}
	return id
}

// requiredArgs are the values of required arguments that are not ids.
var requiredArgs = map[string]string{
	"Query.allows.field": `"Mutation.updateUser"`,
}

// args writes a field's arguments: its page, its id, and a value for each
// required argument; extra are added as they are.
func (g *opGenerator) args(parent string, f *ast.FieldDefinition, page pageArgs, extra ...string) string {
	var parts []string
	if paged(f) {
		if s := page.String(); s != "" {
			parts = append(parts, s)
		}
	}
	for _, a := range f.Arguments {
		coord := parent + "." + f.Name + "." + a.Name
		switch {
		case a.Name == "id" && a.Type.Name() == "ID":
			parts = append(parts, fmt.Sprintf("id: %q", g.idFor(parent, f)))
		case a.Type.NonNull && a.DefaultValue == nil:
			v, ok := requiredArgs[coord]
			if !ok {
				g.problem("no value for the required argument %s", coord)
				continue
			}
			parts = append(parts, a.Name+": "+v)
		}
	}
	parts = append(parts, extra...)
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// wide selects every leaf of typ and, levels deep, every edge with its
// own wide selection; paged edges take page.
func (g *opGenerator) wide(typ string, levels int, page pageArgs) string {
	parts := g.leaves(typ)
	if levels > 0 {
		for _, e := range g.edges(typ) {
			parts = append(parts, e.Name+g.args(typ, e, page)+" { "+g.wide(e.Type.Name(), levels-1, page)+" }")
		}
	}
	return strings.Join(parts, " ")
}

// hop is one field of a chain: the type it is on and the field.
type hop struct {
	on    string
	field *ast.FieldDefinition
}

// chainSelection selects every leaf of typ at each level, and the next
// hop of path below it; past path, it follows the edge that nests deepest
// (a list before an object, a page before a list, ties broken at random)
// until depth levels are used.
func (g *opGenerator) chainSelection(typ string, depth int, path []hop, page pageArgs, walked *[]string) string {
	parts := g.leaves(typ)
	if depth < 2 {
		return strings.Join(parts, " ")
	}
	var next *ast.FieldDefinition
	if len(path) > 0 {
		next, path = path[0].field, path[1:]
	} else {
		next = g.deepestEdge(typ, depth-1)
	}
	if next != nil {
		*walked = append(*walked, next.Name)
		parts = append(parts, next.Name+g.args(typ, next, page)+" { "+g.chainSelection(next.Type.Name(), depth-1, path, page, walked)+" }")
	}
	return strings.Join(parts, " ")
}

func (g *opGenerator) deepestEdge(typ string, depth int) *ast.FieldDefinition {
	edges := g.edges(typ)
	if len(edges) == 0 {
		return nil
	}
	weight := func(e *ast.FieldDefinition) int {
		w := min(g.height(e.Type.Name(), depth), depth) * 4
		if isList(e.Type) {
			w++
		}
		if paged(e) {
			w += 2
		}
		return w
	}
	best := slices.MaxFunc(edges, func(a, b *ast.FieldDefinition) int { return cmp.Compare(weight(a), weight(b)) })
	var ties []*ast.FieldDefinition
	for _, e := range edges {
		if weight(e) == weight(best) {
			ties = append(ties, e)
		}
	}
	return ties[g.rng.IntN(len(ties))]
}

// ---------------------------------------------------------------------------
// Knobs: the bound of an axis, and the most the model accepts.
// ---------------------------------------------------------------------------

// knobbed adds build(bound) as name/bound, and build(k) for the largest k
// the model accepts, when that is less, as name/k (largest accepted).
// Cost must grow with k.
func (g *opGenerator) knobbed(name string, bound int, build func(k int) genOp) {
	at := build(bound)
	at.Name = fmt.Sprintf("%s=%d", name, bound)
	g.add(at)
	if k := g.largestAccepted(bound, build); k > 0 && k < bound {
		op := build(k)
		op.Name = fmt.Sprintf("%s=%d (largest accepted)", name, k)
		g.add(op)
	}
}

// largestAccepted finds the largest k in [1, bound] whose operation the
// model accepts, 0 when none is. A price the model reports for k = 1
// gives a first guess (prices grow about linearly with a page or an alias
// count); a search between the known ends settles it.
func (g *opGenerator) largestAccepted(bound int, build func(k int) genOp) int {
	accepts := func(k int) (bool, int) {
		op := build(k)
		return g.plan(strings.ReplaceAll(op.Query, uniqueRun, "100000"), op.Vars)
	}
	ok, cost := accepts(1)
	if !ok {
		return 0
	}
	if ok, _ := accepts(bound); ok {
		return bound
	}
	lo, hi := 1, bound // lo accepted, hi refused
	if cost > 0 {
		if guess := gateway.Defaults().ComplexityLimit / cost; guess > lo && guess < hi {
			if ok, _ := accepts(guess); ok {
				lo = guess
				if ok, _ := accepts(guess + 1); !ok {
					return guess
				}
			} else {
				hi = guess
			}
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok, _ := accepts(mid); ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// fitsTokens tells a document the parser's token limit lets through.
func fitsTokens(query string, limit int) bool {
	_, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, limit)
	return err == nil || !strings.Contains(err.Error(), "exceeded token limit")
}

// lexedTokens counts a document's tokens, comments aside.
func lexedTokens(query string) int {
	lex := lexer.New(&ast.Source{Input: query})
	n := 0
	for {
		tok, err := lex.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			return n
		}
		if tok.Kind != lexer.Comment {
			n++
		}
	}
}

// mostWithinTokens is the largest n in [1, ceiling] whose document fits
// the parser's token limit. Documents grow by the same tokens with each n,
// so two counts give a first guess, which the parser then settles.
func (g *opGenerator) mostWithinTokens(ceiling int, doc func(n int) string) int {
	fits := func(n int) bool { return fitsTokens(doc(n), g.lim.Tokens) }
	one, two := lexedTokens(doc(1)), lexedTokens(doc(2))
	n := ceiling
	if per := two - one; per > 0 {
		n = min(ceiling, max(1, (g.lim.Tokens-(one-per))/per))
	}
	for n > 1 && !fits(n) {
		n--
	}
	for n < ceiling && fits(n+1) {
		n++
	}
	return n
}

// aliased repeats unit(i) under aliases a0, a1, … in an operation of the
// given kind ("query" or "mutation"), with fragments after it.
func aliased(kind string, n int, unit func(i int) string, fragments string) string {
	var b strings.Builder
	b.WriteString(kind + " {")
	for i := range n {
		fmt.Fprintf(&b, " a%d: %s", i, unit(i))
	}
	b.WriteString(" }")
	b.WriteString(fragments)
	return b.String()
}

// ---------------------------------------------------------------------------
// Shapes.
// ---------------------------------------------------------------------------

// pages: every list at its largest page, from the front, from the back and
// at an offset half way down, with every field of its nodes and theirs.
func (g *opGenerator) pages() {
	for _, f := range g.rootFields() {
		typ := f.Type.Name()
		if !paged(f) {
			// One object, or a list read in one go, with all it leads to.
			g.add(genOp{Name: "object/" + f.Name, Query: "{ " + f.Name + g.args("Query", f, pageArgs{}) + " { " + g.wide(typ, 3, firstPage(g.lim.Page)) + " } }"})
			continue
		}
		node := strings.TrimSuffix(typ, "Connection")
		half := g.refs.Counts[node] / 2
		for _, shape := range []struct {
			name string
			page func(k int) pageArgs
		}{
			{"first", firstPage},
			{"last", func(k int) pageArgs { return pageArgs{first: -1, last: k, limit: -1, offset: -1} }},
			{fmt.Sprintf("offset=%d,limit", half), func(k int) pageArgs { return pageArgs{first: -1, last: -1, limit: k, offset: half} }},
		} {
			// Pages within the page are of one: chains nest pages.
			g.knobbed("page/"+f.Name+"/"+shape.name, g.lim.Page, func(k int) genOp {
				return genOp{Query: "{ " + f.Name + g.args("Query", f, shape.page(k)) + " { " + g.wide(typ, 3, firstPage(1)) + " } }"}
			})
		}
	}
}

// chains: for every edge of the schema, the shortest way there from Query,
// then on through the edges that nest deepest, to the depth limit, every
// leaf selected at each level and every page at its largest.
func (g *opGenerator) chains() {
	// Shortest paths from Query to each type, breadth first.
	paths := map[string][]hop{"Query": nil}
	queue := []string{"Query"}
	for len(queue) > 0 {
		typ := queue[0]
		queue = queue[1:]
		var edges []*ast.FieldDefinition
		if typ == "Query" {
			for _, f := range g.rootFields() {
				if g.isObject(f.Type) {
					edges = append(edges, f)
				}
			}
		} else {
			edges = g.edges(typ)
		}
		for _, e := range edges {
			next := e.Type.Name()
			if _, seen := paths[next]; !seen {
				paths[next] = append(slices.Clone(paths[typ]), hop{typ, e})
				queue = append(queue, next)
			}
		}
	}
	types := make([]string, 0, len(paths))
	for typ := range paths {
		types = append(types, typ)
	}
	slices.Sort(types)
	for _, typ := range types {
		var edges []*ast.FieldDefinition
		if typ == "Query" {
			continue // the first hop of every chain below
		}
		edges = g.edges(typ)
		for _, e := range edges {
			path := append(slices.Clone(paths[typ]), hop{typ, e})
			if len(path) >= g.lim.Depth {
				continue
			}
			// The chain is fixed before the knob turns, so that every
			// page size walks the same edges.
			var walked []string
			g.chainSelection("Query", g.lim.Depth+1, path, firstPage(1), &walked)
			fixed := g.pathOf("Query", walked)
			g.knobbed(fmt.Sprintf("chain/%s.%s/%s/first", typ, e.Name, strings.Join(walked, ".")), g.lim.Page, func(k int) genOp {
				var again []string
				return genOp{Query: "{ " + g.chainSelection("Query", g.lim.Depth+1, fixed, firstPage(k), &again) + " }"}
			})
		}
	}
}

// pathOf turns field names walked from typ into hops.
func (g *opGenerator) pathOf(typ string, names []string) []hop {
	var out []hop
	for _, n := range names {
		f := g.typ(typ).Fields.ForName(n)
		out = append(out, hop{typ, f})
		typ = f.Type.Name()
	}
	return out
}

// aliasFloods: each root field under as many aliases as the token limit
// allows: its count alone (a page of none), a page of one with every
// field, and, for what is not paged, the object with all it leads to.
func (g *opGenerator) aliasFloods() {
	for _, f := range g.rootFields() {
		typ := f.Type.Name()
		units := map[string]string{}
		if paged(f) {
			units["count"] = f.Name + g.args("Query", f, firstPage(0)) + " { totalCount }"
			units["page of 1"] = f.Name + g.args("Query", f, firstPage(1)) + " { " + g.wide(typ, 2, firstPage(1)) + " }"
		} else if g.isObject(f.Type) {
			units["object"] = f.Name + g.args("Query", f, pageArgs{}) + " { " + g.wide(typ, 1, firstPage(1)) + " }"
		} else {
			units["value"] = f.Name + g.args("Query", f, pageArgs{})
		}
		for _, kind := range sortedKeys(units) {
			unit := units[kind]
			g.aliasFlood("aliases/"+f.Name+"/"+kind, "query", func(int) string { return unit }, "", nil)
		}
	}
}

// aliasFlood adds unit under as many aliases as the token limit allows,
// and under as many as the model accepts.
func (g *opGenerator) aliasFlood(name, kind string, unit func(i int) string, fragments string, op *genOp) {
	// Each unit is written once, however many documents repeat it.
	units, write := map[int]string{}, unit
	unit = func(i int) string {
		u, ok := units[i]
		if !ok {
			u = write(i)
			units[i] = u
		}
		return u
	}
	bound := g.mostWithinTokens(20_000, func(n int) string { return aliased(kind, n, unit, fragments) })
	g.knobbed(name, bound, func(k int) genOp {
		out := genOp{}
		if op != nil {
			out = *op
		}
		out.Query = aliased(kind, k, unit, fragments)
		return out
	})
}

// duplicates: the same field, unaliased, as often as the token limit
// allows. Validation compares every pair of fields that share a name, so
// this is the most a refusal can cost before anything is priced.
func (g *opGenerator) duplicates() {
	for _, name := range []string{"users", "me"} {
		f := g.schema.Query.Fields.ForName(name)
		unit := f.Name + g.args("Query", f, firstPage(1)) + " { " + g.wide(f.Type.Name(), 1, firstPage(1)) + " }"
		doc := func(n int) string { return "{ " + strings.Repeat(unit+" ", n) + "}" }
		n := g.mostWithinTokens(20_000, doc)
		g.add(genOp{Name: fmt.Sprintf("duplicates/%s=%d", name, n), Query: doc(n)})
	}
}

// sortedKeys are a map's keys in order, so that generation is the same
// each run.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ---------------------------------------------------------------------------
// Filters, searches and orders.
// ---------------------------------------------------------------------------

// stringLookups are values for each lookup of a text filter that match
// many rows of the seeded store, so that a page fills; "in" is filled to
// the variables' bound where it is used.
var stringLookups = map[string]any{
	"exact": "user000001", "iExact": "USER000001",
	"contains": "e", "iContains": "E",
	"startsWith": "u", "iStartsWith": "U",
	"endsWith": "1", "iEndsWith": "E",
	"gt": "a", "gte": "a", "lt": "zzz", "lte": "zzz",
	"isNull": false,
}

// filterValue is a value of an input field that keeps as much as it can:
// every lookup of a text or time filter is written by lookup, below.
func (g *opGenerator) filterValue(t *ast.Type, listLen int) (any, bool) {
	d := g.typ(t.Name())
	switch {
	case isList(t) && d.Kind == ast.Enum:
		var all []any
		for _, v := range d.EnumValues {
			all = append(all, v.Name)
		}
		return all, true
	case isList(t) && t.Name() == "ID":
		ids := make([]any, listLen)
		for i := range ids {
			ids[i] = fmt.Sprint(i + 1)
		}
		return ids, true
	case t.Name() == "Boolean":
		return true, true
	case t.Name() == "Time":
		return time.Now().UTC().Format(time.RFC3339Nano), true
	case t.Name() == "String":
		return g.refs.Prefix, true
	}
	return nil, false
}

// lookupValue is a value for one lookup of a text or time filter.
func (g *opGenerator) lookupValue(filterType string, lookup *ast.FieldDefinition, listLen int) any {
	if filterType == "TimeFilter" {
		now := time.Now().UTC()
		switch lookup.Name {
		case "isNull":
			return false
		case "in":
			in := make([]any, listLen)
			for i := range in {
				in[i] = now.Add(-time.Duration(i) * time.Second).Format(time.RFC3339Nano)
			}
			return in
		case "gt", "gte":
			return now.AddDate(-10, 0, 0).Format(time.RFC3339Nano)
		}
		return now.AddDate(1, 0, 0).Format(time.RFC3339Nano)
	}
	if lookup.Name == "in" {
		in := make([]any, listLen)
		for i := range in {
			in[i] = fmt.Sprintf("user%06d", i+1)
		}
		return in
	}
	return stringLookups[lookup.Name]
}

// filterFields splits a filter input type's fields: lookups (text and
// time filters), plain values, and the fields that nest the filter itself
// (and, or, not).
func (g *opGenerator) filterFields(filterType string) (lookups, plain, nested []*ast.FieldDefinition) {
	for _, f := range g.typ(filterType).Fields {
		switch {
		case f.Type.Name() == filterType:
			nested = append(nested, f)
		case g.typ(f.Type.Name()).Kind == ast.InputObject:
			lookups = append(lookups, f)
		default:
			plain = append(plain, f)
		}
	}
	return lookups, plain, nested
}

// listOp is a paged root field with a filter variable and a page of k
// with every leaf of its nodes, and its count.
func (g *opGenerator) listOp(f *ast.FieldDefinition, k int, argDecl, argUse string, vars map[string]any) genOp {
	typ := f.Type.Name()
	node := g.typ(typ).Fields.ForName("nodes").Type.Name()
	return genOp{
		Query: fmt.Sprintf("query(%s) { %s%s { totalCount nodes { %s } pageInfo { hasNextPage endCursor } } }",
			argDecl, f.Name, g.args("Query", f, firstPage(k), argUse), strings.Join(g.leaves(node), " ")),
		Vars: vars,
	}
}

// filters: for every list with a filter, each lookup on every text and
// time field at once, every plain condition at once (lists filled to the
// variables' bound), and, where the filter nests, the deepest nesting, the
// most conditions, both at once, and one past each bound.
func (g *opGenerator) filters() {
	listLen := g.lim.VariableValues - 100 // room for the rest of the variables
	for _, f := range g.rootFields() {
		arg := f.Arguments.ForName("filter")
		if arg == nil || !paged(f) {
			continue
		}
		filterType := arg.Type.Name()
		decl, use := "$f: "+filterType, "filter: $f"
		lookups, plain, nested := g.filterFields(filterType)
		byLookup := map[string]map[string]any{}
		for _, l := range lookups {
			for _, lookup := range g.typ(l.Type.Name()).Fields {
				if byLookup[lookup.Name] == nil {
					byLookup[lookup.Name] = map[string]any{}
				}
				byLookup[lookup.Name][l.Name] = map[string]any{lookup.Name: g.lookupValue(l.Type.Name(), lookup, listLen/max(len(lookups), 1))}
			}
		}
		for _, name := range sortedKeys(byLookup) {
			filter := byLookup[name]
			g.knobbed("filter/"+f.Name+"/"+name+" on every field/first", g.lim.Page, func(k int) genOp {
				return g.listOp(f, k, decl, use, map[string]any{"f": filter})
			})
		}
		if len(plain) > 0 {
			filter := map[string]any{}
			for _, p := range plain {
				if v, ok := g.filterValue(p.Type, listLen/len(plain)); ok {
					filter[p.Name] = v
				}
			}
			g.knobbed("filter/"+f.Name+"/every plain condition/first", g.lim.Page, func(k int) genOp {
				return g.listOp(f, k, decl, use, map[string]any{"f": filter})
			})
		}
		if len(nested) > 0 && len(lookups) > 0 {
			g.nestedFilters(f, decl, use, lookups)
		}
	}
}

// scanLeaf is a filter of case-insensitive containment on every text
// field: no index serves it, so the store reads every row.
func (g *opGenerator) scanLeaf(lookups []*ast.FieldDefinition, word string) map[string]any {
	leaf := map[string]any{}
	for _, l := range lookups {
		if l.Type.Name() == "StringFilter" {
			leaf[l.Name] = map[string]any{"iContains": word}
		}
	}
	return leaf
}

func (g *opGenerator) nestedFilters(f *ast.FieldDefinition, decl, use string, lookups []*ast.FieldDefinition) {
	word := func() string { return string(rune('A'+g.rng.IntN(26))) + string(rune('a'+g.rng.IntN(26))) }
	// not, not, … around one scan, depth deep (the outer filter is 1).
	deepest := func(depth int) map[string]any {
		filter := g.scanLeaf(lookups, "E")
		for range depth - 1 {
			filter = map[string]any{"not": filter}
		}
		return filter
	}
	// An or of nodes-1 scans.
	widest := func(nodes int) map[string]any {
		or := make([]any, nodes-1)
		for i := range or {
			or[i] = g.scanLeaf(lookups, word())
		}
		return map[string]any{"or": or}
	}
	// depth levels, each an and of scans and the level below, as many
	// nodes as the bound allows.
	both := func(depth, nodes int) map[string]any {
		per := nodes/depth - 1
		filter := g.scanLeaf(lookups, word())
		for range depth - 1 {
			and := []any{filter}
			for range per {
				and = append(and, g.scanLeaf(lookups, word()))
			}
			filter = map[string]any{"and": and}
		}
		return filter
	}
	for _, c := range []struct {
		name   string
		filter map[string]any
	}{
		{fmt.Sprintf("deepest (%d)", g.lim.FilterDepth), deepest(g.lim.FilterDepth)},
		{fmt.Sprintf("one deeper (%d)", g.lim.FilterDepth+1), deepest(g.lim.FilterDepth + 1)},
		{fmt.Sprintf("most conditions (%d)", g.lim.FilterNodes), widest(g.lim.FilterNodes)},
		{fmt.Sprintf("one condition more (%d)", g.lim.FilterNodes+1), widest(g.lim.FilterNodes + 1)},
		{"deepest with most conditions", both(g.lim.FilterDepth, g.lim.FilterNodes)},
	} {
		filter := c.filter
		g.knobbed("filter/"+f.Name+"/"+c.name+"/first", g.lim.Page, func(k int) genOp {
			return g.listOp(f, k, decl, use, map[string]any{"f": filter})
		})
	}
	// Counts of scans, as many as the token limit allows.
	unit := func(i int) string {
		return fmt.Sprintf(`%s(filter: {email: {iEndsWith: "%d@example.com"}}, first: 0) { totalCount }`, f.Name, i)
	}
	if g.typ(f.Arguments.ForName("filter").Type.Name()).Fields.ForName("email") != nil {
		g.aliasFlood("aliases/"+f.Name+"/scan counts", "query", unit, "", nil)
	}
}

// searches: every word must match some field, each word a scan of its
// own; the most words the body limit carries, a page and a count of them,
// and searches under as many aliases as the token limit allows.
func (g *opGenerator) searches() {
	for _, f := range g.rootFields() {
		if f.Arguments.ForName("search") == nil {
			continue
		}
		word := g.refs.SearchWord + " "
		bound := (g.lim.Body - 4096) / len(word)
		// The page is the largest the model accepts of this list: the
		// words are the knob.
		page := max(1, g.largestAccepted(g.lim.Page, func(k int) genOp {
			return g.listOp(f, k, "$s: String", "search: $s", map[string]any{"s": word})
		}))
		g.knobbed(fmt.Sprintf("search/%s/first=%d/words", f.Name, page), bound, func(k int) genOp {
			return g.listOp(f, page, "$s: String", "search: $s", map[string]any{"s": strings.Repeat(word, k)})
		})
		g.knobbed("search/"+f.Name+"/count of words", bound, func(k int) genOp {
			return genOp{Query: fmt.Sprintf("query($s: String) { %s(search: $s, first: 0) { totalCount } }", f.Name),
				Vars: map[string]any{"s": strings.Repeat(word, k)}}
		})
		unit := func(i int) string {
			return fmt.Sprintf(`%s(search: "%s %d", first: 0) { totalCount }`, f.Name, g.refs.SearchWord, i)
		}
		g.aliasFlood("aliases/"+f.Name+"/search counts", "query", unit, "", nil)
		pageUnit := func(i int) string {
			return fmt.Sprintf(`%s(search: "%s %d", first: 1) { nodes { id } }`, f.Name, g.refs.SearchWord, i)
		}
		g.aliasFlood("aliases/"+f.Name+"/search pages", "query", pageUnit, "", nil)
	}
}

// orders: every field a list can be ordered by, descending, half way
// down; and all of them at once.
func (g *opGenerator) orders() {
	for _, f := range g.rootFields() {
		arg := f.Arguments.ForName("orderBy")
		if arg == nil {
			continue
		}
		orderType := g.typ(arg.Type.Name())
		fieldEnum := g.typ(orderType.Fields.ForName("field").Type.Name())
		half := g.refs.Counts[strings.TrimSuffix(f.Type.Name(), "Connection")] / 2
		var all []any
		for _, v := range fieldEnum.EnumValues {
			all = append(all, map[string]any{"field": v.Name, "direction": "DESC"})
			order := []any{map[string]any{"field": v.Name, "direction": "DESC"}}
			g.knobbed(fmt.Sprintf("order/%s/%s desc/offset=%d,limit", f.Name, v.Name, half), g.lim.Page, func(k int) genOp {
				return g.offsetOp(f, k, half, order)
			})
		}
		g.knobbed(fmt.Sprintf("order/%s/every field/offset=%d,limit", f.Name, half), g.lim.Page, func(k int) genOp {
			return g.offsetOp(f, k, half, all)
		})
	}
}

func (g *opGenerator) offsetOp(f *ast.FieldDefinition, k, offset int, order []any) genOp {
	typ := f.Type.Name()
	page := pageArgs{first: -1, last: -1, limit: k, offset: offset}
	return genOp{
		Query: fmt.Sprintf("query($o: [%s!]) { %s%s { totalCount nodes { %s } } }",
			f.Arguments.ForName("orderBy").Type.Name(), f.Name, g.args("Query", f, page, "orderBy: $o"),
			strings.Join(g.leaves(g.typ(typ).Fields.ForName("nodes").Type.Name()), " ")),
		Vars: map[string]any{"o": order},
	}
}

// variables: a page size given as a variable, variables declared and not
// used at the variables' bound of values and of nesting, and a filter
// nested as deep as the variables' bound lets through.
func (g *opGenerator) variables() {
	users := g.schema.Query.Fields.ForName("users")
	typ := users.Type.Name()
	g.knobbed("variables/users(first: $n)", g.lim.Page, func(k int) genOp {
		return genOp{Query: "query($n: Int) { users(first: $n) { " + g.wide(typ, 3, firstPage(1)) + " } }", Vars: map[string]any{"n": k}}
	})
	ids := make([]any, g.lim.VariableValues-10)
	for i := range ids {
		ids[i] = fmt.Sprint(i + 1)
	}
	g.add(genOp{Name: fmt.Sprintf("variables/%d ids declared, not used", len(ids)),
		Query: "query($ids: [ID!]) { me { id } }", Vars: map[string]any{"ids": ids}})
	g.add(genOp{Name: fmt.Sprintf("variables/%d ids used by a count", len(ids)),
		Query: "query($ids: [ID!]) { users(filter: {ids: $ids}, first: 0) { totalCount } }", Vars: map[string]any{"ids": ids}})
	// {"f": {"not": {"not": … {"isActive": true}}}} as deep as allowed.
	deep := map[string]any{"isActive": true}
	for range g.lim.VariableValues {
		if jsonDepth(map[string]any{"f": map[string]any{"not": deep}}) > graph.MaxVariableDepth {
			break
		}
		deep = map[string]any{"not": deep}
	}
	g.add(genOp{Name: fmt.Sprintf("variables/a filter nested %d deep", jsonDepth(deep)),
		Query: "query($f: UserFilter) { users(filter: $f, first: 0) { totalCount } }", Vars: map[string]any{"f": deep}})
	g.add(genOp{Name: fmt.Sprintf("variables/a filter nested %d deep, not used", jsonDepth(deep)),
		Query: "query($f: UserFilter) { me { id } }", Vars: map[string]any{"f": deep}})
}

// jsonDepth is how deep objects nest in v, as the endpoint counts them
// (the variables object itself is 1).
func jsonDepth(v any) int {
	switch v := v.(type) {
	case map[string]any:
		d := 0
		for _, e := range v {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	case []any:
		d := 0
		for _, e := range v {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	}
	return 0
}

// ---------------------------------------------------------------------------
// Introspection.
// ---------------------------------------------------------------------------

// typeRef is graphql-js's TypeRef fragment with levels ofType levels
// (getIntrospectionQuery's typeDepth).
func typeRef(levels int) string {
	inner := "kind name"
	for range levels {
		inner = "kind name ofType { " + inner + " }"
	}
	return "fragment TypeRef on __Type { " + inner + " }\n"
}

// fullIntrospection is the introspection query of graphql-js with every
// option (descriptions, specifiedByURL, isRepeatable, the schema's
// description, deprecated input values, isOneOf), as gqlgen writes it,
// split into its __schema selection and its fragments, with a TypeRef of
// levels ofType levels.
func fullIntrospection(levels int) (schemaField, fragments string) {
	q := introspection.NewQuery(introspection.QueryOptions{OneOf: true})
	op, frags, _ := strings.Cut(q, "fragment FullType")
	frags = "fragment FullType" + frags
	frags = frags[:strings.Index(frags, "fragment TypeRef")] + typeRef(levels)
	op = op[strings.Index(op, "__schema"):]
	op = op[:strings.LastIndex(op, "}")]
	return strings.TrimSpace(op), "\n" + frags
}

func (g *opGenerator) introspections() {
	// graphql-js's query as clients send it: every option, nine levels of
	// ofType (its default typeDepth).
	g.add(genOp{Name: "introspection/graphql-js full", Query: introspection.NewQuery(introspection.QueryOptions{OneOf: true})})
	g.knobbed("introspection/graphql-js full/typeDepth", 9, func(k int) genOp {
		field, frags := fullIntrospection(k)
		return genOp{Query: "query IntrospectionQuery { " + field + " }" + frags}
	})
	levels := g.largestAccepted(9, func(k int) genOp {
		field, frags := fullIntrospection(k)
		return genOp{Query: "query IntrospectionQuery { " + field + " }" + frags}
	})
	field, frags := fullIntrospection(levels)
	g.aliasFlood(fmt.Sprintf("introspection/aliases of __schema (typeDepth %d)", levels), "query",
		func(int) string { return field }, frags, nil)

	// __type of every type in turn, with all graphql-js asks of a type.
	var names []string
	for name := range g.schema.Types {
		names = append(names, name)
	}
	slices.Sort(names)
	g.aliasFlood(fmt.Sprintf("introspection/aliases of __type (typeDepth %d)", levels), "query",
		func(i int) string { return fmt.Sprintf("__type(name: %q) { ...FullType }", names[i%len(names)]) }, frags, nil)

	// ofType within ofType, to the depth limit and past it.
	ofTypes := func(k int) string {
		inner := "name"
		for range k {
			inner = "kind ofType { " + inner + " }"
		}
		return `__type(name: "Query") { fields { args { type { ` + inner + " } } } }"
	}
	g.knobbed("introspection/__type ofType chain", g.lim.Depth+4, func(k int) genOp {
		return genOp{Query: "{ " + ofTypes(k) + " }"}
	})
	deepest := g.largestAccepted(g.lim.Depth+4, func(k int) genOp { return genOp{Query: "{ " + ofTypes(k) + " }"} })
	g.aliasFlood(fmt.Sprintf("introspection/aliases of an ofType chain %d deep", deepest), "query",
		func(int) string { return ofTypes(deepest) }, "", nil)
	g.aliasFlood("introspection/aliases of __typename", "query", func(int) string { return "__typename" }, "", nil)
}

// ---------------------------------------------------------------------------
// Mutations.
// ---------------------------------------------------------------------------

// mutationInput writes the arguments of one call of a mutation: alias i
// of it, by caller. The inputs are safe: what they change, the operations
// after them do not depend on (the victims are objects no other operation
// reads by id), and what they delete does not exist, so that the seeded
// store stays whole for every operation that follows. Unique names hold
// uniqueRun and the alias.
type mutationInput func(r *seedRefs, caller string, i int) string

func (r *seedRefs) self(caller string) seedUser {
	if caller == callerPlain {
		return r.Plain
	}
	return r.Root
}

// target is the user a change acts on: the plain user acts on themself
// (the one change they may make), the superuser on the victim.
func (r *seedRefs) target(caller string) seedUser {
	if caller == callerPlain {
		return r.Plain
	}
	return r.VictimUser
}

func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

var mutationInputs = map[string]mutationInput{
	"signUp": func(r *seedRefs, _ string, i int) string {
		return fmt.Sprintf(`input: {username: "gen%s%03d", password: "generated-password-%d"}`, uniqueRun, i, i)
	},
	"signIn": func(r *seedRefs, c string, _ int) string {
		return fmt.Sprintf("username: %q, password: %q", r.self(c).Username, r.self(c).Password)
	},
	"signOut": func(*seedRefs, string, int) string { return "" },
	"createUser": func(r *seedRefs, _ string, i int) string {
		return fmt.Sprintf(`input: {username: "new%s%03d", password: "generated-password", email: "new%s%03d@example.com", firstName: "Generated", lastName: "User", isStaff: true}`,
			uniqueRun, i, uniqueRun, i)
	},
	"updateUser": func(r *seedRefs, c string, _ int) string {
		return fmt.Sprintf(`id: %q, input: {firstName: "Changed", lastName: "Again"}`, r.target(c).ID)
	},
	"replaceUser": func(r *seedRefs, c string, _ int) string {
		return fmt.Sprintf(`id: %q, input: {username: %q, firstName: "Replaced"}`, r.target(c).ID, r.target(c).Username)
	},
	"deleteUser":     func(r *seedRefs, _ string, _ int) string { return fmt.Sprintf("id: %q", r.MissingID) },
	"deactivateUser": func(r *seedRefs, _ string, _ int) string { return fmt.Sprintf("id: %q", r.VictimUser.ID) },
	"changePassword": func(r *seedRefs, c string, _ int) string {
		return fmt.Sprintf("oldPassword: %q, newPassword: %q, keepOtherTokens: true", r.self(c).Password, r.self(c).Password)
	},
	"setPassword": func(r *seedRefs, _ string, _ int) string {
		return fmt.Sprintf(`id: %q, password: "generated-password"`, r.VictimUser.ID)
	},
	"grantPermissions": func(r *seedRefs, c string, _ int) string {
		return fmt.Sprintf("userId: %q, permissionIds: %s", r.VictimUser.ID, quoteAll(r.PermissionIDs))
	},
	"revokePermissions": func(r *seedRefs, c string, _ int) string {
		return fmt.Sprintf("userId: %q, permissionIds: %s", r.VictimUser.ID, quoteAll(r.PermissionIDs))
	},
	"setPermissions": func(r *seedRefs, c string, _ int) string {
		return fmt.Sprintf("userId: %q, permissionIds: %s", r.VictimUser.ID, quoteAll(r.PermissionIDs))
	},
	"assignRoles": func(r *seedRefs, c string, _ int) string {
		return fmt.Sprintf("userId: %q, roleIds: %s", r.VictimUser.ID, quoteAll(r.RoleIDs))
	},
	"unassignRoles": func(r *seedRefs, c string, _ int) string {
		return fmt.Sprintf("userId: %q, roleIds: %s", r.VictimUser.ID, quoteAll(r.RoleIDs))
	},
	"createRole": func(r *seedRefs, _ string, i int) string {
		return fmt.Sprintf(`input: {name: "role-%s-%03d", description: "generated", permissionIds: %s}`, uniqueRun, i, quoteAll(r.PermissionIDs))
	},
	"updateRole": func(r *seedRefs, _ string, _ int) string {
		return fmt.Sprintf(`id: %q, input: {description: "changed", permissionIds: %s}`, r.VictimRole, quoteAll(r.PermissionIDs))
	},
	"deleteRole": func(r *seedRefs, _ string, _ int) string { return fmt.Sprintf("id: %q", r.MissingID) },
	"createPermission": func(r *seedRefs, _ string, i int) string {
		return fmt.Sprintf(`input: {codename: "gen_%s_%03d", name: "Generated", resource: "generated"}`, uniqueRun, i)
	},
	"deletePermission": func(r *seedRefs, _ string, _ int) string { return fmt.Sprintf("id: %q", r.MissingID) },
	"createTag": func(r *seedRefs, _ string, i int) string {
		return fmt.Sprintf(`name: "tag-%s-%03d"`, uniqueRun, i)
	},
	"updateTag": func(r *seedRefs, _ string, _ int) string {
		return fmt.Sprintf("id: %q, name: %q", r.VictimTag, r.VictimTagName)
	},
	"deleteTag": func(r *seedRefs, _ string, _ int) string { return fmt.Sprintf("id: %q, cascade: true", r.MissingID) },
	"createOperatorCode": func(r *seedRefs, _ string, i int) string {
		return fmt.Sprintf(`code: "code-%s-%03d"`, uniqueRun, i)
	},
	"updateOperatorCode": func(r *seedRefs, _ string, _ int) string {
		return fmt.Sprintf("id: %q, code: %q", r.VictimCode, r.VictimCodeName)
	},
	"deleteOperatorCode": func(r *seedRefs, _ string, _ int) string { return fmt.Sprintf("id: %q, cascade: true", r.MissingID) },
	"createClient": func(r *seedRefs, _ string, i int) string {
		return fmt.Sprintf(`input: {phoneNumber: "79%s%03d", mobileOperatorCodeId: %q, tagId: %q, timezone: "Europe/Moscow"}`,
			uniqueRun, i%1000, r.CodeID, r.TagID)
	},
	"updateClient": func(r *seedRefs, _ string, _ int) string {
		return fmt.Sprintf(`id: %q, input: {timezone: "Asia/Tokyo"}`, r.VictimClient)
	},
	"deleteClient": func(r *seedRefs, _ string, _ int) string { return fmt.Sprintf("id: %q", r.MissingID) },
	"createMailing": func(r *seedRefs, _ string, _ int) string {
		start := time.Now().UTC().AddDate(1, 0, 0)
		return fmt.Sprintf(`input: {text: "generated", startNotificationDate: %q, endNotificationDate: %q, tags: %s, codes: %s, window: {from: "09:00", to: "21:00"}}`,
			start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339), quoteAll(r.TagNames), quoteAll(r.Codes))
	},
	"updateMailing": func(r *seedRefs, _ string, _ int) string {
		return fmt.Sprintf(`id: %q, input: {text: "changed", tags: %s, codes: %s}`, r.VictimMailing, quoteAll(r.TagNames), quoteAll(r.Codes))
	},
	"deleteMailing": func(r *seedRefs, _ string, _ int) string { return fmt.Sprintf("id: %q", r.MissingID) },
	"pauseMailing":  func(r *seedRefs, _ string, _ int) string { return fmt.Sprintf("id: %q", r.VictimMailing) },
	"resumeMailing": func(r *seedRefs, _ string, _ int) string { return fmt.Sprintf("id: %q", r.VictimMailing) },
	"cancelMailing": func(r *seedRefs, _ string, _ int) string { return fmt.Sprintf("id: %q", r.MissingID) },
}

// mutations: every mutation once and under as many aliases as the token
// limit allows, as the superuser and as a plain signed-up user.
func (g *opGenerator) mutations() {
	for _, f := range g.schema.Mutation.Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		input, ok := mutationInputs[f.Name]
		if !ok {
			g.problem("no safe input for Mutation.%s", f.Name)
			continue
		}
		sel := ""
		if g.isObject(f.Type) {
			sel = " { " + g.wide(f.Type.Name(), 1, firstPage(1)) + " }"
		}
		for _, caller := range []string{callerRoot, callerPlain} {
			call := func(i int) string {
				args := input(g.refs, caller, i)
				if args != "" {
					args = "(" + args + ")"
				}
				return f.Name + args + sel
			}
			op := genOp{Caller: caller, FreshToken: f.Name == "signOut", Unique: true}
			once := op
			once.Name, once.Query = "mutation/"+f.Name+"/"+caller, "mutation { "+call(0)+" }"
			g.add(once)
			g.aliasFlood("mutation/"+f.Name+"/"+caller+"/aliases", "mutation", call, "", &op)
		}
	}
}

// misc: a subscription over plain HTTP, which the endpoint refuses.
func (g *opGenerator) misc() {
	for _, f := range g.schema.Subscription.Fields {
		g.add(genOp{Name: "subscription over HTTP/" + f.Name,
			Query: "subscription { " + f.Name + g.args("Subscription", f, pageArgs{}) + " { " + g.wide(f.Type.Name(), 1, firstPage(1)) + " } }"})
	}
}
