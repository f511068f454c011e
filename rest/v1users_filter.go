package rest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/store/fault"
)

// filterSpec is v1users' list body read onto GraphQL's users arguments:
//
//	{"expressions": [{"type": "exact"|"contains"|"is_null"|"compare"|"and"|"or",
//	  "field", "value", "case_insensitive", "operator", "sub_expressions", "invert"}],
//	 "order_by": [{"field", "ascending", "nulls_first"}],
//	 "include_inactive": false}
//
// Each expression becomes a UserFilter (and/or/not, StringFilter and
// TimeFilter lookups), the order a list of UserOrder. Field names come from
// an allow-list and values are only ever values, so nothing in the body can
// become an operator or a key of the store's filter.
type filterSpec struct {
	filter  map[string]any
	orderBy []any
	// sortAfter orders the users where GraphQL's orderBy cannot: by a
	// boolean field, or with nulls placed against the store's order.
	sortAfter func([]v1User)
}

// v1Fields are the fields v1users' users can be filtered and ordered by.
var v1Fields = map[string]v1Field{
	"pk":           {kind: pkField, order: "ID"},
	"id":           {kind: pkField, order: "ID"},
	"username":     {kind: textField, graphql: "username", order: "USERNAME"},
	"first_name":   {kind: textField, graphql: "firstName", order: "FIRST_NAME"},
	"last_name":    {kind: textField, graphql: "lastName", order: "LAST_NAME"},
	"email":        {kind: textField, graphql: "email", order: "EMAIL"},
	"is_active":    {kind: boolField, graphql: "isActive"},
	"is_staff":     {kind: boolField, graphql: "isStaff"},
	"is_superuser": {kind: boolField, graphql: "isSuperuser"},
	"date_joined":  {kind: timeField, graphql: "dateJoined", order: "DATE_JOINED"},
	"last_login":   {kind: timeField, graphql: "lastLogin", order: "LAST_LOGIN", nullable: true},
}

type fieldKind int

const (
	pkField fieldKind = iota
	textField
	boolField
	timeField
)

type v1Field struct {
	kind     fieldKind
	graphql  string
	order    string // UserOrderField; "" when GraphQL cannot order by it
	nullable bool
}

// maxExpressionDepth bounds and/or nesting, so a body cannot make the
// filter arbitrarily deep.
const maxExpressionDepth = 16

// specError is a 400 naming the part of the body at fault.
func specError(key, format string, args ...any) error {
	return fault.Field(key, fmt.Sprintf(format, args...))
}

func parseFilterSpec(data map[string]any, zone *time.Location) (*filterSpec, error) {
	spec := &filterSpec{}
	for k := range data {
		if k != "expressions" && k != "order_by" && k != "include_inactive" {
			return nil, specError(drfNonFieldErrors, "Unknown property %q.", k)
		}
	}
	var all []any
	if raw, ok := data["expressions"]; ok && raw != nil {
		list, ok := raw.([]any)
		if !ok {
			return nil, specError("expressions", "Expected a list of items but got type %q.", pyTypeName(raw))
		}
		for i, e := range list {
			f, err := expression(e, zone, 0)
			if err != nil {
				return nil, specError("expressions", "Item %d: %v", i, err)
			}
			all = append(all, f)
		}
	}
	includeInactive := false
	if raw, ok := data["include_inactive"]; ok && raw != nil {
		b, ok := raw.(bool)
		if !ok {
			return nil, specError("include_inactive", "Must be a valid boolean.")
		}
		includeInactive = b
	}
	if !includeInactive {
		all = append(all, map[string]any{"isActive": true})
	}
	switch len(all) {
	case 0:
	case 1:
		spec.filter = all[0].(map[string]any)
	default:
		spec.filter = map[string]any{"and": all}
	}
	if raw, ok := data["order_by"]; ok && raw != nil {
		if err := spec.readOrder(raw); err != nil {
			return nil, err
		}
	}
	return spec, nil
}

