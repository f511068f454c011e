package scalar

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalInt writes a GraphQL Int.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads a GraphQL Int: a signed 32-bit integer, as the
// specification defines it, into a Go int. A larger number, a fraction or
// a string of digits is an input error; gqlgen's own Int takes all three.
func UnmarshalInt(v any) (int, error) {
	var n int64
	switch v := v.(type) {
	case int:
		n = int64(v)
	case int32:
		n = int64(v)
	case int64:
		n = v
	case json.Number:
		parsed, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("Int cannot represent non-integer value: %s", v)
		}
		n = parsed
	default:
		return 0, fmt.Errorf("Int cannot represent a %T value", v)
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("Int cannot represent non 32-bit signed integer value: %d", n)
	}
	return int(n), nil
}
