package graph_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/graph"
)

// Every error code the gateway sends is one of graph's Code constants,
// listed in graph.Codes, and the README's table names each: a client
// author reads one table and knows every code there is.
func TestEveryErrorCodeIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range graph.Codes {
		if !strings.Contains(string(readme), "| `"+code+"` |") {
			t.Errorf("the README's error table lacks %s", code)
		}
	}

	// Each Code constant is in Codes.
	source, err := os.ReadFile("errors.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := regexp.MustCompile(`(?m)^\t(Code\w+)\s+=`).FindAllStringSubmatch(string(source), -1)
	codes := string(regexp.MustCompile(`(?s)var Codes = \[\]string\{(.*?)\n\}`).Find(source))
	if len(declared) < len(graph.Codes) {
		t.Fatalf("found %d Code constants for %d codes", len(declared), len(graph.Codes))
	}
	for _, d := range declared {
		if !regexp.MustCompile(`\b` + d[1] + `\b`).MatchString(codes) {
			t.Errorf("%s is not in graph.Codes", d[1])
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(graph.Codes)))) != len(graph.Codes) {
		t.Error("graph.Codes lists a code twice")
	}

	// No code is spelled out anywhere else: every one goes through a constant.
	literal := regexp.MustCompile(`"code":\s*"[A-Z_]+"|(?:writeGraphQLError|codedErrors)\([^)]*"[A-Z][A-Z_]+"\)`)
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "generated.go") {
			return err
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range literal.FindAllString(string(text), -1) {
			t.Errorf("%s spells a code out: %s", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
