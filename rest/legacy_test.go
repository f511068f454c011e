package rest_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/graph"
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

var limitRow = regexp.MustCompile("^\\| `(\\w+)\\.(\\w+)` \\| [^|]+ \\| (\\d+) \\|$")

// TestEveryTextFieldHasItsDocumentedMaximum reads the field limits table of
// docs/rest.md and, for each row, checks that the schema's description of
// the field states the same maximum and that one character more is refused
// with DRF's message, through GraphQL (which every dialect runs).
func TestEveryTextFieldHasItsDocumentedMaximum(t *testing.T) {
	doc, err := os.ReadFile("../docs/rest.md")
	if err != nil {
		t.Fatal(err)
	}
	// The schema the gateway serves, every file of it, as generated from them.
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	// Each probe writes the field with a value of n characters, of the
	// field's own format (so that only the length is wrong).
	user := func(field string) func(string) (string, map[string]any) {
		return func(v string) (string, map[string]any) {
			input := map[string]any{"username": "probe", "email": "probe@example.com", field: v}
			return `mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`, map[string]any{"in": input}
		}
	}
	create := func(mutation, inputType string, input map[string]any, field string) func(string) (string, map[string]any) {
		return func(v string) (string, map[string]any) {
			in := maps.Clone(input)
			in[field] = v
			return `mutation($in: ` + inputType + `!) { ` + mutation + `(input: $in) { id } }`, map[string]any{"in": in}
		}
	}
	client := map[string]any{"phoneNumber": "79160000000", "mobileOperatorCodeId": "1", "tagId": "1", "timezone": "UTC"}
	mailing := map[string]any{"text": "hi", "startNotificationDate": "2030-01-01T00:00:00Z", "endNotificationDate": "2030-01-02T00:00:00Z", "tags": []string{"x"}, "codes": []string{"916"}}
	probes := map[string]struct {
		value func(n int) string
		send  func(v string) (string, map[string]any)
	}{
		"User.username":        {letters('u'), user("username")},
		"User.firstName":       {letters('f'), user("firstName")},
		"User.lastName":        {letters('l'), user("lastName")},
		"User.uname":           {letters('n'), user("uname")},
		"User.email":           {func(n int) string { return strings.Repeat("e", n-len("@example.com")) + "@example.com" }, user("email")},
		"User.phoneNumber":     {letters('1'), user("phoneNumber")},
		"SignUpInput.password": {letters('p'), user("password")},
		"Role.name":            {letters('r'), create("createRole", "CreateRoleInput", map[string]any{"name": "probe"}, "name")},
		"Role.description":     {letters('d'), create("createRole", "CreateRoleInput", map[string]any{"name": "probe"}, "description")},
		"Permission.codename":  {letters('c'), create("createPermission", "CreatePermissionInput", map[string]any{"codename": "probe", "name": "Can probe", "resource": "user"}, "codename")},
		"Permission.name":      {letters('n'), create("createPermission", "CreatePermissionInput", map[string]any{"codename": "probe", "name": "Can probe", "resource": "user"}, "name")},
		"Permission.resource":  {letters('r'), create("createPermission", "CreatePermissionInput", map[string]any{"codename": "probe", "name": "Can probe", "resource": "user"}, "resource")},
		"Tag.name": {letters('t'), func(v string) (string, map[string]any) {
			return `mutation($v: String!) { createTag(name: $v) { id } }`, map[string]any{"v": v}
		}},
		"OperatorCode.code": {letters('9'), func(v string) (string, map[string]any) {
			return `mutation($v: String!) { createOperatorCode(code: $v) { id } }`, map[string]any{"v": v}
		}},
		"Client.phoneNumber": {letters('7'), create("createClient", "ClientInput", client, "phoneNumber")},
		"Client.timezone":    {letters('Z'), create("createClient", "ClientInput", client, "timezone")},
		"Mailing.text":       {letters('m'), create("createMailing", "MailingInput", mailing, "text")},
	}
	g := newGateway(t)
	rows := 0
	for _, line := range strings.Split(string(doc), "\n") {
		m := limitRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rows++
		typeName, fieldName, limit := m[1], m[2], m[3]
		n, _ := strconv.Atoi(limit)
		def := schema.Types[typeName]
		if def == nil || def.Fields.ForName(fieldName) == nil {
			t.Errorf("docs/rest.md limits %s.%s, which the schema lacks", typeName, fieldName)
			continue
		}
		described := strings.ReplaceAll(strings.ToLower(def.Fields.ForName(fieldName).Description), ",", "")
		if !strings.Contains(described, "at most "+limit+" ") && !strings.Contains(described, "at most "+limit+".") {
			t.Errorf("the schema's %s.%s does not say \"at most %s\": %q", typeName, fieldName, limit, described)
		}
		probe, ok := probes[typeName+"."+fieldName]
		if !ok {
			t.Errorf("no probe for %s.%s", typeName, fieldName)
			continue
		}
		query, vars := probe.send(probe.value(n + 1))
		answer, _ := json.Marshal(g.graphql(query, vars, "admin"))
		if want := fmt.Sprintf("Ensure this field has no more than %d characters.", n); !strings.Contains(string(answer), want) {
			t.Errorf("%s.%s with %d characters: want %q, got %s", typeName, fieldName, n+1, want, answer)
		}
	}
	if rows != len(probes) {
		t.Errorf("docs/rest.md's limits table has %d rows, the probes %d", rows, len(probes))
	}
}

