package directory

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Stores and the service wrap them with %w and detail.
var (
	// ErrNotFound: the addressed object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change collides with existing data (a unique key,
	// an object still in use).
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the actor may not make this change (R-ACC).
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: the database could not take the change just now (a
	// lock held by another writer); nothing was written and the same
	// request may succeed when tried again.
	ErrUnavailable = errors.New("temporarily unavailable")
)

// FieldError names one wrong field of an input and says why.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// ValidationError lists every wrong field of one input. It is what the API
// turns into a 422 problem document and what apply and the CLI print.
type ValidationError struct {
	Object string // "user", "number", "lead", "rule", "settings", "token"
	Fields []FieldError
	// Conflict marks fields that are wrong because of other data (a number
	// that exists already): errors.Is(err, ErrConflict) is then true.
	Conflict bool
}

// Is makes a conflicting ValidationError match ErrConflict.
func (e *ValidationError) Is(target error) bool { return e.Conflict && target == ErrConflict }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Detail
	}
	return fmt.Sprintf("invalid %s: %s", e.Object, strings.Join(parts, "; "))
}

// add records a wrong field.
func (e *ValidationError) add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// err returns nil when no field was wrong, so callers can `return v.err()`.
func (e *ValidationError) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// conflictf wraps ErrConflict with a message a manager can act on.
func conflictf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, args...))
}

// notFoundf wraps ErrNotFound.
func notFoundf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotFound, fmt.Sprintf(format, args...))
}

// ErrUnauthenticated: no valid credential came with the request.
var ErrUnauthenticated = errors.New("unauthenticated")

// forbiddenf wraps ErrForbidden.
func forbiddenf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrForbidden, fmt.Sprintf(format, args...))
}
