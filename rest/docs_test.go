package rest_test

import (
	"net/http"
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

// TestV1UsersNamesOnlyRead: 001 documents a user's username in the path of
// Get By Name only, so a username names a user to read, and the writes take
// the primary key; the README says so, and the routes do so.
func TestV1UsersNamesOnlyRead(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"`GET /{pk or username}`", "`PUT`, `PATCH` and `DELETE /{pk}`"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("the README's v1users row does not say %s", want)
		}
	}
	g := newGateway(t)
	if r := g.do("GET", "/v1/users/mike", "staff", ""); r.Status != http.StatusOK {
		t.Errorf("GET by name: %d %s", r.Status, r.Body)
	}
	for _, c := range []struct{ method, body string }{
		{"PUT", `{"username": "mike", "password": "pw-pw-pw-1", "first_name": "Changed"}`},
		{"PATCH", `{"first_name": "Changed"}`},
		{"DELETE", ""},
	} {
		if r := g.do(c.method, "/v1/users/mike", "staff", c.body); r.Status != http.StatusNotFound {
			t.Errorf("%s by name: %d %s", c.method, r.Status, r.Body)
		}
	}
	if r := g.do("PATCH", "/v1/users/8", "staff", `{"first_name": "Changed"}`); r.Status != http.StatusOK {
		t.Errorf("PATCH by pk: %d %s", r.Status, r.Body)
	}
}
