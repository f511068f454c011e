package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
)

// A mutant is one small change to one file: the kind of bug a reviewer
// could miss, which some test should notice.
type mutant struct {
	File     string // the file's path, as the target named it
	Line     int
	Col      int
	Operator string // which rule made it (see operators)
	// AtLine and AtCol are where coverage is asked whether a test ran the
	// mutant: its own position, except in a case's expression, which
	// coverage counts with its switch. Package is set for a mutant outside
	// every function (a constant): every test of its package reaches it.
	AtLine, AtCol int
	Package       bool
	From, To      string // what the change replaced, and with what
	Source        []byte // the whole file, changed
}

func (m mutant) String() string {
	return fmt.Sprintf("%s:%d:%d %s: %s → %s", m.File, m.Line, m.Col, m.Operator, m.From, m.To)
}

// The operators. Each makes a change that still compiles in most places
// and that a test of the rule around it should catch:
//
//   - boundary: < ↔ <=, > ↔ >= (off by one at a limit)
//   - negation: == ↔ !=, < ↔ >=, > ↔ <= (a check turned round)
//   - logical: && ↔ || (a rule that needed both asks for either)
//   - arithmetic: + ↔ -, * ↔ / (a price or a delay computed wrong)
//   - not: an if's condition negated when it is a plain value or call
//   - drop-call: a statement that is only a call removed (a write, a
//     flush, a header set), except log lines and panics
var binarySwaps = map[token.Token]struct {
	to       token.Token
	operator string
}{
	token.LSS:  {token.LEQ, "boundary"},
	token.LEQ:  {token.LSS, "boundary"},
	token.GTR:  {token.GEQ, "boundary"},
	token.GEQ:  {token.GTR, "boundary"},
	token.EQL:  {token.NEQ, "negation"},
	token.NEQ:  {token.EQL, "negation"},
	token.LAND: {token.LOR, "logical"},
	token.LOR:  {token.LAND, "logical"},
	token.ADD:  {token.SUB, "arithmetic"},
	token.SUB:  {token.ADD, "arithmetic"},
	token.MUL:  {token.QUO, "arithmetic"},
	token.QUO:  {token.MUL, "arithmetic"},
}

// negations turn an ordering round, beside the boundary swaps above.
var negations = map[token.Token]token.Token{
	token.LSS: token.GEQ,
	token.GTR: token.LEQ,
}

// mutants lists every mutant of one Go file's source. Each is made by
// changing the parsed tree in place, printing it, and changing it back, so
// the mutants do not depend on one another.
func mutants(path string, src []byte) ([]mutant, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var out []mutant
	var failed error
	// Case expressions lie between coverage's blocks: they are asked
	// about through their switch.
	type anchor struct{ from, to, at token.Pos }
	var anchors []anchor
	var funcs []ast.Node
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			funcs = append(funcs, n)
		case *ast.SwitchStmt:
			for _, c := range n.Body.List {
				for _, e := range c.(*ast.CaseClause).List {
					anchors = append(anchors, anchor{e.Pos(), e.End(), n.Pos()})
				}
			}
		}
		return true
	})
	emit := func(pos token.Pos, operator, from, to string, apply, undo func()) {
		if failed != nil {
			return
		}
		apply()
		var b bytes.Buffer
		err := printer.Fprint(&b, fset, file)
		undo()
		if err != nil {
			failed = err
			return
		}
		at := pos
		for _, a := range anchors {
			if a.from <= pos && pos < a.to {
				at = a.at
			}
		}
		inFunc := false
		for _, f := range funcs {
			inFunc = inFunc || (f.Pos() <= pos && pos < f.End())
		}
		p, q := fset.Position(pos), fset.Position(at)
		out = append(out, mutant{File: path, Line: p.Line, Col: p.Column, AtLine: q.Line, AtCol: q.Column, Package: !inFunc,
			Operator: operator, From: from, To: to, Source: b.Bytes()})
	}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if isStringLiteral(n.X) || isStringLiteral(n.Y) {
				return true // string concatenation: - would not compile
			}
			orig := n.Op
			swaps := []token.Token{}
			if s, ok := binarySwaps[orig]; ok {
				swaps = append(swaps, s.to)
			}
			if to, ok := negations[orig]; ok {
				swaps = append(swaps, to)
			}
			for _, to := range swaps {
				operator := binarySwaps[orig].operator
				if negations[orig] == to {
					operator = "negation"
				}
				emit(n.OpPos, operator, orig.String(), to.String(),
					func() { n.Op = to }, func() { n.Op = orig })
			}
		case *ast.IfStmt:
			if isPlainCondition(n.Cond) {
				cond := n.Cond
				emit(cond.Pos(), "not", "if "+exprString(fset, cond), "if !"+exprString(fset, cond),
					func() { n.Cond = &ast.UnaryExpr{Op: token.NOT, X: cond} }, func() { n.Cond = cond })
			}
			if u, ok := n.Cond.(*ast.UnaryExpr); ok && u.Op == token.NOT {
				cond := n.Cond
				emit(cond.Pos(), "not", "if "+exprString(fset, cond), "if "+exprString(fset, u.X),
					func() { n.Cond = u.X }, func() { n.Cond = cond })
			}
		case *ast.BlockStmt:
			for i, stmt := range n.List {
				call, ok := stmt.(*ast.ExprStmt)
				if !ok {
					continue
				}
				if _, ok := call.X.(*ast.CallExpr); !ok || isPanic(call.X) || isLog(call.X) {
					continue
				}
				list := n.List
				dropped := append(append([]ast.Stmt{}, list[:i]...), list[i+1:]...)
				emit(stmt.Pos(), "drop-call", exprString(fset, call.X), "(removed)",
					func() { n.List = dropped }, func() { n.List = list })
			}
		}
		return true
	})
	return out, failed
}

func isStringLiteral(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	return ok && lit.Kind == token.STRING
}

// isPlainCondition tells a condition that is a value or a call (ok,
// isStaff(u), p.allowed), which "not" may negate; comparisons are the
// binary operators' to change.
func isPlainCondition(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name != "true" && e.Name != "false"
	case *ast.SelectorExpr, *ast.CallExpr:
		return true
	}
	return false
}

// isPanic tells panic(…), which removing only hides a bug the program
// already reports.
func isPanic(e ast.Expr) bool {
	call := e.(*ast.CallExpr)
	id, ok := call.Fun.(*ast.Ident)
	return ok && id.Name == "panic"
}

// logMethods are slog's: a log line dropped changes what an operator
// reads, which tests of the gateway's rules are not meant to notice.
var logMethods = map[string]bool{
	"Debug": true, "Info": true, "Warn": true, "Error": true, "Log": true,
	"DebugContext": true, "InfoContext": true, "WarnContext": true, "ErrorContext": true, "LogAttrs": true,
}

func isLog(e ast.Expr) bool {
	sel, ok := e.(*ast.CallExpr).Fun.(*ast.SelectorExpr)
	return ok && logMethods[sel.Sel.Name]
}

func exprString(fset *token.FileSet, e ast.Node) string {
	var b bytes.Buffer
	if err := printer.Fprint(&b, fset, e); err != nil {
		return "?"
	}
	s := b.String()
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