// expression reads one filter expression into a UserFilter.
func expression(raw any, zone *time.Location, depth int) (map[string]any, error) {
	e, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("an expression is an object, not %s", pyTypeName(raw))
	}
	if depth > maxExpressionDepth {
		return nil, fmt.Errorf("expressions are nested too deep")
	}
	typ, _ := e["type"].(string)
	invert := false
	if v, ok := e["invert"]; ok && v != nil {
		if invert, ok = v.(bool); !ok {
			return nil, fmt.Errorf("invert must be a boolean")
		}
	}
	var f map[string]any
	var err error
	switch typ {
	case "and", "or":
		f, err = logical(typ, e, zone, depth)
	case "exact", "contains", "is_null", "compare":
		f, err = fieldExpression(typ, e, zone)
	default:
		return nil, fmt.Errorf("unknown expression type %q", typ)
	}
	if err != nil {
		return nil, err
	}
	if invert {
		f = map[string]any{"not": f}
	}
	return f, nil
}

func logical(typ string, e map[string]any, zone *time.Location, depth int) (map[string]any, error) {
	if err := onlyKeys(e, "type", "invert", "sub_expressions"); err != nil {
		return nil, err
	}
	subs, ok := e["sub_expressions"].([]any)
	if !ok || len(subs) < 2 {
		return nil, fmt.Errorf("%s needs sub_expressions, a list of at least two expressions", typ)
	}
	out := make([]any, len(subs))
	for i, s := range subs {
		f, err := expression(s, zone, depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return map[string]any{typ: out}, nil
}

func fieldExpression(typ string, e map[string]any, zone *time.Location) (map[string]any, error) {
	allowed := map[string][]string{
		"exact":    {"type", "invert", "field", "value", "case_insensitive"},
		"contains": {"type", "invert", "field", "value", "sub_string", "case_insensitive"},
		"is_null":  {"type", "invert", "field"},
		"compare":  {"type", "invert", "field", "operator", "value"},
	}[typ]
	if err := onlyKeys(e, allowed...); err != nil {
		return nil, err
	}
	name, _ := e["field"].(string)
	field, ok := v1Fields[name]
	if !ok {
		return nil, fmt.Errorf("cannot filter on field %q", name)
	}
	insensitive, _ := e["case_insensitive"].(bool)
	value, hasValue := e["value"]
	if typ == "contains" && !hasValue {
		value, hasValue = e["sub_string"]
	}
	if typ != "is_null" && !hasValue {
		return nil, fmt.Errorf("%s needs a value", typ)
	}
	switch typ {
	case "is_null":
		return nullFilter(field), nil
	case "exact":
		return exactFilter(field, value, insensitive, zone)
	case "contains":
		s, ok := value.(string)
		if field.kind != textField || !ok {
			return nil, fmt.Errorf("contains takes a text field and a string")
		}
		lookup := "contains"
		if insensitive {
			lookup = "iContains"
		}
		return map[string]any{field.graphql: map[string]any{lookup: s}}, nil
	}
	return compareFilter(name, field, e["operator"], value, zone)
}

// onlyKeys refuses properties an expression does not have, as the
// service's strict JSON objects did.
func onlyKeys(e map[string]any, allowed ...string) error {
	for k := range e {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("unknown property %q", k)
		}
	}
	return nil
}

// nothing is a filter no user passes (a boolean field is never null, no
// user has id 0); fresh each time, as variables are not to be shared.
func nothing() map[string]any {
	return map[string]any{"and": []any{map[string]any{"isActive": true}, map[string]any{"isActive": false}}}
}

func nullFilter(field v1Field) map[string]any {
	switch field.kind {
	case textField:
		return map[string]any{field.graphql: map[string]any{"isNull": true}}
	case timeField:
		return map[string]any{field.graphql: map[string]any{"isNull": true}}
	}
	return nothing()
}

func exactFilter(field v1Field, value any, insensitive bool, zone *time.Location) (map[string]any, error) {
	switch field.kind {
	case pkField:
		_, text, problem := pkOf(value)
		if problem != "" {
			if strings.HasPrefix(problem, "Invalid pk") {
				return nothing(), nil // no user has that id
			}
			return nil, fmt.Errorf("pk must be an integer, not %q", text)
		}
		id, _, _ := pkOf(value)
		return map[string]any{"ids": []any{id}}, nil
	case boolField:
		b, ok := pyBool(value)
		if !ok {
			return nil, fmt.Errorf("%v value must be either True or False", value)
		}
		return map[string]any{field.graphql: b}, nil
	case timeField:
		t, err := djangoTime(value, zone)
		if err != nil {
			return nil, err
		}
		return map[string]any{field.graphql: map[string]any{"exact": t}}, nil
	}
	s, ok := djangoText(value)
	if !ok {
		return nil, fmt.Errorf("a text field compares with a string or a number")
	}
	lookup := "exact"
	if insensitive {
		lookup = "iExact"
	}
	return map[string]any{field.graphql: map[string]any{lookup: s}}, nil
}

var compareLookups = map[string]string{"<": "lt", ">": "gt", "<=": "lte", ">=": "gte"}

func compareFilter(name string, field v1Field, operator, value any, zone *time.Location) (map[string]any, error) {
	op, _ := operator.(string)
	lookup, ok := compareLookups[op]
	if !ok {
		return nil, fmt.Errorf("operator is one of <, >, <=, >=")
	}
	switch field.kind {
	case textField:
		s, ok := djangoText(value)
		if !ok {
			return nil, fmt.Errorf("a text field compares with a string or a number")
		}
		return map[string]any{field.graphql: map[string]any{lookup: s}}, nil
	case timeField:
		t, err := djangoTime(value, zone)
		if err != nil {
			return nil, err
		}
		return map[string]any{field.graphql: map[string]any{lookup: t}}, nil
	}
	return nil, fmt.Errorf("cannot compare on field %q", name)
}

// djangoText is a value as a text field's lookup takes it.
func djangoText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return pyNumberString(v), true
	case bool:
		if v {
			return "True", true
		}
		return "False", true
	}
	return "", false
}

