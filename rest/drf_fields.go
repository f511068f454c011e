package rest

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse/gatehouse/store/fault"
)

// form reads a JSON object's fields as DRF's serializer fields do, with
// their messages, collecting every field's error before failing: a body
// with two bad fields gets both named. Nothing but the types the GraphQL
// variables need leaves it, so no client-chosen key or operator ever
// reaches a variable.
type form struct {
	data map[string]any
	errs fault.FieldErrors
}

func newForm(data map[string]any) *form { return &form{data: data, errs: fault.FieldErrors{}} }

func (f *form) err() error { return f.errs.Err() }

// textRule is a CharField's options, as ModelSerializer derives them from
// the model field (blank=True allows blank, null=True allows null).
type textRule struct {
	required   bool
	allowBlank bool
	allowNull  bool
	// keepSpace turns off CharField's trim_whitespace, as sign-in's
	// password field does.
	keepSpace bool
}

var (
	requiredText = textRule{required: true}
	optionalText = textRule{allowBlank: true}
)

// text reads a CharField. given is false when the field is absent (and not
// required); value is nil for a null the rule allows.
func (f *form) text(name string, rule textRule) (value *string, given bool) {
	raw, ok := f.data[name]
	switch {
	case !ok:
		if rule.required {
			f.errs.Add(name, drfRequired)
		}
		return nil, false
	case raw == nil:
		if !rule.allowNull {
			f.errs.Add(name, "This field may not be null.")
		}
		return nil, rule.allowNull
	}
	var s string
	switch v := raw.(type) {
	case string:
		s = v
	case json.Number:
		s = pyNumberString(v)
	default:
		// A boolean, a list or an object: str() of it is never blank, so
		// DRF's type check is what fails.
		f.errs.Add(name, "Not a valid string.")
		return nil, false
	}
	if !rule.keepSpace {
		s = strings.TrimFunc(s, pyIsSpace)
	}
	if s == "" && !rule.allowBlank {
		f.errs.Add(name, "This field may not be blank.")
		return nil, false
	}
	if strings.ContainsRune(s, 0) {
		f.errs.Add(name, "Null characters are not allowed.")
		return nil, false
	}
	return &s, true
}

// boolean reads a BooleanField, which takes JSON booleans and Python's
// truthy and falsy words and numbers.
func (f *form) boolean(name string, required bool) (value *bool, given bool) {
	raw, ok := f.given(name, required)
	if !ok {
		return nil, false
	}
	if b, ok := pyBool(raw); ok {
		return &b, true
	}
	f.errs.Add(name, "Must be a valid boolean.")
	return nil, false
}

// pyBool is BooleanField.to_internal_value's TRUE_VALUES and FALSE_VALUES.
func pyBool(raw any) (bool, bool) {
	switch v := raw.(type) {
	case bool:
		return v, true
	case json.Number:
		if n, err := v.Float64(); err == nil {
			if n == 1 {
				return true, true
			}
			if n == 0 {
				return false, true
			}
		}
	case string:
		switch v {
		case "t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1":
			return true, true
		case "f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0":
			return false, true
		}
	}
	return false, false
}

// pkList reads a many=True PrimaryKeyRelatedField: a list of ids. Like
// DRF it names the first item at fault; ids that are well formed but name
// nothing are left to the GraphQL layer, which checks them against the
// store. raw keeps each id as the client wrote it, for DRF's message.
func (f *form) pkList(name string) (ids []string, raw []string, given bool) {
	v, ok := f.given(name, true)
	if !ok {
		return nil, nil, false
	}
	items, isList := v.([]any)
	if !isList {
		f.errs.Add(name, `Expected a list of items but got type "`+pyTypeName(v)+`".`)
		return nil, nil, false
	}
	ids, raw = make([]string, 0, len(items)), make([]string, 0, len(items))
	for _, it := range items {
		id, text, problem := pkOf(it)
		if problem != "" {
			f.errs.Add(name, problem)
			return nil, nil, false
		}
		ids, raw = append(ids, id), append(raw, text)
	}
	return ids, raw, true
}

// pkOf reads one primary key as Django's integer lookup would take it.
func pkOf(v any) (id, text, problem string) {
	switch v := v.(type) {
	case json.Number:
		text = v.String()
		if n, err := v.Int64(); err == nil {
			return positiveID(n, text)
		}
		if fl, err := v.Float64(); err == nil && !math.IsInf(fl, 0) {
			return positiveID(int64(fl), text)
		}
		return "", text, doesNotExist(text)
	case string:
		n, ok := pyInt(v)
		if !ok {
			return "", v, "Incorrect type. Expected pk value, received str."
		}
		return positiveID(int64(n), v)
	case nil:
		return "", "None", doesNotExist("None")
	}
	return "", "", "Incorrect type. Expected pk value, received " + pyTypeName(v) + "."
}

