package registry

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Callers test them with errors.Is.
var (
	// ErrNotFound: no server has that id.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a server with that id already exists.
	ErrConflict = errors.New("already exists")
	// ErrInvalid: the input does not parse or does not validate. Both *ParseError and
	// *ValidationError match it with errors.Is.
	ErrInvalid = errors.New("invalid configuration")
)

// ParseError is a JSON syntax error with its position in the input. Line and Column are
// 1-based; Column counts characters (runes), not bytes.
type ParseError struct {
	Line   int
	Column int
	Err    error // the underlying *json.SyntaxError
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.Err)
}

// Unwrap returns the underlying syntax error.
func (e *ParseError) Unwrap() error { return e.Err }

// Is reports ErrInvalid as a match.
func (e *ParseError) Is(target error) bool { return target == ErrInvalid }

// Problem is one broken rule: Field is a path such as "servers[2].restart.policy" (empty for
// the document itself), Rule says what is wrong ("must be never, on-failure or always").
type Problem struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Rule
	}
	return p.Field + ": " + p.Rule
}

// ValidationError lists every problem found in a definition, settings or a whole config:
// wrong types, unknown fields and broken rules.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// Is reports ErrInvalid as a match.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// problems collects Problems; err returns nil when there are none.
type problems []Problem

func (ps *problems) add(field, rule string) {
	*ps = append(*ps, Problem{Field: field, Rule: rule})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// joinPath appends a field name to a path ("" + "id" = "id", "servers[0]" + "id" = "servers[0].id").
func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}
