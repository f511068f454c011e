package sqlite

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// Documents are kept as JSON (stored as SQLite's JSONB), translated from
// and to BSON at the edge of the engine. The translation keeps what the
// store's documents hold: strings, booleans, null, documents, arrays,
// integers, doubles, and dates, which become integer milliseconds since
// 1970 (as BSON keeps them) so that SQL compares and sorts them as numbers.
// A date read back is an Int64, which the driver's decoder takes into a
// time.Time as milliseconds. Other BSON types are refused.

// toJSON renders one BSON document as JSON text.
func toJSON(doc bson.Raw) ([]byte, error) {
	return appendDocument(make([]byte, 0, len(doc)+len(doc)/4), bsoncore.Document(doc), false)
}

func appendDocument(dst []byte, doc bsoncore.Document, array bool) ([]byte, error) {
	elems, err := doc.Elements()
	if err != nil {
		return nil, fmt.Errorf("read document: %w", err)
	}
	open, shut := byte('{'), byte('}')
	if array {
		open, shut = '[', ']'
	}
	dst = append(dst, open)
	for i, e := range elems {
		if i > 0 {
			dst = append(dst, ',')
		}
		if !array {
			dst = appendString(dst, e.Key())
			dst = append(dst, ':')
		}
		if dst, err = appendValue(dst, e.Value()); err != nil {
			return nil, fmt.Errorf("field %q: %w", e.Key(), err)
		}
	}
	return append(dst, shut), nil
}

func appendValue(dst []byte, v bsoncore.Value) ([]byte, error) {
	switch v.Type {
	case bsoncore.TypeString:
		return appendString(dst, v.StringValue()), nil
	case bsoncore.TypeInt32:
		return strconv.AppendInt(dst, int64(v.Int32()), 10), nil
	case bsoncore.TypeInt64:
		return strconv.AppendInt(dst, v.Int64(), 10), nil
	case bsoncore.TypeDateTime:
		return strconv.AppendInt(dst, v.DateTime(), 10), nil
	case bsoncore.TypeDouble:
		return appendDouble(dst, v.Double())
	case bsoncore.TypeBoolean:
		return strconv.AppendBool(dst, v.Boolean()), nil
	case bsoncore.TypeNull, bsoncore.TypeUndefined:
		return append(dst, "null"...), nil
	case bsoncore.TypeEmbeddedDocument:
		return appendDocument(dst, v.Document(), false)
	case bsoncore.TypeArray:
		return appendDocument(dst, bsoncore.Document(v.Array()), true)
	}
	return nil, docdb.Unsupported("BSON type %s", v.Type)
}

// appendDouble writes a double so that it reads back as one: with a point
// or an exponent.
func appendDouble(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, docdb.Unsupported("double %v", f)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst, nil
		}
	}
	return append(dst, ".0"...), nil
}

const hexDigits = "0123456789abcdef"

func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// projection keeps or drops top-level fields of documents read back.
type projection struct {
	fields  map[string]bool
	include bool
}

// newProjection reads a projection as MongoDB does: it includes the
// fields set to 1, or excludes those set to 0 (never both, but for _id,
// which is kept unless excluded by name).
func newProjection(p bson.D) (*projection, error) {
	if len(p) == 0 {
		return nil, nil
	}
	pr := &projection{fields: map[string]bool{}}
	modes := map[bool]bool{}
	for _, e := range p {
		var on bool
		switch v := e.Value.(type) {
		case int:
			on = v != 0
		case int32:
			on = v != 0
		case int64:
			on = v != 0
		case bool:
			on = v
		default:
			return nil, docdb.Unsupported("projection value %v", e.Value)
		}
		pr.fields[e.Key] = on
		if e.Key != "_id" {
			modes[on] = true
		}
	}
	if len(modes) > 1 {
		return nil, docdb.Unsupported("a projection that both includes and excludes fields")
	}
	pr.include = modes[true] || (len(modes) == 0 && pr.fields["_id"])
	return pr, nil
}

func (p *projection) keeps(key string) bool {
	if p == nil {
		return true
	}
	if key == "_id" {
		on, named := p.fields["_id"]
		return !named || on
	}
	if p.include {
		return p.fields[key]
	}
	_, dropped := p.fields[key]
	return !dropped
}

// fromJSON turns JSON text, as SQLite's json() renders it, into a BSON
// document, keeping the top-level fields p keeps.
func fromJSON(text []byte, p *projection) (bson.Raw, error) {
	d := jsonDecoder{s: text}
	d.skipSpace()
	if d.peek() != '{' {
		return nil, fmt.Errorf("stored document is not a JSON object")
	}
	out, err := d.document(make([]byte, 0, len(text)+len(text)/2), p)
	if err != nil {
		return nil, err
	}
	return bson.Raw(out), nil
}

type jsonDecoder struct {
	s []byte
	i int
}

