package graph

import (
	"encoding/json"
	"strings"
	"unicode"

	"github.com/vektah/gqlparser/v2/ast"
)

// How the complexity check prices a field. Every field costs 1, plus its
// selection, unless it is named below; a paged field (a connection) costs
// its page size times its selection; a list read in one go costs its
// selection once plus its bound times the store reads each of its rows
// makes. A test walks the schema and fails when a list has no price or a
// field with a resolver is not accounted for here.

// fieldPrices are the fields that cost more than 1 each time they are
// resolved, and the fields whose resolver reads the store on its own (not
// through a per-request loader) every time it runs: the price is at least
// the store round trips it makes.
var fieldPrices = map[string]int{
	// The mailing, then its statistics.
	"Query.mailingStats": 2,
	// Every mailing the filter keeps, then their statistics, in two reads.
	"Query.mailingsStats": 2,
	// A loader counts a page's mailings in one aggregation; priced as
	// one each all the same.
	"Mailing.stats": 1,
	// The mailing's tags and operator codes looked up, then a count.
	"MailingStats.matchedClients": 3,
	// The first and the last sent message, each its own read.
	"MailingStats.firstSend": 2,
	"MailingStats.lastSend":  2,
}

// batchedFields read through the request's loaders, which gather the keys
// of every row of a wave into one store read: their rows add no round trip.
var batchedFields = map[string]bool{
	"Client.mobileOperatorCode": true,
	"Client.tag":                true,
	"Message.mailing":           true,
	"Message.client":            true,
	"User.createdBy":            true,
	"User.modifiedBy":           true,
	"User.roles":                true,
	"User.permissions":          true,
	"User.effectivePermissions": true,
	"Role.permissions":          true,
}

// listRows bounds the lists that are not paged, which are read in one go:
// the most rows each answers (a user's roles and permissions have no bound
// in the store, so a generous one stands in).
var listRows = map[string]int{
	"Query.mailingsStats":       mailingsStatsLimit,
	"User.roles":                100,
	"User.permissions":          100,
	"User.effectivePermissions": 500,
	"Role.permissions":          500,
}

// Scans: a count, a search, a filter or an order other than the id's, a
// page that starts far into the list or counts from its end (last without
// before) reads every row the list holds, not the page's, whatever the page
// size, first: 0 included. A scan's work is its rows times the conditions
// it evaluates on each: a filter of 200 conditions over 2,000 users took a
// third of a second. Each connection that scans is priced scanCost once
// (its page and its count walk the same rows), and counts its conditions
// (each lookup of its filter, and five for each word of its search)
// against Admission.MaxScans, with scanWalk for the walk itself, across
// the operation and once per row of a list around it.
const (
	scanCost = 50
	// scanWalk is what walking every row weighs against the scan limit
	// besides the conditions evaluated on each: nineteen counts of a
	// two-word search over 2,000 users took 195 ms of CPU.
	scanWalk = 5
	// searchWordConditions is what one word of a search weighs.
	searchWordConditions = 5
	// scanOffset is the furthest position a page may start at before
	// reaching it is priced as a scan: the store walks the rows before it.
	scanOffset = 1000
)

// cost is what a selection costs: total is its complexity, reads the part
// of it made of store reads that each row of an enclosing list repeats,
// scans the conditions its store scans evaluate on every row.
type cost struct {
	total, reads, scans int
}

func (c cost) plus(d cost) cost {
	return cost{addCost(c.total, d.total), addCost(c.reads, d.reads), addCost(c.scans, d.scans)}
}

// times is c repeated n times.
func (c cost) times(n int) cost {
	return cost{mulCost(n, c.total), mulCost(n, c.reads), mulCost(n, c.scans)}
}

// price is what a selection costs once, and, within a connection, what each
// of its rows costs (the selection of nodes or edges): the paged field
// around it knows how many rows there are.
type price struct {
	once, row cost
}

func (p price) plus(q price) price {
	return price{p.once.plus(q.once), p.row.plus(q.row)}
}

