package store

import (
	"errors"

	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/fault"
)

var (
	// ErrNotFound is returned when the requested document does not exist.
	ErrNotFound error = fault.New(fault.NotFound, "Not found.")
	// ErrInvalidID is returned by ParseID for anything but a positive integer.
	ErrInvalidID = errors.New("invalid id")
	// ErrUnavailable wraps failures to reach the store (network, timeouts,
	// another process holding the database file too long), which clients
	// see as "service unavailable" and may retry.
	ErrUnavailable = docdb.ErrUnavailable
)

// isDuplicateKey tells a unique-index violation, on either engine.
func isDuplicateKey(err error) bool { return errors.Is(err, docdb.ErrDuplicate) }

// duplicateIndex names the unique index a write collided with, where the
// engine tells.
func duplicateIndex(err error) string {
	var dup *docdb.DuplicateKeyError
	if errors.As(err, &dup) {
		return dup.Index
	}
	return ""
}