func (d *jsonDecoder) peek() byte {
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

func (d *jsonDecoder) skipSpace() {
	for d.i < len(d.s) && (d.s[d.i] == ' ' || d.s[d.i] == '\n' || d.s[d.i] == '\t' || d.s[d.i] == '\r') {
		d.i++
	}
}

func (d *jsonDecoder) fail(what string) error {
	return fmt.Errorf("stored document: %s at byte %d", what, d.i)
}

func (d *jsonDecoder) expect(c byte) error {
	d.skipSpace()
	if d.peek() != c {
		return d.fail("expected " + string(c))
	}
	d.i++
	return nil
}

// document reads an object into dst, keeping the top-level fields p keeps.
func (d *jsonDecoder) document(dst []byte, p *projection) ([]byte, error) {
	return d.container(dst, p, false)
}

func (d *jsonDecoder) container(dst []byte, p *projection, array bool) ([]byte, error) {
	open, shut := byte('{'), byte('}')
	if array {
		open, shut = '[', ']'
	}
	if err := d.expect(open); err != nil {
		return nil, err
	}
	idx, dst := bsoncore.ReserveLength(dst)
	for n := 0; ; n++ {
		d.skipSpace()
		if d.peek() == shut {
			d.i++
			break
		}
		if n > 0 {
			if err := d.expect(','); err != nil {
				return nil, err
			}
			d.skipSpace()
		}
		key := strconv.Itoa(n)
		if !array {
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			if err := d.expect(':'); err != nil {
				return nil, err
			}
			key = k
		}
		var err error
		if p != nil && !p.keeps(key) {
			err = d.skipValue()
		} else {
			dst, err = d.value(dst, key)
		}
		if err != nil {
			return nil, err
		}
	}
	dst = append(dst, 0)
	return bsoncore.UpdateLength(dst, idx, int32(len(dst)-int(idx))), nil
}

func (d *jsonDecoder) value(dst []byte, key string) ([]byte, error) {
	d.skipSpace()
	switch c := d.peek(); {
	case c == '{':
		return d.container(bsoncore.AppendHeader(dst, bsoncore.TypeEmbeddedDocument, key), nil, false)
	case c == '[':
		return d.container(bsoncore.AppendHeader(dst, bsoncore.TypeArray, key), nil, true)
	case c == '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return bsoncore.AppendStringElement(dst, key, s), nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if len(d.s)-d.i >= len(lit) && string(d.s[d.i:d.i+len(lit)]) == lit {
				d.i += len(lit)
				switch lit {
				case "true":
					return bsoncore.AppendBooleanElement(dst, key, true), nil
				case "false":
					return bsoncore.AppendBooleanElement(dst, key, false), nil
				}
				return bsoncore.AppendNullElement(dst, key), nil
			}
		}
		return nil, d.fail("unknown literal")
	case c == '-' || (c >= '0' && c <= '9'):
		start, float := d.i, false
		for d.i < len(d.s) {
			c := d.s[d.i]
			if c == '.' || c == 'e' || c == 'E' {
				float = true
			} else if !(c == '-' || c == '+' || (c >= '0' && c <= '9')) {
				break
			}
			d.i++
		}
		text := string(d.s[start:d.i])
		if !float {
			if n, err := strconv.ParseInt(text, 10, 64); err == nil {
				return bsoncore.AppendInt64Element(dst, key, n), nil
			}
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, d.fail("bad number")
		}
		return bsoncore.AppendDoubleElement(dst, key, f), nil
	}
	return nil, d.fail("unexpected character")
}

func (d *jsonDecoder) skipValue() error {
	_, err := d.value(nil, "")
	return err
}

// str reads a JSON string.
func (d *jsonDecoder) str() (string, error) {
	if d.peek() != '"' {
		return "", d.fail("expected a string")
	}
	d.i++
	start := d.i
	// The common case: no escapes.
	for d.i < len(d.s) && d.s[d.i] != '"' && d.s[d.i] != '\\' {
		d.i++
	}
	if d.i < len(d.s) && d.s[d.i] == '"' {
		s := string(d.s[start:d.i])
		d.i++
		return s, nil
	}
	buf := append([]byte(nil), d.s[start:d.i]...)
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(buf), nil
		case c == '\\':
			if d.i+1 >= len(d.s) {
				return "", d.fail("cut escape")
			}
			e := d.s[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, err := d.hex4()
				if err != nil {
					return "", err
				}
				if r >= 0xd800 && r < 0xdc00 && d.i+1 < len(d.s) && d.s[d.i] == '\\' && d.s[d.i+1] == 'u' {
					d.i += 2
					lo, err := d.hex4()
					if err != nil {
						return "", err
					}
					r = (r-0xd800)<<10 + (lo - 0xdc00) + 0x10000
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", d.fail("bad escape")
			}
		default:
			buf = append(buf, c)
			d.i++
		}
	}
	return "", d.fail("unterminated string")
}

func (d *jsonDecoder) hex4() (rune, error) {
	if d.i+4 > len(d.s) {
		return 0, d.fail("cut \\u escape")
	}
	n, err := strconv.ParseUint(string(d.s[d.i:d.i+4]), 16, 32)
	if err != nil {
		return 0, d.fail("bad \\u escape")
	}
	d.i += 4
	return rune(n), nil
}
