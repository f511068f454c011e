package rest_test

import (
	"net/http"
	"testing"
)

// TestSameRulesAsGraphQL sends a legacy request and the GraphQL request
// behind it, as the same caller, each to a gateway of its own (so one's
// writes cannot change the other's answer), and checks that they are
// allowed or denied alike: GraphQL's UNAUTHENTICATED is the dialect's 401,
// FORBIDDEN its 403.
func TestSameRulesAsGraphQL(t *testing.T) {
	cases := []struct {
		name               string
		as                 string
		method, path, body string
		query              string
		vars               map[string]any
	}{
		{"list, anonymous", "", "GET", "/api/users", "", `{ users(limit: 10) { nodes { id } } }`, nil},
		{"list with roles, signed in", "alice", "GET", "/api/users/", "", `{ users(limit: 10) { nodes { id roles { id } } } }`, nil},
		{"list with roles, staff", "staff", "GET", "/api/users/", "", `{ users(limit: 10) { nodes { id roles { id } } } }`, nil},
		{"list, signed in", "alice", "GET", "/api/users", "", `{ users(limit: 10) { nodes { id } } }`, nil},
		{"another's permissions, signed in", "alice", "GET", "/api/users/66/permissions", "", `{ user(id: 66) { permissions { id } } }`, nil},
		{"own permissions", "alice", "GET", "/api/users/3/permissions", "", `{ user(id: 3) { permissions { id } } }`, nil},
		{"read, anonymous", "", "GET", "/api/users/66", "", `{ user(id: 66) { id } }`, nil},
		{"update another, no right", "alice", "PUT", "/api/users/66", `{"first_name": "x"}`,
			`mutation { updateUser(id: 66, input: {firstName: "x"}) { id } }`, nil},
		{"update another, change_user", "editor", "PUT", "/api/users/66", `{"first_name": "x"}`,
			`mutation { updateUser(id: 66, input: {firstName: "x"}) { id } }`, nil},
		{"update oneself", "alice", "PATCH", "/api/users/3/", `{"first_name": "x"}`,
			`mutation { updateUser(id: 3, input: {firstName: "x"}) { id } }`, nil},
		{"own is_active", "alice", "PATCH", "/api/users/3/", `{"is_active": false}`,
			`mutation { updateUser(id: 3, input: {isActive: false}) { id } }`, nil},
		{"staff changes a superuser", "staff", "PUT", "/api/users/1/", `{"username": "admin", "email": "root@example.com"}`,
			`mutation { replaceUser(id: 1, input: {username: "admin", email: "root@example.com"}) { id } }`, nil},
		{"delete, change_user only", "editor", "DELETE", "/api/users/66/", "", `mutation { deleteUser(id: 66) }`, nil},
		{"delete, staff", "staff", "DELETE", "/api/users/66", "", `mutation { deleteUser(id: 66) }`, nil},
		{"create, no right", "alice", "POST", "/api/users/", `{"username": "n", "email": "n@example.com"}`,
			`mutation { createUser(input: {username: "n", email: "n@example.com"}) { id } }`, nil},
		{"create, anonymous", "", "POST", "/api/users/", `{"username": "n", "email": "n@example.com"}`,
			`mutation { createUser(input: {username: "n", email: "n@example.com"}) { id } }`, nil},
		{"grant, no right", "alice", "PUT", "/api/users/66/permissions", `{"permissions": [1]}`,
			`mutation { grantPermissions(userId: 66, permissionIds: [1]) { id } }`, nil},
		{"grant a permission one lacks", "editor", "PUT", "/api/users/66/permissions", `{"permissions": [1]}`,
			`mutation { grantPermissions(userId: 66, permissionIds: [1]) { id } }`, nil},
		{"grant to oneself", "staff", "PUT", "/api/users/2/permissions", `{"permissions": [1]}`,
			`mutation { grantPermissions(userId: 2, permissionIds: [1]) { id } }`, nil},
		{"set a password, no right", "alice", "PUT", "/api/users/66", `{"password": "n3w-pass-word"}`,
			`mutation { setPassword(id: 66, password: "n3w-pass-word") }`, nil},
		{"deactivate, staff", "staff", "DELETE", "/v1/users/66", "", `mutation { deactivateUser(id: 66) { id } }`, nil},
		{"jsonapi: list, anonymous", "", "GET", "/users", "", `{ users(limit: 10) { nodes { id } } }`, nil},
		{"jsonapi: read, signed in", "alice", "GET", "/users/66", "", `{ user(id: 66) { id } }`, nil},
		{"jsonapi: create, no right", "alice", "POST", "/users", `{"data": {"type": "users", "attributes": {"username": "n", "password": "pw-pw-pw-1", "uname": "n"}}}`,
			`mutation { createUser(input: {username: "n", password: "pw-pw-pw-1", uname: "n"}) { id } }`, nil},
		{"jsonapi: create, staff", "staff", "POST", "/users", `{"data": {"type": "users", "attributes": {"username": "n", "password": "pw-pw-pw-1", "uname": "n"}}}`,
			`mutation { createUser(input: {username: "n", password: "pw-pw-pw-1", uname: "n"}) { id } }`, nil},
		{"jsonapi: update oneself", "alice", "PATCH", "/users/3", `{"data": {"type": "users", "id": "3", "attributes": {"name": "x"}}}`,
			`mutation { updateUser(id: 3, input: {firstName: "x"}) { id } }`, nil},
		{"jsonapi: update another, change_user", "editor", "PATCH", "/users/66", `{"data": {"type": "users", "id": 66, "attributes": {"uname": "x"}}}`,
			`mutation { updateUser(id: 66, input: {uname: "x"}) { id } }`, nil},
		{"jsonapi: delete, no right", "alice", "DELETE", "/users/66", "", `mutation { deleteUser(id: 66) }`, nil},
		{"jsonapi: unassign roles, oneself", "staff", "DELETE", "/users/2/relationships/roles", `{"data": []}`,
			`mutation { unassignRoles(userId: 2, roleIds: []) { id } }`, nil},
		{"sign up", "", "POST", "/api/users/signup", `{"username": "newbie", "password": "pw-pw-pw-1"}`,
			`mutation { signUp(input: {username: "newbie", password: "pw-pw-pw-1"}) { token } }`, nil},
		{"003 clients, anonymous", "", "GET", "/api/v1/clients/", "", `{ clients { totalCount } }`, nil},
		{"003 clients, signed in", "alice", "GET", "/api/v1/clients/", "", `{ clients { totalCount } }`, nil},
		{"003 tag, no right", "alice", "POST", "/api/v1/tags/", `{"name": "x"}`, `mutation { createTag(name: "x") { id } }`, nil},
		{"003 tag, staff", "staff", "POST", "/api/v1/tags/", `{"name": "x"}`, `mutation { createTag(name: "x") { id } }`, nil},
		{"003 tag, superuser", "admin", "POST", "/api/v1/tags/", `{"name": "x"}`, `mutation { createTag(name: "x") { id } }`, nil},
		{"003 statistic", "alice", "GET", "/api/v1/statistic/", "", `{ mailingsStats { total } }`, nil},
		{"003 user, staff", "staff", "POST", "/api/v1/users/", `{"username": "n", "password": "pw-pw-pw-1"}`,
			`mutation { createUser(input: {username: "n", password: "pw-pw-pw-1"}) { id } }`, nil},
		{"003 change oneself", "alice", "PATCH", "/api/v1/users/alice/", `{"last_name": "L"}`,
			`mutation { updateUser(id: 3, input: {lastName: "L"}) { id } }`, nil},
		{"003 change another, no right", "alice", "PATCH", "/api/v1/users/mike/", `{"last_name": "L"}`,
			`mutation { updateUser(id: 8, input: {lastName: "L"}) { id } }`, nil},
		{"003 delete a user, editor", "editor", "DELETE", "/api/v1/users/mike/", "", `mutation { deleteUser(id: 8) }`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			viaGraphQL := newGateway(t).graphql(c.query, c.vars, c.as)
			want := http.StatusOK
			if errs, _ := viaGraphQL["errors"].([]any); len(errs) > 0 {
				ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
				switch ext["code"] {
				case "UNAUTHENTICATED":
					want = http.StatusUnauthorized
				case "FORBIDDEN":
					want = http.StatusForbidden
				default:
					t.Fatalf("GraphQL failed otherwise: %v", errs)
				}
			}
			r := newGateway(t).do(c.method, c.path, c.as, c.body)
			got := r.Status
			if got < 300 {
				got = http.StatusOK
			}
			if got != want {
				t.Errorf("REST %s %s answered %d (%s); GraphQL's answer means %d: %v", c.method, c.path, r.Status, r.Body, want, viaGraphQL)
			}
		})
	}
}

