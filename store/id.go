package store

import (
	"fmt"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// ID is the integer id of a stored entity (user 66, role 7), as every legacy
// API and the GraphQL schema show it.
//
// In the store it is written as a fixed-width decimal string
// ("00000000000000000066"), whose string order is its numeric order, so
// sorting and ranging on _id work alike on both engines. (The form dates
// from an earlier embedded store that looked up string ids only; existing
// MongoDB databases hold it, so it stays.)
type ID int64

// idWidth covers every positive int64.
const idWidth = 20

// String returns the id in decimal, as clients see it.
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// key is the stored form of the id.
func (id ID) key() string { return fmt.Sprintf("%0*d", idWidth, int64(id)) }

// MarshalBSONValue writes the id as its stored string form.
func (id ID) MarshalBSONValue() (byte, []byte, error) {
	typ, data, err := bson.MarshalValue(id.key())
	return byte(typ), data, err
}

// UnmarshalBSONValue reads the stored string form back.
func (id *ID) UnmarshalBSONValue(typ byte, data []byte) error {
	var s string
	if err := bson.UnmarshalValue(bson.Type(typ), data, &s); err != nil {
		return fmt.Errorf("decode id: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimLeft(s, "0"), 10, 64)
	if err != nil && s != strings.Repeat("0", len(s)) {
		return fmt.Errorf("decode id %q: %w", s, err)
	}
	*id = ID(n)
	return nil
}

// ParseID reads a client-supplied id: a positive decimal integer. Anything
// else (empty, signs, letters, more than int64 holds) is ErrInvalidID, so
// callers answer "not found" or "invalid" rather than failing in the store.
func ParseID(s string) (ID, error) {
	if s == "" || len(s) > 19 {
		return 0, ErrInvalidID
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, ErrInvalidID
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, ErrInvalidID
	}
	return ID(n), nil
}

// IDs converts a list of ids to the values a $in filter takes.
func idKeys(ids []ID) []string {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = id.key()
	}
	return keys
}