// fieldPrice prices one field, given its selection's price and its
// arguments.
func fieldPrice(def *ast.FieldDefinition, parent string, child price, args map[string]any) price {
	coord := parent + "." + def.Name
	own := cost{total: 1}
	if p, ok := fieldPrices[coord]; ok {
		own = cost{total: p, reads: p}
	}
	if parent == "Mutation" {
		own.total = max(own.total, writeCost)
	}
	if n := hashesOf(coord, args); n > 0 {
		own = cost{total: n * signInCost, reads: n}
	}
	if isConnection(parent) {
		switch def.Name {
		case "nodes", "edges":
			return price{once: own, row: child.once}
		case "totalCount":
			return price{once: cost{total: scanCost, reads: 1, scans: scanWalk}}
		}
	}
	if isPaged(def) {
		once := child.once
		// A page that scans and its count walk the same rows, with the
		// same conditions: one scan.
		if conditions := scanConditions(args); conditions > 0 {
			if once.scans == 0 { // no count has priced the scan
				once.total = addCost(once.total, scanCost)
				once.reads = addCost(once.reads, 1)
			}
			once.scans = max(once.scans, conditions)
		}
		size := pageSize(intArg(args, "first"), intArg(args, "last"), intArg(args, "limit"))
		total := own.plus(once).plus(child.row.times(size))
		// Every part of a page is read again for each row of a list around it.
		total.reads = total.total
		return price{once: total}
	}
	if rows, ok := listRows[coord]; ok {
		c := child.once
		return price{once: cost{
			total: addCost(addCost(own.total, c.total), mulCost(rows-1, c.reads)),
			reads: addCost(own.reads, mulCost(rows, c.reads)),
			scans: mulCost(rows, c.scans),
		}}
	}
	return price{once: own.plus(child.once)}
}

// scanConditions is how many conditions a page whose arguments make the
// store read past it evaluates on every row (at least 1), or 0 for a page
// read from an index: a filter's lookups, a search's words, an order, a
// start far into the list, or a size counted from the end of the list.
func scanConditions(args map[string]any) int {
	conditions := filterConditions(args["filter"])
	if text, ok := args["search"].(string); ok {
		// Each word is looked for in five fields (and, on the embedded
		// store, its search index probed), as usermgmt's ?search= spells
		// it out: five conditions.
		conditions = addCost(conditions, mulCost(searchWordConditions, wordCount(text)))
	}
	if conditions > 0 {
		return addCost(scanWalk, conditions)
	}
	if v, ok := args["orderBy"]; ok && v != nil {
		return scanWalk
	}
	if _, ok := args["before"].(string); !ok && intArg(args, "last") != nil {
		return scanWalk
	}
	start := 0
	if n := intArg(args, "offset"); n != nil {
		start = *n
	}
	for _, name := range []string{"after", "before"} {
		if c, ok := args[name].(string); ok {
			if n, err := decodeCursor(name, c); err == nil {
				start = max(start, n)
			}
		}
	}
	if start > scanOffset {
		return scanWalk
	}
	return 0
}

// wordCount counts the words of a search as strings.Fields splits them,
// without making them: a megabyte of text is counted, not copied.
func wordCount(text string) int {
	n, inWord := 0, false
	for _, r := range text {
		space := unicode.IsSpace(r)
		if !space && !inWord {
			n++
		}
		inWord = !space
	}
	return n
}

// filterConditions counts the conditions of a filter as the document or a
// variable gives it: each lookup of a field (exact, iContains, in…) and
// each plain value (isActive, ids), through and, or and not.
func filterConditions(filter any) int {
	f, ok := filter.(map[string]any)
	if !ok {
		return 0
	}
	n := 0
	for key, v := range f {
		switch {
		case v == nil:
		case key == "and" || key == "or":
			list, _ := v.([]any)
			for _, sub := range list {
				n = addCost(n, filterConditions(sub))
			}
		case key == "not":
			n = addCost(n, filterConditions(v))
		default:
			if lookups, ok := v.(map[string]any); ok {
				for _, l := range lookups {
					if l != nil {
						n = addCost(n, 1)
					}
				}
			} else {
				n = addCost(n, 1)
			}
		}
	}
	return n
}

// writeCost is the least a mutation costs: a write to the store in a
// transaction of its own, and the reads that check it (a mailing's change
// took 5 to 8 ms of CPU), so that one request writes at most sixteen times.
const writeCost = 60

// hashesOf is how many password hashes field coord computes with args:
// each costs signInCost, so one request cannot carry many as aliases,
// whichever mutation computes them.
func hashesOf(coord string, args map[string]any) int {
	switch coord {
	case "Mutation.signIn", "Mutation.signUp", "Mutation.setPassword":
		return 1
	case "Mutation.changePassword":
		return 2 // the old password checked, the new one hashed
	case "Mutation.createUser", "Mutation.updateUser", "Mutation.replaceUser":
		if input, ok := args["input"].(map[string]any); ok && input["password"] != nil {
			return 1
		}
	}
	return 0
}

// isPaged tells a field that takes a page size.
func isPaged(def *ast.FieldDefinition) bool {
	return def.Arguments.ForName("first") != nil || def.Arguments.ForName("limit") != nil
}

func isConnection(typeName string) bool { return strings.HasSuffix(typeName, "Connection") }

// intArg reads an Int argument as the document or a variable gave it.
func intArg(args map[string]any, name string) *int {
	var n int
	switch v := args[name].(type) {
	case int:
		n = v
	case int64:
		n = int(v)
	case float64:
		n = int(v)
	case json.Number:
		i, err := v.Int64()
		if err != nil {
			return nil
		}
		n = int(i)
	default:
		return nil
	}
	return &n
}