// positiveID refuses what can name no row: Django looks it up and finds
// nothing, so the answer is the same "does not exist".
func positiveID(n int64, text string) (string, string, string) {
	if n <= 0 {
		return "", text, doesNotExist(text)
	}
	return strconv.FormatInt(n, 10), text, ""
}

func doesNotExist(pk string) string {
	return `Invalid pk "` + pk + `" - object does not exist.`
}

// pyIsSpace is Python's str.isspace, which str.strip() trims.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// pyNumberString is str() of the number json.loads makes of a JSON number:
// an int as written, a float as Python's repr writes it.
func pyNumberString(n json.Number) string {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		if strings.TrimLeft(strings.TrimPrefix(s, "-"), "0") == "" {
			return "0"
		}
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return s
	}
	return pyFloatRepr(f)
}

// pyFloatRepr writes a float as Python's repr: the shortest digits that
// read back, in positional notation from 1e-4 up to 1e16 (with ".0" when
// whole), in exponent notation outside.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	exp := strconv.FormatFloat(f, 'e', -1, 64)
	mant, e, _ := strings.Cut(exp, "e")
	decExp, _ := strconv.Atoi(e)
	if decExp < -4 || decExp >= 16 {
		sign := e[0]
		digits := strings.TrimLeft(e[1:], "0")
		if len(digits) < 2 {
			digits = strings.Repeat("0", 2-len(digits)) + digits
		}
		return mant + "e" + string(sign) + digits
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// rememberPKs keeps a pk list as the client sent it, so that the store's
// "does not exist" errors (every unknown id, sorted) can be answered as
// DRF answers them: the first unknown id in the client's order, as written.
func (r *request) rememberPKs(field string, ids, raw []string) {
	if r.pks == nil {
		r.pks = map[string]sentPKs{}
	}
	r.pks[field] = sentPKs{ids, raw}
}

type sentPKs struct{ ids, raw []string }

// firstUnknownPK rewrites a field's "does not exist" errors to DRF's one
// message about the first id at fault.
func (r *request) firstUnknownPK(fields map[string][]string) {
	for field, sent := range r.pks {
		msgs := fields[field]
		if len(msgs) == 0 {
			continue
		}
		for i, id := range sent.ids {
			if slices.Contains(msgs, doesNotExist(id)) {
				fields[field] = []string{doesNotExist(sent.raw[i])}
				break
			}
		}
	}
}

// pk reads a PrimaryKeyRelatedField: one id, as the client wrote it kept
// for DRF's "does not exist" message (see rememberPKs).
func (f *form) pk(req *request, name string, required bool) (string, bool) {
	v, ok := f.given(name, required)
	if !ok {
		return "", false
	}
	id, text, problem := pkOf(v)
	if problem != "" {
		f.errs.Add(name, problem)
		return "", false
	}
	req.rememberPKs(name, []string{id}, []string{text})
	return id, true
}

// textList reads a ListField of CharFields: a list of strings (numbers
// are taken as text), none blank. DRF keys a child's error by its index;
// here it is the field's message.
func (f *form) textList(name string, required bool) ([]string, bool) {
	v, ok := f.given(name, required)
	if !ok {
		return nil, false
	}
	items, isList := v.([]any)
	if !isList {
		f.errs.Add(name, `Expected a list of items but got type "`+pyTypeName(v)+`".`)
		return nil, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		switch it := it.(type) {
		case string:
			s = strings.TrimFunc(it, pyIsSpace)
		case json.Number:
			s = pyNumberString(it)
		default:
			f.errs.Add(name, "Not a valid string.")
			return nil, false
		}
		if s == "" {
			f.errs.Add(name, "This field may not be blank.")
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// drfDateTimeFormat is DateTimeField's message for a value it cannot read.
const drfDateTimeFormat = "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."

// datetime reads a DateTimeField: ISO 8601 with a time (Django's
// parse_datetime); one without an offset is in zone. It answers RFC 3339,
// as GraphQL's Time takes it.
func (f *form) datetime(name string, required bool, zone *time.Location) (string, bool) {
	v, ok := f.given(name, required)
	if !ok {
		return "", false
	}
	s, isText := v.(string)
	if !isText || !strings.ContainsAny(strings.TrimSpace(s), "T ") {
		f.errs.Add(name, drfDateTimeFormat)
		return "", false
	}
	t, err := djangoTime(s, zone)
	if err != nil {
		f.errs.Add(name, drfDateTimeFormat)
		return "", false
	}
	return t, true
}

// given is a field's value when the body gives it and it is not null; a
// missing required field and a null are the field's errors.
func (f *form) given(name string, required bool) (any, bool) {
	v, ok := f.data[name]
	switch {
	case !ok:
		if required {
			f.errs.Add(name, drfRequired)
		}
		return nil, false
	case v == nil:
		f.errs.Add(name, "This field may not be null.")
		return nil, false
	}
	return v, true
}
