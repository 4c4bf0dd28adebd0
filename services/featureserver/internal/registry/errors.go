package registry

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalidSpec is wrapped by every error the loader returns for a spec that does not
// validate. Check it with errors.Is.
var ErrInvalidSpec = errors.New("invalid spec")

// SpecError is one problem in one spec file, located by file, line and field path.
type SpecError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e SpecError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field == "" {
		return loc + ": " + e.Msg
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
}

// ErrorList collects every problem found while loading specs, so a user fixes them
// all in one pass rather than one per run.
type ErrorList []SpecError

func (l *ErrorList) add(file string, line int, field, format string, args ...any) {
	*l = append(*l, SpecError{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (l ErrorList) Error() string {
	sorted := append(ErrorList(nil), l...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].File != sorted[j].File {
			return sorted[i].File < sorted[j].File
		}
		return sorted[i].Line < sorted[j].Line
	})
	lines := make([]string, len(sorted))
	for i, e := range sorted {
		lines[i] = e.Error()
	}
	noun := "problems"
	if len(l) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("%d spec %s:\n  %s", len(l), noun, strings.Join(lines, "\n  "))
}

// Is makes errors.Is(err, ErrInvalidSpec) true for every ErrorList.
func (l ErrorList) Is(target error) bool { return target == ErrInvalidSpec }

func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
