package main

import (
	"go/parser"
	"go/token"
	"slices"
	"testing"
)

const sample = `package p

import "log/slog"

func f(a, b int, ok bool, flush func(), log *slog.Logger) int {
	if ok {
		flush()
	}
	log.Info("kept: a log line is not mutated")
	if a < b && !ok {
		return a + b
	}
	switch {
	case a > 2:
		return 2
	}
	return "x" + "y"
}

const twice = 2 * 3
`

func TestMutantsOfEachOperator(t *testing.T) {
	ms, err := mutants("p.go", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.String())
		// Every mutant is a whole file that still parses.
		if _, err := parser.ParseFile(token.NewFileSet(), m.File, m.Source, 0); err != nil {
			t.Errorf("%s: does not parse: %v", m, err)
		}
	}
	want := []string{
		"p.go:6:5 not: if ok → if !ok",
		"p.go:7:3 drop-call: flush() → (removed)",
		"p.go:10:11 logical: && → ||",
		"p.go:10:7 boundary: < → <=",
		"p.go:10:7 negation: < → >=",
		"p.go:11:12 arithmetic: + → -",
		"p.go:14:9 boundary: > → >=",
		"p.go:14:9 negation: > → <=",
		"p.go:20:17 arithmetic: * → /",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("mutants:\n got %q\nwant %q", got, want)
	}
}

func TestCaseExpressionsAndConstantsAreAskedAboutElsewhere(t *testing.T) {
	ms, err := mutants("p.go", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		switch {
		case m.Line == 14: // a case's expression: asked through its switch
			if m.AtLine != 13 || m.AtCol != 2 || m.Package {
				t.Errorf("%s: asked at %d:%d (package %v), want its switch at 13:2", m, m.AtLine, m.AtCol, m.Package)
			}
		case m.Line == 20: // a constant: every test of the package
			if !m.Package {
				t.Errorf("%s: not reached by the package's tests", m)
			}
		default:
			if m.AtLine != m.Line || m.AtCol != m.Col || m.Package {
				t.Errorf("%s: asked at %d:%d (package %v)", m, m.AtLine, m.AtCol, m.Package)
			}
		}
	}
}

func TestCoverageHoldsAPositionInsideARange(t *testing.T) {
	c := coverage{"a.go": {{fromLine: 3, fromCol: 10, toLine: 5, toCol: 2}}}
	for _, tc := range []struct {
		line, col int
		want      bool
	}{{3, 9, false}, {3, 10, true}, {4, 1, true}, {5, 2, true}, {5, 3, false}, {6, 1, false}} {
		if got := c.covers("a.go", tc.line, tc.col); got != tc.want {
			t.Errorf("covers(%d:%d) = %v, want %v", tc.line, tc.col, got, tc.want)
		}
	}
}
