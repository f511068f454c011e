package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/store/docdb"
)

var (
	// ErrNotFound is returned when the requested document does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidID is returned by ParseID for anything but a positive integer.
	ErrInvalidID = errors.New("invalid id")
	// ErrUnavailable wraps failures to reach the store (network, timeouts,
	// another process holding the database file too long), which clients
	// see as "service unavailable" and may retry.
	ErrUnavailable = docdb.ErrUnavailable
)

// ValidationError holds input errors keyed by field, each with the messages
// Django would give ("This field is required."), so every API can show them.
// The key "non_field_errors" holds errors that concern no single field.
type ValidationError struct {
	Fields map[string][]string
}

// NonFieldErrors is the key of errors that concern no single field.
const NonFieldErrors = "non_field_errors"

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %s", k, strings.Join(e.Fields[k], " ")))
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records a message for a field.
func (e *ValidationError) Add(field, message string) {
	if e.Fields == nil {
		e.Fields = map[string][]string{}
	}
	e.Fields[field] = append(e.Fields[field], message)
}

// Err returns the error when it holds any message, else nil.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// FieldError is a ValidationError about one field.
func FieldError(field, message string) *ValidationError {
	return &ValidationError{Fields: map[string][]string{field: {message}}}
}

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
