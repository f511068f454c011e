package sqlite

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// A filter becomes one SQL condition over the collection's table, whose
// rows are (id, doc): id is the document's _id and doc its JSONB. Fields
// are read with json_extract(doc, '$.path'), the very expression the
// indexes are built on, so SQLite's planner uses them.

// table is what queries need to know of a collection.
type table struct {
	name string
	// declared tells that Prepare declared the collection: then only the
	// fields in arrays hold arrays, and every other field is compared
	// directly, as its index is built. In a collection never declared any
	// field may hold an array, and equality looks at its elements too.
	declared bool
	// arrays maps each array field to the side table that indexes its
	// elements ("" when the field has no index).
	arrays map[string]string
	// search is the full-text table that indexes the trigrams of the
	// searched fields together ("" for none; see search.go).
	search       string
	searchFields map[string]bool
}

// isArray tells whether a field may hold an array.
func (t *table) isArray(path string) bool {
	if !t.declared {
		return path != "_id"
	}
	_, ok := t.arrays[path]
	return ok
}

// query collects a condition's SQL and its arguments.
type query struct {
	t    *table
	args []any
	// common tells whether too many documents hold a search word to read
	// them through the search index (see manyHold); nil reads as no.
	common func(word string) (bool, error)
}

func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "?"
}

// where compiles a filter; an empty filter is "1".
func (q *query) where(filter bson.D) (string, error) {
	if len(filter) == 0 {
		return "1", nil
	}
	raw, err := bson.Marshal(filter)
	if err != nil {
		return "", fmt.Errorf("encode filter: %w", err)
	}
	return q.document(bsoncore.Document(raw))
}

