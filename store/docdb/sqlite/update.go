package sqlite

import (
	"bytes"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// Updates are applied in Go to the one document they change, inside the
// write transaction that read it, so each is atomic as on MongoDB. Both the
// document and the update go through the JSON form first, so their values
// compare alike (dates as milliseconds, numbers as int64 or float64).

// normalize turns a Go value with bson tags into a bson.D in stored form.
func normalize(v any) (bson.D, error) {
	raw, err := bson.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	text, err := toJSON(raw)
	if err != nil {
		return nil, err
	}
	return decodeJSON(text)
}

func decodeJSON(text []byte) (bson.D, error) {
	raw, err := fromJSON(text, nil)
	if err != nil {
		return nil, err
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("decode stored document: %w", err)
	}
	return d, nil
}

func encodeJSON(d bson.D) ([]byte, error) {
	raw, err := bson.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return toJSON(raw)
}

// update is a parsed update document.
type update struct {
	ops bson.D
}

func parseUpdate(u bson.D) (*update, error) {
	if len(u) == 0 {
		return nil, docdb.Unsupported("an empty update")
	}
	ops, err := normalize(u)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	for _, op := range ops {
		switch op.Key {
		case "$set", "$unset", "$inc", "$max", "$min", "$setOnInsert", "$addToSet", "$pull", "$pullAll":
		default:
			return nil, docdb.Unsupported("update operator %s", op.Key)
		}
		if _, ok := op.Value.(bson.D); !ok {
			return nil, docdb.Unsupported("%s takes a document", op.Key)
		}
	}
	return &update{ops: ops}, nil
}

// apply changes doc; inserting tells that the document is being upserted.
func (u *update) apply(doc bson.D, inserting bool) (bson.D, error) {
	var err error
	for _, op := range u.ops {
		for _, e := range op.Value.(bson.D) {
			if err := checkPath(e.Key); err != nil {
				return nil, err
			}
			if e.Key == "_id" && op.Key != "$setOnInsert" {
				return nil, docdb.Unsupported("changing _id")
			}
			switch op.Key {
			case "$set":
				doc = setPath(doc, e.Key, e.Value)
			case "$setOnInsert":
				if inserting {
					doc = setPath(doc, e.Key, e.Value)
				}
			case "$unset":
				doc = unsetPath(doc, e.Key)
			case "$inc":
				doc, err = inc(doc, e.Key, e.Value)
			case "$max", "$min":
				old, ok := getPath(doc, e.Key)
				c := compareValues(e.Value, old)
				if !ok || (op.Key == "$max" && c > 0) || (op.Key == "$min" && c < 0) {
					doc = setPath(doc, e.Key, e.Value)
				}
			case "$addToSet":
				doc, err = addToSet(doc, e.Key, e.Value)
			case "$pull", "$pullAll":
				doc, err = pull(doc, op.Key, e.Key, e.Value)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return doc, nil
}

func getPath(doc bson.D, path string) (any, bool) {
	head, rest, nested := strings.Cut(path, ".")
	for _, e := range doc {
		if e.Key != head {
			continue
		}
		if !nested {
			return e.Value, true
		}
		sub, ok := e.Value.(bson.D)
		if !ok {
			return nil, false
		}
		return getPath(sub, rest)
	}
	return nil, false
}

func setPath(doc bson.D, path string, v any) bson.D {
	head, rest, nested := strings.Cut(path, ".")
	for i, e := range doc {
		if e.Key != head {
			continue
		}
		if !nested {
			doc[i].Value = v
			return doc
		}
		sub, _ := e.Value.(bson.D)
		doc[i].Value = setPath(sub, rest, v)
		return doc
	}
	if !nested {
		return append(doc, bson.E{Key: head, Value: v})
	}
	return append(doc, bson.E{Key: head, Value: setPath(bson.D{}, rest, v)})
}

func unsetPath(doc bson.D, path string) bson.D {
	head, rest, nested := strings.Cut(path, ".")
	for i, e := range doc {
		if e.Key != head {
			continue
		}
		if !nested {
			return append(doc[:i:i], doc[i+1:]...)
		}
		if sub, ok := e.Value.(bson.D); ok {
			doc[i].Value = unsetPath(sub, rest)
		}
		return doc
	}
	return doc
}

func inc(doc bson.D, path string, by any) (bson.D, error) {
	old, ok := getPath(doc, path)
	if !ok || old == nil {
		return setPath(doc, path, by), nil
	}
	switch o := old.(type) {
	case int64:
		switch b := by.(type) {
		case int64:
			return setPath(doc, path, o+b), nil
		case float64:
			return setPath(doc, path, float64(o)+b), nil
		}
	case float64:
		switch b := by.(type) {
		case int64:
			return setPath(doc, path, o+float64(b)), nil
		case float64:
			return setPath(doc, path, o+b), nil
		}
	}
	return nil, fmt.Errorf("$inc on %s: not a number", path)
}

func addToSet(doc bson.D, path string, v any) (bson.D, error) {
	items := bson.A{v}
	if d, ok := v.(bson.D); ok && len(d) == 1 && d[0].Key == "$each" {
		each, ok := d[0].Value.(bson.A)
		if !ok {
			return nil, docdb.Unsupported("$each on %s takes an array", path)
		}
		items = each
	}
	old, _ := getPath(doc, path)
	arr, ok := old.(bson.A)
	if old != nil && !ok {
		return nil, fmt.Errorf("$addToSet on %s: not an array", path)
	}
	arr = append(bson.A{}, arr...)
	for _, item := range items {
		if !containsValue(arr, item) {
			arr = append(arr, item)
		}
	}
	return setPath(doc, path, arr), nil
}

func pull(doc bson.D, op, path string, v any) (bson.D, error) {
	var drop bson.A
	switch {
	case op == "$pullAll":
		list, ok := v.(bson.A)
		if !ok {
			return nil, docdb.Unsupported("$pullAll on %s takes an array", path)
		}
		drop = list
	default:
		if d, ok := v.(bson.D); ok {
			if len(d) != 1 || d[0].Key != "$in" {
				return nil, docdb.Unsupported("$pull condition on %s", path)
			}
			list, ok := d[0].Value.(bson.A)
			if !ok {
				return nil, docdb.Unsupported("$in in $pull on %s takes an array", path)
			}
			drop = list
		} else {
			drop = bson.A{v}
		}
	}
	old, _ := getPath(doc, path)
	arr, ok := old.(bson.A)
	if !ok {
		return doc, nil
	}
	kept := bson.A{}
	for _, item := range arr {
		if !containsValue(drop, item) {
			kept = append(kept, item)
		}
	}
	return setPath(doc, path, kept), nil
}

func containsValue(arr bson.A, v any) bool {
	for _, item := range arr {
		if compareValues(item, v) == 0 {
			return true
		}
	}
	return false
}

// compareValues orders two stored values: numbers, then strings, then
// anything else by its JSON text (enough for equality).
func compareValues(a, b any) int {
	na, aNum := number(a)
	nb, bNum := number(b)
	switch {
	case aNum && bNum:
		switch {
		case na < nb:
			return -1
		case na > nb:
			return 1
		}
		return 0
	case aNum:
		return -1
	case bNum:
		return 1
	}
	sa, aStr := a.(string)
	sb, bStr := b.(string)
	switch {
	case aStr && bStr:
		return strings.Compare(sa, sb)
	case aStr:
		return -1
	case bStr:
		return 1
	}
	ja, _ := bson.MarshalExtJSON(bson.D{{Key: "v", Value: a}}, true, false)
	jb, _ := bson.MarshalExtJSON(bson.D{{Key: "v", Value: b}}, true, false)
	return bytes.Compare(ja, jb)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// upsertDocument is the document an upsert starts from: the filter's
// top-level equalities.
func upsertDocument(filter bson.D) (bson.D, error) {
	doc := bson.D{}
	norm, err := normalize(filter)
	if err != nil {
		return nil, err
	}
	for _, e := range norm {
		if strings.HasPrefix(e.Key, "$") {
			continue
		}
		v := e.Value
		if d, ok := v.(bson.D); ok {
			if len(d) != 1 || d[0].Key != "$eq" {
				continue
			}
			v = d[0].Value
		}
		doc = setPath(doc, e.Key, v)
	}
	return doc, nil
}