func letters(c rune) func(n int) string {
	return func(n int) string { return strings.Repeat(string(c), n) }
}

var differenceTitle = regexp.MustCompile(`^- \*\*([^*]+?)\.?\*\*`)

// TestDeliberateDifferences checks the gateway's side of each deliberate
// difference docs/rest.md lists before and including "Setting a password":
// every such bullet needs a check here, named by its title, and every check
// a bullet.
func TestDeliberateDifferences(t *testing.T) {
	doc, err := os.ReadFile("../docs/rest.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "## Where the gateway differs from the legacy services, and why\n")
	var titles []string
	for _, line := range strings.Split(section, "\n") {
		if m := differenceTitle.FindStringSubmatch(line); m != nil {
			titles = append(titles, m[1])
			if m[1] == "Setting a password" {
				break
			}
		}
	}
	checks := map[string]func(t *testing.T, g *gateway){
		"Self-service": func(t *testing.T, g *gateway) {
			r := g.do("PUT", "/api/users/3", "alice", `{"first_name": "Al"}`)
			if r.Status != 200 || r.object(t)["first_name"] != "Al" {
				t.Errorf("own profile: %d %s", r.Status, r.Body)
			}
			for _, own := range []struct{ method, path, body string }{
				{"PATCH", "/api/users/3/", `{"is_active": false}`},
				{"PUT", "/api/users/3", `{"password": "N3w-pass-word!"}`},
				{"PUT", "/api/users/3/permissions", `{"permissions": [1]}`},
			} {
				if r := g.do(own.method, own.path, "alice", own.body); r.Status != 403 {
					t.Errorf("own privileges (%s %s %s): %d %s", own.method, own.path, own.body, r.Status, r.Body)
				}
			}
		},
		"Tokens stay revoked": func(t *testing.T, g *gateway) {
			g.do("PATCH", "/api/users/3/", "admin", `{"is_active": false}`)
			if r := g.do("GET", "/api/users/3", "alice", ""); r.Status != 401 || !strings.Contains(string(r.Body), "User inactive or deleted.") {
				t.Errorf("while inactive: %d %s", r.Status, r.Body)
			}
			g.do("PATCH", "/api/users/3/", "admin", `{"is_active": true}`)
			if r := g.do("GET", "/api/users/3", "alice", ""); r.Status != 401 || !strings.Contains(string(r.Body), "Invalid token.") {
				t.Errorf("active again: %d %s", r.Status, r.Body)
			}
			if r := g.do("POST", "/api/users/signin", "", `{"username": "alice", "password": "`+testPassword+`"}`); r.Status != 200 {
				t.Errorf("signing in anew: %d %s", r.Status, r.Body)
			}
		},
		"Bearer tokens": func(t *testing.T, g *gateway) {
			if r := g.do("GET", "/api/users/3/", "", "", "Authorization", "Bearer "+g.tokens["alice"]); r.Status != 200 {
				t.Errorf("Bearer: %d %s", r.Status, r.Body)
			}
			if r := g.do("GET", "/api/users/3/", "", "", "Authorization", "Bearer"); r.Status != 401 || !strings.Contains(string(r.Body), "No credentials provided.") {
				t.Errorf("a bare Bearer: %d %s", r.Status, r.Body)
			}
		},
		"Email uniqueness": func(t *testing.T, g *gateway) {
			for _, create := range []struct{ path, body string }{
				{"/api/users/", `{"username": "alice2", "email": "ALICE@example.com"}`},
				{"/api/users/signup", `{"username": "alice3", "password": "Pass-word-2!", "email": "Alice@Example.com"}`},
			} {
				r := g.do("POST", create.path, "admin", create.body)
				if r.Status != 400 || !strings.Contains(string(r.Body), `"email":["user with this email already exists."]`) {
					t.Errorf("POST %s %s: %d %s", create.path, create.body, r.Status, r.Body)
				}
			}
		},
		"Username uniqueness": func(t *testing.T, g *gateway) {
			for _, create := range []struct{ path, body string }{
				{"/api/users/", `{"username": "ALICE", "email": "alice2@example.com"}`},
				{"/api/users/signup", `{"username": "ａlice", "password": "Pass-word-2!", "email": "alice3@example.com"}`},
				{"/v1/users/create", `{"username": "Alice", "password": "Pass-word-2!"}`},
			} {
				r := g.do("POST", create.path, "admin", create.body)
				if r.Status != 400 || !strings.Contains(string(r.Body), `"username":["A user with that username already exists."]`) {
					t.Errorf("POST %s %s: %d %s", create.path, create.body, r.Status, r.Body)
				}
			}
			if r := g.do("PATCH", "/api/users/8/", "admin", `{"username": "aLiCe"}`); r.Status != 400 || !strings.Contains(string(r.Body), "already exists") {
				t.Errorf("a rename to alice in other letters: %d %s", r.Status, r.Body)
			}
			r := g.do("POST", "/api/users/signup", "", `{"username": "ｋａｔｅ", "password": "Pass-word-2!", "email": "kate@example.com"}`)
			if r.Status != 201 || r.object(t)["username"] != "kate" {
				t.Errorf("a fullwidth name signs up in NFKC form: %d %s", r.Status, r.Body)
			}
			roles := `mutation($n: String!) { createRole(input: {name: $n}) { name } }`
			if name := dig(t, g.graphql(roles, map[string]any{"n": " viewers "}, "admin"), "data", "createRole", "name"); name != "viewers" {
				t.Errorf("a role name with spaces around it: %v", name)
			}
			for _, taken := range []string{"Viewers", "viewers "} {
				answer, _ := json.Marshal(g.graphql(roles, map[string]any{"n": taken}, "admin"))
				if !strings.Contains(string(answer), "role with this name already exists.") {
					t.Errorf("role %q beside viewers: %s", taken, answer)
				}
			}
		},
		"Setting a password": func(t *testing.T, g *gateway) {
			if r := g.do("PUT", "/api/users/3", "admin", `{"password": "N3w-pass-word!"}`); r.Status != 200 {
				t.Fatalf("set: %d %s", r.Status, r.Body)
			}
			if r := g.do("GET", "/api/users/3", "alice", ""); r.Status != 401 || !strings.Contains(string(r.Body), "Invalid token.") {
				t.Errorf("the old token: %d %s", r.Status, r.Body)
			}
			if r := g.do("POST", "/api/users/signin", "", `{"username": "alice", "password": "N3w-pass-word!"}`); r.Status != 200 {
				t.Errorf("the new password: %d %s", r.Status, r.Body)
			}
		},
	}
	for _, title := range titles {
		t.Run(title, func(t *testing.T) {
			check, ok := checks[title]
			if !ok {
				t.Fatalf("docs/rest.md lists %q, which no check here covers", title)
			}
			check(t, newGateway(t))
		})
	}
	for title := range checks {
		if !slices.Contains(titles, title) {
			t.Errorf("a check for %q, which docs/rest.md no longer lists", title)
		}
	}
}