func (q *query) document(doc bsoncore.Document) (string, error) {
	elems, err := doc.Elements()
	if err != nil {
		return "", err
	}
	parts := make([]string, 0, len(elems))
	for _, e := range elems {
		var part string
		switch key := e.Key(); key {
		case "$and", "$or", "$nor":
			part, err = q.logical(key, e.Value())
		default:
			if strings.HasPrefix(key, "$") {
				return "", docdb.Unsupported("operator %s", key)
			}
			part, err = q.field(key, e.Value())
		}
		if err != nil {
			return "", err
		}
		parts = append(parts, part)
	}
	return joinAnd(parts), nil
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return "1"
	case 1:
		return parts[0]
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

func (q *query) logical(op string, v bsoncore.Value) (string, error) {
	arr, ok := v.ArrayOK()
	if !ok {
		return "", docdb.Unsupported("%s takes an array", op)
	}
	vals, err := arr.Values()
	if err != nil {
		return "", err
	}
	// A search's prefilter comes first in the SQL, so its arguments are
	// taken first.
	var pre string
	if op == "$or" {
		if pre, err = q.searchPrefilter(vals); err != nil {
			return "", err
		}
	}
	parts := make([]string, 0, len(vals))
	for _, sub := range vals {
		d, ok := sub.DocumentOK()
		if !ok {
			return "", docdb.Unsupported("%s takes documents", op)
		}
		part, err := q.document(d)
		if err != nil {
			return "", err
		}
		parts = append(parts, part)
	}
	switch op {
	case "$and":
		return joinAnd(parts), nil
	case "$or":
		if len(parts) == 0 {
			return "0", nil
		}
		or := "(" + strings.Join(parts, " OR ") + ")"
		if pre != "" {
			return "(" + pre + " AND " + or + ")", nil
		}
		return or, nil
	}
	if len(parts) == 0 {
		return "1", nil
	}
	return "NOT (" + strings.Join(parts, " OR ") + ")", nil
}

// field compiles the conditions on one field.
func (q *query) field(path string, v bsoncore.Value) (string, error) {
	if err := checkPath(path); err != nil {
		return "", err
	}
	doc, isDoc := v.DocumentOK()
	if !isDoc {
		return q.compare(path, "$eq", v)
	}
	elems, err := doc.Elements()
	if err != nil {
		return "", err
	}
	if len(elems) == 0 || !strings.HasPrefix(elems[0].Key(), "$") {
		return "", docdb.Unsupported("equality with a document on %s", path)
	}
	var parts []string
	var pattern, options *bsoncore.Value
	for _, e := range elems {
		val := e.Value()
		switch e.Key() {
		case "$regex":
			pattern = &val
		case "$options":
			options = &val
		default:
			part, err := q.compare(path, e.Key(), val)
			if err != nil {
				return "", err
			}
			parts = append(parts, part)
		}
	}
	if pattern != nil {
		opts := ""
		if options != nil {
			opts, _ = options.StringValueOK()
		}
		p, ok := pattern.StringValueOK()
		if !ok {
			return "", docdb.Unsupported("$regex on %s takes a string", path)
		}
		part, err := q.regex(path, p, opts)
		if err != nil {
			return "", err
		}
		parts = append(parts, part)
	} else if options != nil {
		return "", docdb.Unsupported("$options without $regex on %s", path)
	}
	return joinAnd(parts), nil
}

var pathPart = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkPath admits the field names the store uses; paths are never client
// text, and this keeps them out of harm's way inside SQL literals anyway.
func checkPath(path string) error {
	for _, part := range strings.Split(path, ".") {
		if !pathPart.MatchString(part) {
			return docdb.Unsupported("field path %q", path)
		}
	}
	return nil
}

// fieldExpr is the SQL that reads a field, as indexes are declared on it.
func fieldExpr(path string) string {
	if path == "_id" {
		return "id"
	}
	return "json_extract(doc, '$." + path + "')"
}

// elements is the SQL condition that the field, or some element of it when
// it is an array, satisfies cond (written over "value"): json_each of a
// scalar is the scalar itself.
func (q *query) elements(path, cond string) string {
	if side := q.t.arrays[path]; side != "" {
		return "id IN (SELECT id FROM " + quote(side) + " WHERE " + cond + ")"
	}
	return "EXISTS (SELECT 1 FROM json_each(doc, '$." + path + "') WHERE " + cond + ")"
}

// searchPrefilter speeds up a search: an $or of the same case-insensitive
// "contains" on several fields (Django's SearchFilter). Where the fields
// have a search index and the word is long enough, the index names the
// rows that hold the word's trigrams. Otherwise reading the fields as one
// JSON array and matching the word against it first costs one lookup and
// one LIKE per row instead of one per field. Either way only rows it lets
// through are checked field by field. It is a necessary condition only
// when the word reads the same in JSON (no quote, backslash or control
// character), so other words get no prefilter.
func (q *query) searchPrefilter(alts []bsoncore.Value) (string, error) {
	if len(alts) < 2 {
		return "", nil
	}
	var word string
	paths := make([]string, 0, len(alts))
	for i, alt := range alts {
		d, _ := alt.DocumentOK()
		elems, err := d.Elements()
		if err != nil || len(elems) != 1 || checkPath(elems[0].Key()) != nil || q.t.isArray(elems[0].Key()) {
			return "", nil
		}
		cond, ok := elems[0].Value().DocumentOK()
		if !ok {
			return "", nil
		}
		pattern, _ := cond.Lookup("$regex").StringValueOK()
		options, _ := cond.Lookup("$options").StringValueOK()
		lit, start, end, literal := literalPattern(pattern)
		if !literal || start || end || options != "i" || !isASCII(lit) || strings.ContainsAny(lit, "\\\"") || hasControl(lit) {
			return "", nil
		}
		if i > 0 && lit != word {
			return "", nil
		}
		word = lit
		paths = append(paths, elems[0].Key())
	}
	if q.t.searches(paths, word) {
		common := false
		if q.common != nil {
			var err error
			if common, err = q.common(word); err != nil {
				return "", err
			}
		}
		if !common {
			return q.searchMatch(word), nil
		}
	}
	for i, p := range paths {
		paths[i] = "'$." + p + "'"
	}
	return "json_extract(doc, " + strings.Join(paths, ", ") + ") LIKE " + q.arg("%"+escapeLike(word)+"%") + " ESCAPE '\\'", nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

var comparisons = map[string]string{"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

func (q *query) compare(path, op string, v bsoncore.Value) (string, error) {
	isArray := q.t.isArray(path)
	expr := fieldExpr(path)
	switch op {
	case "$eq", "$ne":
		var cond string
		if v.Type == bsoncore.TypeNull {
			if isArray {
				cond = "(" + expr + " IS NULL OR " + q.elements(path, "value IS NULL") + ")"
			} else {
				cond = expr + " IS NULL"
			}
		} else {
			arg, err := sqlValue(v)
			if err != nil {
				return "", fmt.Errorf("%s: %w", path, err)
			}
			if isArray {
				cond = q.elements(path, "value = "+q.arg(arg))
			} else {
				cond = expr + " = " + q.arg(arg)
			}
		}
		if op == "$ne" {
			return "NOT COALESCE(" + cond + ", 0)", nil
		}
		return cond, nil
	case "$in", "$nin":
		arr, ok := v.ArrayOK()
		if !ok {
			return "", docdb.Unsupported("%s on %s takes an array", op, path)
		}
		vals, err := arr.Values()
		if err != nil {
			return "", err
		}
		var marks []string
		null := false
		for _, item := range vals {
			if item.Type == bsoncore.TypeNull {
				null = true
				continue
			}
			arg, err := sqlValue(item)
			if err != nil {
				return "", fmt.Errorf("%s: %w", path, err)
			}
			marks = append(marks, q.arg(arg))
		}
		var alts []string
		if len(marks) > 0 {
			in := "IN (" + strings.Join(marks, ", ") + ")"
			if isArray {
				alts = append(alts, q.elements(path, "value "+in))
			} else {
				alts = append(alts, expr+" "+in)
			}
		}
		if null {
			alts = append(alts, expr+" IS NULL")
		}
		cond := "0"
		if len(alts) > 0 {
			cond = "(" + strings.Join(alts, " OR ") + ")"
		}
		if op == "$nin" {
			return "NOT COALESCE(" + cond + ", 0)", nil
		}
		return cond, nil
	case "$exists":
		want, ok := v.BooleanOK()
		if !ok {
			return "", docdb.Unsupported("$exists on %s takes a boolean", path)
		}
		cond := "json_type(doc, '$." + path + "') IS NOT NULL"
		if path == "_id" {
			cond = "1"
		}
		if !want {
			return "NOT (" + cond + ")", nil
		}
		return cond, nil
	}
	sqlOp, ok := comparisons[op]
	if !ok {
		return "", docdb.Unsupported("operator %s on %s", op, path)
	}
	arg, err := sqlValue(v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if isArray {
		return q.elements(path, "(value "+sqlOp+" "+q.arg(arg)+" AND "+typeGuard("value", arg)+")"), nil
	}
	// Like MongoDB, compare within a type only: a string bound never
	// matches numbers, a number bound never matches text.
	return "(" + expr + " " + sqlOp + " " + q.arg(arg) + " AND " + typeGuard(expr, arg) + ")", nil
}

func typeGuard(expr string, arg any) string {
	if _, ok := arg.(string); ok {
		return "typeof(" + expr + ") = 'text'"
	}
	return "typeof(" + expr + ") IN ('integer', 'real')"
}

// sqlValue is a BSON scalar as SQLite compares it with stored JSON.
func sqlValue(v bsoncore.Value) (any, error) {
	switch v.Type {
	case bsoncore.TypeString:
		return v.StringValue(), nil
	case bsoncore.TypeInt32:
		return int64(v.Int32()), nil
	case bsoncore.TypeInt64:
		return v.Int64(), nil
	case bsoncore.TypeDateTime:
		return v.DateTime(), nil
	case bsoncore.TypeDouble:
		return v.Double(), nil
	case bsoncore.TypeBoolean:
		if v.Boolean() {
			return int64(1), nil
		}
		return int64(0), nil
	}
	return nil, docdb.Unsupported("a %s value in a filter", v.Type)
}

// regex compiles the regular expressions the store writes, which are
// literal text with optional anchors ("^abc", "abc\z", "^abc\z", "abc"),
// to plain SQL string functions; case-insensitive ASCII text uses LIKE.
// Any other pattern runs through Go's regexp (RE2: linear time).
func (q *query) regex(path, pattern, options string) (string, error) {
	insensitive := false
	for _, o := range options {
		if o != 'i' {
			return "", docdb.Unsupported("regex option %q", o)
		}
		insensitive = true
	}
	expr := fieldExpr(path)
	text := "typeof(" + expr + ") = 'text'"
	lit, start, end, ok := literalPattern(pattern)
	if !ok {
		if _, err := regexp.Compile(pattern); err != nil {
			return "", docdb.Unsupported("regex %q: %v", pattern, err)
		}
		if insensitive {
			pattern = "(?i)" + pattern
		}
		return "(" + text + " AND gh_regexp(" + q.arg(pattern) + ", " + expr + "))", nil
	}
	if insensitive && isASCII(lit) {
		like := escapeLike(lit)
		if !start {
			like = "%" + like
		}
		if !end {
			like += "%"
		}
		return "(" + expr + " LIKE " + q.arg(like) + " ESCAPE '\\')", nil
	}
	subject := expr
	if insensitive {
		subject = "gh_fold(" + expr + ")"
		lit = fold(lit)
	}
	n := strconv.Itoa(utf8.RuneCountInString(lit))
	var cond string
	switch {
	case start && end:
		cond = subject + " = " + q.arg(lit)
	case start:
		cond = "substr(" + subject + ", 1, " + n + ") = " + q.arg(lit)
	case end && lit != "":
		cond = "substr(" + subject + ", -" + n + ") = " + q.arg(lit)
	default:
		cond = "instr(" + subject + ", " + q.arg(lit) + ") > 0"
	}
	return "(" + text + " AND " + cond + ")", nil
}

// literalPattern reads a pattern made of regexp.QuoteMeta text between an
// optional ^ and an optional \z.
func literalPattern(p string) (lit string, start, end, ok bool) {
	if strings.HasPrefix(p, "^") {
		start, p = true, p[1:]
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' {
			if i+1 >= len(p) {
				return "", false, false, false
			}
			next := p[i+1]
			if next == 'z' && i+2 == len(p) {
				return b.String(), start, true, true
			}
			if !strings.ContainsRune(`\.+*?()|[]{}^$`, rune(next)) {
				return "", false, false, false
			}
			b.WriteByte(next)
			i++
			continue
		}
		if strings.ContainsRune(`.+*?()|[]{}^$`, rune(c)) {
			return "", false, false, false
		}
		b.WriteByte(c)
	}
	return b.String(), start, false, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// likeEscaper escapes LIKE's wildcards and its escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func escapeLike(s string) string { return likeEscaper.Replace(s) }

// fold is the case folding of case-insensitive matches beyond ASCII.
func fold(s string) string { return strings.ToLower(s) }

// orderBy compiles a sort document.
func orderBy(sort bson.D) (string, error) {
	if len(sort) == 0 {
		return "", nil
	}
	parts := make([]string, 0, len(sort))
	for _, e := range sort {
		if err := checkPath(e.Key); err != nil {
			return "", err
		}
		dir := "ASC"
		switch v := e.Value.(type) {
		case int:
			if v < 0 {
				dir = "DESC"
			}
		case int32:
			if v < 0 {
				dir = "DESC"
			}
		case int64:
			if v < 0 {
				dir = "DESC"
			}
		default:
			return "", docdb.Unsupported("sort direction %v", e.Value)
		}
		parts = append(parts, fieldExpr(e.Key)+" "+dir)
	}
	return " ORDER BY " + strings.Join(parts, ", "), nil
}

func quote(name string) string { return `"` + name + `"` }
