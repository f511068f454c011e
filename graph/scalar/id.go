// Package scalar binds GraphQL scalars to Gatehouse's Go types.
package scalar

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gatehouse/gatehouse/store"
)

// MarshalID writes an id as GraphQL's ID: a string of decimal digits.
func MarshalID(id store.ID) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(id.String()))
	})
}

// UnmarshalID reads an ID given as a string ("66") or an integer (66).
// Anything else is an input error, never a store lookup.
func UnmarshalID(v any) (store.ID, error) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case json.Number:
		s = v.String()
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	default:
		return 0, fmt.Errorf("an ID is a positive integer, not %T", v)
	}
	id, err := store.ParseID(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a valid ID: an ID is a positive integer", s)
	}
	return id, nil
}