// statusCase is one request and the status it must answer.
type statusCase struct {
	as, method, path, body string
	want                   int
}

// checkStatuses sends each request to g and checks its status.
func checkStatuses(t *testing.T, g *gateway, cases []statusCase) {
	t.Helper()
	for _, c := range cases {
		if r := g.do(c.method, c.path, c.as, c.body); r.Status != c.want {
			t.Errorf("%q %s %s %s: %d %s, want %d", c.as, c.method, c.path, c.body, r.Status, r.Body, c.want)
		}
	}
}

// TestOpenPathsFollowTheSchema: a path whose routes call @public fields
// (sign-up, sign-in) is open, as DRF's AllowAny views were, so a method it
// lacks is 405 for anyone; on any other path the permission check comes
// first, so an anonymous caller gets 401 before the 405.
func TestOpenPathsFollowTheSchema(t *testing.T) {
	checkStatuses(t, newGateway(t), []statusCase{
		{"", "GET", "/api/users/signup", "", http.StatusMethodNotAllowed},
		{"", "DELETE", "/api/users/signin", "", http.StatusMethodNotAllowed},
		{"", "PATCH", "/api/users/66", "", http.StatusUnauthorized},
		{"", "POST", "/v1/users/66", "", http.StatusUnauthorized},
	})
}

