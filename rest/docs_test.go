package rest_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/rest"
)

var docRow = regexp.MustCompile("^\\| `([A-Z]+)` \\| `([^`]+)` \\| ((?:`\\w+`(?:, )?)+) \\|")

// TestDocsListEveryRoute fails when docs/rest.md and the route tables
// disagree: every route (default mounts) has a row under its dialect's
// heading naming its operations in order, and every row is a route.
func TestDocsListEveryRoute(t *testing.T) {
	text, err := os.ReadFile("../docs/rest.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	dialect := ""
	for _, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(line, "## ") {
			dialect = strings.Fields(line)[1]
			continue
		}
		m := docRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ops := strings.ReplaceAll(strings.ReplaceAll(m[3], "`", ""), " ", "")
		documented[dialect+" "+m[1]+" "+m[2]+" "+ops] = true
	}
	mounts, err := rest.ParseMounts("", "")
	if err != nil {
		t.Fatal(err)
	}
	api := rest.New(rest.Config{Mounts: mounts})
	var inCode []string
	for _, r := range api.Routes() {
		key := r.Dialect + " " + r.Method + " " + r.Path + " " + strings.Join(r.Operations, ",")
		inCode = append(inCode, key)
		if !documented[key] {
			t.Errorf("docs/rest.md has no row for %s", key)
		}
	}
	for key := range documented {
		if !slices.Contains(inCode, key) {
			t.Errorf("docs/rest.md lists %s, which no route table has", key)
		}
	}
}
