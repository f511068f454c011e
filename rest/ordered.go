package rest

import (
	"bytes"
	"encoding/json"
)

// object is a JSON object whose keys keep the order they were added in.
// DRF writes a serializer's fields in declaration order, and golden files
// and people read bodies more easily when the gateway does the same.
type object []member

type member struct {
	key   string
	value any
}

// set appends a key (callers add each key once).
func (o object) set(key string, value any) object {
	return append(o, member{key, value})
}

// MarshalJSON implements json.Marshaler.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := marshalNoEscape(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalNoEscape encodes like json.Marshal but leaves <, > and & as they
// are, as Python's json module does.
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}
