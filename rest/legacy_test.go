package rest_test

import (
	"strings"
	"testing"
)

// Every user reads a person id, however it was created: signed up,
// created by staff over GraphQL, or created by a Django dialect; and no
// client can choose or change it.
func TestEveryUserHasAPerson(t *testing.T) {
	g := newGateway(t)
	created := g.graphql(`mutation { createUser(input: {username: "gqlmade", email: "gqlmade@example.com"}) { person } }`, nil, "admin")
	signedUp := g.graphql(`mutation { signUp(input: {username: "gqlsigned", password: "Pass-word-1!"}) { user { person } } }`, nil, "")
	first, second := dig(t, created, "data", "createUser", "person"), dig(t, signedUp, "data", "signUp", "user", "person")
	if first != float64(67) || second != float64(68) {
		t.Errorf("persons over GraphQL: %v and %v, want 67 and 68 (after the fixture's 66)", first, second)
	}
	r := g.do("POST", "/api/users/", "admin", `{"username": "drfmade", "email": "drfmade@example.com", "person": 5}`)
	if got := r.object(t)["person"]; got != nil {
		t.Errorf("004 answers a person it does not document: %v", got)
	}
	if p := dig(t, g.graphql(`{ users(filter: {username: {exact: "drfmade"}}) { nodes { person } } }`, nil, "admin"), "data", "users", "nodes", "0", "person"); p != float64(69) {
		t.Errorf("004's user: person %v, want the counter's 69, not the body's", p)
	}
	refused := g.graphql(`mutation { updateUser(id: 3, input: {person: 1}) { person } }`, nil, "admin")
	if errs, _ := refused["errors"].([]any); len(errs) == 0 || !strings.Contains(errs[0].(map[string]any)["message"].(string), "person") {
		t.Errorf("a person id was writable: %v", refused)
	}
}

// dig walks a decoded JSON answer by object keys and list indexes.
func dig(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, key := range path {
		switch node := v.(type) {
		case map[string]any:
			v = node[key]
		case []any:
			i := 0
			for _, c := range key {
				i = i*10 + int(c-'0')
			}
			if i >= len(node) {
				t.Fatalf("no item %s in %v", key, node)
			}
			v = node[i]
		default:
			t.Fatalf("no %q in %v", key, v)
		}
	}
	return v
}