// TestV1UsersStaffRule: v1users lets staff and superusers do anything and
// anyone else only read themself, by id or by username, before the method,
// the object or the body is looked at; the schema's @staff says so.
func TestV1UsersStaffRule(t *testing.T) {
	checkStatuses(t, newGateway(t), []statusCase{
		{"alice", "GET", "/v1/users/3", "", http.StatusOK},
		{"alice", "GET", "/v1/users/alice/", "", http.StatusOK},
		{"alice", "HEAD", "/v1/users/3", "", http.StatusOK},
		{"alice", "GET", "/v1/users/66", "", http.StatusForbidden},
		{"alice", "GET", "/v1/users/mike", "", http.StatusForbidden},
		{"alice", "GET", "/v1/users/999", "", http.StatusForbidden},
		{"alice", "POST", "/v1/users/list", "", http.StatusForbidden},
		{"alice", "POST", "/v1/users/list", "{", http.StatusForbidden},
		{"alice", "PATCH", "/v1/users/3", `{"first_name": "A"}`, http.StatusForbidden},
		{"alice", "PUT", "/v1/users/3", "{", http.StatusForbidden},
		{"alice", "DELETE", "/v1/users/alice", "", http.StatusForbidden},
		{"alice", "OPTIONS", "/v1/users/3", "", http.StatusForbidden},
		{"alice", "GET", "/v1/users/list", "", http.StatusForbidden},
		{"editor", "PATCH", "/v1/users/66", `{"first_name": "E"}`, http.StatusForbidden},
		{"", "GET", "/v1/users/3", "", http.StatusUnauthorized},
		{"", "PUT", "/v1/users/3", "{", http.StatusUnauthorized},
		{"", "OPTIONS", "/v1/users/list", "", http.StatusUnauthorized},
		{"staff", "GET", "/v1/users/999", "", http.StatusNotFound},
		{"staff", "DELETE", "/v1/users/alice", "", http.StatusNotFound},
		{"staff", "PUT", "/v1/users/66", "{", http.StatusBadRequest},
		{"staff", "GET", "/v1/users/list", "", http.StatusMethodNotAllowed},
		{"staff", "OPTIONS", "/v1/users/66", "", http.StatusOK},
		{"admin", "PATCH", "/v1/users/66/", `{"first_name": "A"}`, http.StatusOK},
	})
}