// djangoTime reads a datetime as Django's DateTimeField takes one in a
// lookup: ISO 8601 with "T" or a space, seconds and fraction optional, an
// offset or Z; without one, in the dialect's zone; a bare date is its
// midnight. It answers RFC 3339, as GraphQL's Time takes it.
func djangoTime(v any, zone *time.Location) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("a datetime is a string")
	}
	if zone == nil {
		zone = time.UTC
	}
	s = strings.TrimSpace(s)
	for _, layout := range []string{
		time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04Z07:00", "2006-01-02 15:04Z07:00",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	}
	for _, layout := range []string{
		"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02",
	} {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	}
	return "", fmt.Errorf("%q value has an invalid format. It must be in YYYY-MM-DD HH:MM[:ss[.uuuuuu]][TZ] format", s)
}

// readOrder maps order_by onto GraphQL's orderBy, and, where that cannot
// say it (a boolean field; nulls placed against the store's order, which
// puts them first ascending and last descending), also sorts afterwards.
func (spec *filterSpec) readOrder(raw any) error {
	list, ok := raw.([]any)
	if !ok {
		return specError("order_by", "Expected a list of items but got type %q.", pyTypeName(raw))
	}
	var keys []orderKey
	inMemory := false
	for i, item := range list {
		o, ok := item.(map[string]any)
		if !ok {
			return specError("order_by", "Item %d: an ordering is an object.", i)
		}
		if err := onlyKeys(o, "field", "ascending", "nulls_first"); err != nil {
			return specError("order_by", "Item %d: %v.", i, err)
		}
		name, _ := o["field"].(string)
		field, ok := v1Fields[name]
		if !ok {
			return specError("order_by", "Item %d: cannot order by %q.", i, name)
		}
		k := orderKey{field: name, ascending: true}
		if v, ok := o["ascending"]; ok && v != nil {
			if k.ascending, ok = v.(bool); !ok {
				return specError("order_by", "Item %d: ascending must be a boolean.", i)
			}
		}
		if v, ok := o["nulls_first"]; ok && v != nil {
			b, ok := v.(bool)
			if !ok {
				return specError("order_by", "Item %d: nulls_first must be a boolean.", i)
			}
			k.nullsFirst = &b
			// The store puts nulls first ascending and last descending.
			if field.nullable && b != k.ascending {
				inMemory = true
			}
		}
		if field.order == "" {
			inMemory = true
		} else {
			dir := "ASC"
			if !k.ascending {
				dir = "DESC"
			}
			spec.orderBy = append(spec.orderBy, map[string]any{"field": field.order, "direction": dir})
		}
		keys = append(keys, k)
	}
	if inMemory {
		spec.sortAfter = func(users []v1User) { sortV1Users(users, keys) }
	}
	return nil
}
