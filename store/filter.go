package store

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/fault"
)

// StringLookup holds Django's lookups on one text field. Every value set is
// a condition; all of them must hold. Values reach the store only as literal
// values or as escaped regular expressions, never as operators.
type StringLookup struct {
	Exact       *string
	IExact      *string
	Contains    *string
	IContains   *string
	StartsWith  *string
	IStartsWith *string
	EndsWith    *string
	IEndsWith   *string
	In          []string
	Gt          *string
	Gte         *string
	Lt          *string
	Lte         *string
	IsNull      *bool
}

// TimeLookup holds Django's lookups on one date-time field.
type TimeLookup struct {
	Exact  *time.Time
	In     []time.Time
	Gt     *time.Time
	Gte    *time.Time
	Lt     *time.Time
	Lte    *time.Time
	IsNull *bool
}

// Values counts the values the lookups hold: one for each lookup given,
// and one for each item of In.
func (l *StringLookup) Values() int {
	if l == nil {
		return 0
	}
	return given(l.Exact, l.IExact, l.Contains, l.IContains, l.StartsWith, l.IStartsWith, l.EndsWith, l.IEndsWith,
		l.Gt, l.Gte, l.Lt, l.Lte) + given(l.IsNull) + len(l.In)
}

// Values counts the values the lookups hold: one for each lookup given,
// and one for each item of In.
func (l *TimeLookup) Values() int {
	if l == nil {
		return 0
	}
	return given(l.Exact, l.Gt, l.Gte, l.Lt, l.Lte) + given(l.IsNull) + len(l.In)
}

// given counts the values that are set.
func given[T any](values ...*T) int {
	n := 0
	for _, v := range values {
		if v != nil {
			n++
		}
	}
	return n
}

// literal makes user text match itself, and only itself, in a regular
// expression; `.*(a+)+$` stays a string of punctuation.
func literal(s string) string { return regexp.QuoteMeta(s) }

func regex(pattern string, insensitive bool) bson.D {
	opts := ""
	if insensitive {
		opts = "i"
	}
	return bson.D{{Key: "$regex", Value: pattern}, {Key: "$options", Value: opts}}
}

// conditions turns the lookups on field into filter clauses.
func (l *StringLookup) conditions(field string) bson.A {
	if l == nil {
		return nil
	}
	var and bson.A
	add := func(cond any) { and = append(and, bson.D{{Key: field, Value: cond}}) }
	if l.Exact != nil {
		add(bson.D{{Key: "$eq", Value: *l.Exact}})
	}
	// \z, not $, anchors the very end: $ would also match before a final newline.
	if l.IExact != nil {
		add(regex("^"+literal(*l.IExact)+`\z`, true))
	}
	if l.Contains != nil {
		add(regex(literal(*l.Contains), false))
	}
	if l.IContains != nil {
		add(regex(literal(*l.IContains), true))
	}
	if l.StartsWith != nil {
		add(regex("^"+literal(*l.StartsWith), false))
	}
	if l.IStartsWith != nil {
		add(regex("^"+literal(*l.IStartsWith), true))
	}
	if l.EndsWith != nil {
		add(regex(literal(*l.EndsWith)+`\z`, false))
	}
	if l.IEndsWith != nil {
		add(regex(literal(*l.IEndsWith)+`\z`, true))
	}
	if l.In != nil {
		add(bson.D{{Key: "$in", Value: l.In}})
	}
	for op, v := range map[string]*string{"$gt": l.Gt, "$gte": l.Gte, "$lt": l.Lt, "$lte": l.Lte} {
		if v != nil {
			add(bson.D{{Key: op, Value: *v}})
		}
	}
	if l.IsNull != nil {
		add(nullCondition(*l.IsNull))
	}
	return and
}

