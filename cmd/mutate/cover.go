package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// coverage is the set of source ranges that a target's tests ran at least
// once, by file path relative to the module root. A mutant outside every
// range cannot be noticed by those tests: it is reported as not covered
// without a run.
type coverage map[string][]span

type span struct{ fromLine, fromCol, toLine, toCol int }

func (s span) holds(line, col int) bool {
	if line < s.fromLine || line > s.toLine {
		return false
	}
	if line == s.fromLine && col < s.fromCol {
		return false
	}
	if line == s.toLine && col > s.toCol {
		return false
	}
	return true
}

func (c coverage) covers(file string, line, col int) bool {
	for _, s := range c[file] {
		if s.holds(line, col) {
			return true
		}
	}
	return false
}

// readCoverage reads a profile written by go test -coverprofile, whose
// lines are "module/path/file.go:L.C,L.C statements count", keeping the
// ranges that ran.
func readCoverage(path, module string) (coverage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := coverage{}
	scan := bufio.NewScanner(f)
	for scan.Scan() {
		line := scan.Text()
		if strings.HasPrefix(line, "mode:") || line == "" {
			continue
		}
		name, rest, ok := strings.Cut(line, ":")
		fields := strings.Fields(rest)
		if !ok || len(fields) != 3 {
			return nil, fmt.Errorf("coverage profile: unexpected line %q", line)
		}
		if fields[2] == "0" {
			continue
		}
		var s span
		if _, err := fmt.Sscanf(fields[0], "%d.%d,%d.%d", &s.fromLine, &s.fromCol, &s.toLine, &s.toCol); err != nil {
			return nil, fmt.Errorf("coverage profile: %q: %w", line, err)
		}
		file := strings.TrimPrefix(name, module+"/")
		c[file] = append(c[file], s)
	}
	return c, scan.Err()
}

// modulePath reads the module's path from go.mod in the current directory.
func modulePath() (string, error) {
	b, err := os.ReadFile("go.mod")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "module "); ok {
			if p, err := strconv.Unquote(strings.TrimSpace(rest)); err == nil {
				return p, nil
			}
			return strings.TrimSpace(rest), nil
		}
	}
	return "", fmt.Errorf("go.mod names no module")
}
