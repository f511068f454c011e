package graph

import (
	"encoding/json"
	"strings"

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
	// A password hash each: one request cannot carry many as aliases.
	"Mutation.signIn": signInCost,
	"Mutation.signUp": signInCost,
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

// price is what a selection costs: total is its complexity, reads the part
// of it made of store reads that each row of an enclosing list repeats.
type price struct {
	total, reads int
}

func (p price) plus(q price) price {
	return price{addCost(p.total, q.total), addCost(p.reads, q.reads)}
}

// fieldPrice prices one field, given its selection's price and its
// arguments.
func fieldPrice(def *ast.FieldDefinition, parent string, child price, args map[string]any) price {
	coord := parent + "." + def.Name
	own, ownReads := 1, 0
	if p, ok := fieldPrices[coord]; ok {
		own, ownReads = p, p
	} else if def.Name == "totalCount" && isConnection(parent) {
		ownReads = 1 // one count
	}
	if isPaged(def) {
		size := pageSize(intArg(args, "first"), intArg(args, "last"), intArg(args, "limit"))
		total := addCost(own, mulCost(size, child.total))
		return price{total, total}
	}
	if rows, ok := listRows[coord]; ok {
		return price{
			addCost(addCost(own, child.total), mulCost(rows-1, child.reads)),
			addCost(ownReads, mulCost(rows, child.reads)),
		}
	}
	return price{addCost(own, child.total), addCost(ownReads, child.reads)}
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