func (l *TimeLookup) conditions(field string) bson.A {
	if l == nil {
		return nil
	}
	var and bson.A
	add := func(cond any) { and = append(and, bson.D{{Key: field, Value: cond}}) }
	if l.Exact != nil {
		add(bson.D{{Key: "$eq", Value: l.Exact.UTC()}})
	}
	if l.In != nil {
		in := make(bson.A, len(l.In))
		for i, t := range l.In {
			in[i] = t.UTC()
		}
		add(bson.D{{Key: "$in", Value: in}})
	}
	for op, v := range map[string]*time.Time{"$gt": l.Gt, "$gte": l.Gte, "$lt": l.Lt, "$lte": l.Lte} {
		if v != nil {
			add(bson.D{{Key: op, Value: v.UTC()}})
		}
	}
	if l.IsNull != nil {
		add(nullCondition(*l.IsNull))
	}
	return and
}

// nullCondition matches a missing or null field, or its opposite.
func nullCondition(isNull bool) bson.D {
	if isNull {
		return bson.D{{Key: "$eq", Value: nil}}
	}
	return bson.D{{Key: "$ne", Value: nil}}
}

func boolCondition(field string, v *bool) bson.A {
	if v == nil {
		return nil
	}
	return bson.A{bson.D{{Key: field, Value: *v}}}
}

// Bounds of a search (Django's SearchFilter). Every word is a condition on
// every searched field, and on SQLite a probe of the search index as well,
// so the words bound the work of a search, and their length the work of
// each one. Every surface that searches users (GraphQL's users(search:),
// usermgmt's ?search=) splits its text with SearchWords, and the store
// builds no search past them.
const (
	// MaxSearchWords keeps a search's work within what one operation may
	// scan: each word of usermgmt's ?search= is a condition on each of five
	// fields, evaluated on every row, and eight words make the forty
	// conditions that, with the walk itself, the GraphQL admission lets
	// one operation's scans evaluate (graph.DefaultScanLimit).
	MaxSearchWords = 8
	// MaxSearchWordLength is the longest field a search reads, the email:
	// no field holds a longer word.
	MaxSearchWordLength = maxEmail
)

// SearchWords splits a search into its words, as SearchFilter does, and
// refuses a search past the bounds as invalid input naming "search". It
// stops at the first word past them, so a long text costs no more than
// reading that far.
func SearchWords(text string) ([]string, error) {
	var words []string
	for word := range strings.FieldsSeq(text) {
		if len(words) == MaxSearchWords {
			return nil, fault.Field("search", fmt.Sprintf("A search may hold at most %d words.", MaxSearchWords))
		}
		if utf8.RuneCountInString(word) > MaxSearchWordLength {
			return nil, fault.Field("search", fmt.Sprintf("A word of a search may hold at most %d characters.", MaxSearchWordLength))
		}
		words = append(words, word)
	}
	return words, nil
}

// searchConditions is Django's SearchFilter: every word of the text must
// appear, case-insensitively, in at least one of the fields.
func searchConditions(text string, fields ...string) (bson.A, error) {
	words, err := SearchWords(text)
	if err != nil {
		return nil, err
	}
	var and bson.A
	for _, word := range words {
		or := make(bson.A, 0, len(fields))
		for _, f := range fields {
			or = append(or, bson.D{{Key: f, Value: regex(literal(word), true)}})
		}
		and = append(and, bson.D{{Key: "$or", Value: or}})
	}
	return and, nil
}

// allOf combines clauses into one filter document.
func allOf(clauses bson.A) bson.D {
	switch len(clauses) {
	case 0:
		return bson.D{}
	case 1:
		return clauses[0].(bson.D)
	default:
		return bson.D{{Key: "$and", Value: clauses}}
	}
}

// SortDirection orders a list ascending or descending.
type SortDirection int

const (
	Ascending  SortDirection = 1
	Descending SortDirection = -1
)

// Page selects a slice of a sorted list.
type Page struct {
	Offset int
	Limit  int // 0 means no limit
}
