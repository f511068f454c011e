package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store"
)

// member makes an active user with the given flags and direct permissions
// and answers their id and a token.
func (g *testGateway) member(t testing.TB, username string, staff bool, perms ...store.ID) (store.ID, string) {
	t.Helper()
	ctx := context.Background()
	u, err := g.store.CreateUser(ctx, store.NewUser{Username: username, IsActive: true, IsStaff: staff, PasswordHash: auth.UnusablePassword()})
	if err != nil {
		t.Fatal(err)
	}
	if len(perms) > 0 {
		if _, err := g.store.ChangeUserPermissions(ctx, u.ID, store.SetAdd, perms); err != nil {
			t.Fatal(err)
		}
	}
	key, digest, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.store.CreateToken(ctx, digest, u.ID); err != nil {
		t.Fatal(err)
	}
	return u.ID, key
}

// rest sends a legacy REST request with a token and answers its status
// and body.
func (g *testGateway) rest(t testing.TB, method, path, token, contentType, body string) rawResponse {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Token "+token)
	}
	return g.send(t, method, path, h, contentType, body)
}

// send sends a request with the given headers and answers it unparsed.
func (g *testGateway) send(t testing.TB, method, path string, h http.Header, contentType, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, g.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return g.raw(t, req)
}

const (
	mediaJSONBody    = "application/json"
	mediaJSONAPIBody = "application/vnd.api+json"
)

// Only staff make or unmake staff, activate or deactivate users, or touch
// a staff account: a user holding add_user or change_user could otherwise
// make a staff account, sign in as it, and hand out every permission, as
// staff hand out what they do not hold.
func TestStaffAccountsNeedStaff(t *testing.T) {
	g := newTestGateway(t, "--token-cache-ttl=0")
	ctx := context.Background()
	_, adder := g.member(t, "adder", false, 1)        // add_user
	_, changer := g.member(t, "changer", false, 2, 3) // change_user, delete_user
	_, staff := g.member(t, "staffer", true, 1, 2, 3) // staff
	colleague, _ := g.member(t, "colleague", true)    // another staff account
	plain, _ := g.member(t, "plain", false)           // a user like any other
	other, _ := g.member(t, "other", false)           // another one
	chief, _ := g.member(t, "chief", true)            // a superuser, made below
	yes := true
	if _, err := g.store.UpdateUser(ctx, chief, store.UserUpdate{IsSuperuser: &yes}); err != nil {
		t.Fatal(err)
	}
	snapshot := func() map[store.ID]store.User {
		out := map[store.ID]store.User{}
		for _, id := range []store.ID{colleague, plain, other, chief} {
			u, err := g.store.UserByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = *u
		}
		return out
	}
	before := snapshot()
	hashBefore, err := g.store.PasswordHash(ctx, colleague)
	if err != nil {
		t.Fatal(err)
	}

	// Making a staff account, or an inactive one, takes staff.
	for _, c := range []struct{ name, input string }{
		{"staffmade", `{username: "staffmade", isStaff: true}`},
		{"inactivemade", `{username: "inactivemade", isActive: false}`},
	} {
		r := g.query(t, adder, `mutation { createUser(input: `+c.input+`) { id } }`, nil)
		if r.code() != "FORBIDDEN" {
			t.Errorf("add_user alone creates %s: %s %+v", c.input, r.code(), r.Errors)
		}
	}
	for _, c := range []struct{ path, contentType, body, username string }{
		{"/api/v1/users/", mediaJSONBody, `{"username": "showmade", "password": "pw-pw-pw-1", "is_staff": true}`, "showmade"},
		{"/users", mediaJSONAPIBody, `{"data": {"type": "users", "attributes": {"username": "apimade", "password": "pw-pw-pw-1", "uname": "a", "is_staff": true}}}`, "apimade"},
		{"/api/users/", mediaJSONBody, `{"username": "mgmtmade", "email": "m@example.com", "is_active": false}`, "mgmtmade"},
	} {
		if r := g.rest(t, "POST", c.path, adder, c.contentType, c.body); r.Status != http.StatusForbidden {
			t.Errorf("POST %s with is_staff by add_user alone: %d %s", c.path, r.Status, r.Body)
		}
		if _, err := g.store.UserByUsername(ctx, c.username); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("POST %s made the user anyway (%v)", c.path, err)
		}
	}
	if r := g.query(t, adder, `mutation { createUser(input: {username: "justauser"}) { isStaff isActive } }`, nil); dig(r.mustData(t), "createUser", "isStaff") != false {
		t.Errorf("add_user alone makes an ordinary user: %+v", r.Data)
	}

	// change_user alone sets neither flag on anyone, and touches no staff
	// account.
	denied := map[string]map[string]any{
		`updateUser(id: $id, input: {isStaff: true}) { id }`:                     {"id": plain.String()},
		`updateUser(id: $id, input: {isActive: false}) { id }`:                   {"id": plain.String()},
		`replaceUser(id: $id, input: {username: "other", isStaff: true}) { id }`: {"id": other.String()},
		`deactivateUser(id: $id) { id }`:                                         {"id": plain.String()},
		`updateUser(id: $id, input: {firstName: "Owned"}) { id }`:                {"id": colleague.String()},
		`setPassword(id: $id, password: "taken-over-1")`:                         {"id": colleague.String()},
		`deleteUser(id: $id)`:                                                    {"id": colleague.String()},
		`revokePermissions(userId: $id, permissionIds: ["1"]) { id }`:            {"id": colleague.String()},
	}
	for op, vars := range denied {
		r := g.query(t, changer, `mutation($id: ID!) { `+op+` }`, vars)
		if r.code() != "FORBIDDEN" {
			t.Errorf("change_user alone: %s: %s %+v", op, r.code(), r.Errors)
		}
	}
	for _, c := range []struct{ method, path, contentType, body string }{
		{"PUT", "/api/users/" + colleague.String(), mediaJSONBody, `{"password": "taken-over-1"}`},
		{"PATCH", "/api/users/" + plain.String() + "/", mediaJSONBody, `{"is_active": false}`},
		{"PATCH", "/api/v1/users/plain/", mediaJSONBody, `{"is_staff": true}`},
		{"PATCH", "/api/v1/users/colleague/", mediaJSONBody, `{"first_name": "Owned"}`},
		{"PATCH", "/users/" + plain.String(), mediaJSONAPIBody, `{"data": {"type": "users", "id": "` + plain.String() + `", "attributes": {"is_active": false}}}`},
		{"DELETE", "/api/users/" + colleague.String() + "/", "", ""},
	} {
		if r := g.rest(t, c.method, c.path, changer, c.contentType, c.body); r.Status != http.StatusForbidden {
			t.Errorf("%s %s %s by change_user alone: %d %s", c.method, c.path, c.body, r.Status, r.Body)
		}
	}
	if got := snapshot(); !reflect.DeepEqual(got, before) {
		t.Errorf("a refused change changed a user:\n got %+v\nwant %+v", got, before)
	}
	if hash, err := g.store.PasswordHash(ctx, colleague); err != nil || hash != hashBefore {
		t.Errorf("a refused request set the staff account's password (%v)", err)
	}

	// Staff may do all of it to users and to other staff, but not to a
	// superuser.
	for _, op := range []string{
		`updateUser(id: $id, input: {isStaff: true}) { id }`,
		`updateUser(id: $id, input: {isStaff: false, isActive: true}) { id }`,
	} {
		g.query(t, staff, `mutation($id: ID!) { `+op+` }`, map[string]any{"id": plain.String()}).mustData(t)
	}
	g.query(t, staff, `mutation($id: ID!) { setPassword(id: $id, password: "reset-by-staff-1") }`, map[string]any{"id": colleague.String()}).mustData(t)
	g.query(t, staff, `mutation($id: ID!) { deactivateUser(id: $id) { id } }`, map[string]any{"id": colleague.String()}).mustData(t)
	if r := g.query(t, staff, `mutation($id: ID!) { setPassword(id: $id, password: "reset-by-staff-1") }`, map[string]any{"id": chief.String()}); r.code() != "FORBIDDEN" {
		t.Errorf("staff set a superuser's password: %s %+v", r.code(), r.Errors)
	}
	// Ordinary profile changes by change_user still work.
	g.query(t, changer, `mutation($id: ID!) { updateUser(id: $id, input: {firstName: "Renamed"}) { id } }`, map[string]any{"id": other.String()}).mustData(t)
}

// A user's permissions and roles (direct, through roles, or as a role's
// holders) are shown to the user themself, to the caller a mutation has
// just let write the user, to staff and to holders of view_permission or
// change_user, and to nobody else: on every GraphQL field and REST route
// that shows them.
func TestPermissionReadsFollowOneRule(t *testing.T) {
	g := newTestGateway(t, "--token-cache-ttl=0")
	ctx := context.Background()
	plainID, plain := g.member(t, "plainreader", false)
	_, viewer := g.member(t, "viewer", false, 12) // view_permission
	_, changer := g.member(t, "changereader", false, 2)
	_, adder := g.member(t, "adderreader", false, 1)
	_, staff := g.member(t, "staffreader", true, 1)
	root := g.staff(t, "rootreader", true)
	target, _ := g.member(t, "target", false, 4)
	role, err := g.store.CreateRole(ctx, store.NewRole{Name: "readers", PermissionIDs: []store.ID{4}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.store.ChangeUserRoles(ctx, target, store.SetAdd, []store.ID{role.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.store.ChangeUserRoles(ctx, plainID, store.SetAdd, []store.ID{role.ID}); err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"id": target.String(), "role": role.ID.String()}
	reads := []string{
		`query($id: ID) { user(id: $id) { permissions { codename } } }`,
		`query($id: ID) { user(id: $id) { roles { permissions { codename } } } }`,
		`query($id: ID) { user(id: $id) { effectivePermissions { codename } } }`,
		`query($role: ID!) { role(id: $role) { users { nodes { username } } } }`,
		`{ users(first: 5) { nodes { username roles { name } } } }`,
	}
	for _, q := range reads {
		if r := g.query(t, plain, q, vars); r.code() != "FORBIDDEN" {
			t.Errorf("a user without view_permission: %s: %s %+v", q, r.code(), r.Data)
		}
		if r := g.query(t, adder, q, vars); r.code() != "FORBIDDEN" {
			t.Errorf("a holder of add_user: %s: %s %+v", q, r.code(), r.Data)
		}
		for name, token := range map[string]string{"view_permission": viewer, "change_user": changer, "staff": staff} {
			if r := g.query(t, token, q, vars); len(r.Errors) > 0 {
				t.Errorf("%s: %s: %+v", name, q, r.Errors)
			}
		}
	}
	r := g.query(t, plain, `{ me { permissions { codename } roles { name permissions { codename } } effectivePermissions { codename } } }`, nil)
	if got := dig(r.mustData(t), "me", "roles", 0, "name"); got != "readers" {
		t.Errorf("own roles: %+v", r.Data)
	}

	otherRoutes := []struct{ path, own string }{
		{"/api/users/" + target.String() + "/permissions", "/api/users/" + plainID.String() + "/permissions"},
		{"/api/v1/users/target/", "/api/v1/users/plainreader/"},
		{"/api/users/" + target.String() + "/", "/api/users/" + plainID.String() + "/"},
		{"/users/" + target.String() + "/roles", "/users/" + plainID.String() + "/roles"},
	}
	for _, c := range otherRoutes {
		if r := g.rest(t, "GET", c.path, plain, "", ""); r.Status != http.StatusForbidden {
			t.Errorf("GET %s by a user without view_permission: %d %s", c.path, r.Status, r.Body)
		}
		if r := g.rest(t, "GET", c.path, viewer, "", ""); r.Status != http.StatusOK {
			t.Errorf("GET %s by a holder of view_permission: %d %s", c.path, r.Status, r.Body)
		}
		if r := g.rest(t, "GET", c.own, plain, "", ""); r.Status != http.StatusOK {
			t.Errorf("GET %s, their own: %d %s", c.own, r.Status, r.Body)
		}
	}
	// A mutation's answer shows the user it wrote, and only that user: not
	// those it refers to (here the adder's own creator, a staff user).
	created := g.query(t, staff, `mutation { createUser(input: {username: "madeadder", password: "made-adder-1"}) { id } }`, nil)
	madeID := dig(created.mustData(t), "createUser", "id").(string)
	g.query(t, root, `mutation($id: ID!) { grantPermissions(userId: $id, permissionIds: ["1"]) { id } }`, map[string]any{"id": madeID}).mustData(t)
	madeAdder := dig(g.query(t, "", `mutation { signIn(username: "madeadder", password: "made-adder-1") { token } }`, nil).mustData(t), "signIn", "token").(string)
	r = g.query(t, madeAdder, `mutation { createUser(input: {username: "fresh"}) { roles { id } permissions { id } effectivePermissions { id } createdBy { roles { id } createdBy { roles { id } } } } }`, nil)
	if len(r.Errors) != 1 || r.code() != "FORBIDDEN" || fmt.Sprint(r.Errors[0].Path) != "[createUser createdBy createdBy roles]" {
		t.Errorf("createUser's answer: %+v", r.Errors)
	}
	// Signing in shows the user their own roles and permissions.
	g.signUp(t, "newcomer", "newcomer-password")
	r = g.query(t, "", `mutation { signIn(username: "newcomer", password: "newcomer-password") { user { roles { id } permissions { id } effectivePermissions { id } } } }`, nil)
	r.mustData(t)
	if a := g.rest(t, "POST", "/api/users/signin", "", mediaJSONBody, `{"username": "newcomer", "password": "newcomer-password"}`); a.Status != http.StatusOK {
		t.Errorf("000 sign-in: %d %s", a.Status, a.Body)
	}
}

// updateUser's password is setPassword's, checked with the rest of the
// input before anything is written: users change their own with
// changePassword, and a refused password leaves the profile as it was.
func TestUpdateWithPasswordIsWholeOrNothing(t *testing.T) {
	g := newTestGateway(t, "--token-cache-ttl=0")
	ctx := context.Background()
	selfID, self := g.member(t, "selfpw", false)
	_, changer := g.member(t, "changerpw", false, 2)
	target, targetToken := g.member(t, "targetpw", false)
	snapshot := func(id store.ID) (store.User, string) {
		u, err := g.store.UserByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		h, err := g.store.PasswordHash(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return *u, h
	}
	selfBefore, selfHash := snapshot(selfID)
	r := g.query(t, self, `mutation($id: ID!) { updateUser(id: $id, input: {firstName: "Me", password: "my-own-new-1"}) { id } }`, map[string]any{"id": selfID.String()})
	if r.code() != "FORBIDDEN" || r.Errors[0].Extensions["permission"] != "change_user" {
		t.Errorf("own password through updateUser: %s %+v", r.code(), r.Errors)
	}
	if u, h := snapshot(selfID); !reflect.DeepEqual(u, selfBefore) || h != selfHash {
		t.Error("a refused self-service password changed the user")
	}

	before, hash := snapshot(target)
	for _, input := range []string{
		`{firstName: "Changed", password: "` + strings.Repeat("p", 5000) + `"}`,
		`{firstName: "Changed", password: ""}`,
		`{email: "not-an-email", password: "a-good-one-1"}`,
	} {
		r := g.query(t, changer, `mutation($id: ID!) { updateUser(id: $id, input: `+input+`) { id } }`, map[string]any{"id": target.String()})
		if r.code() != "BAD_USER_INPUT" {
			t.Errorf("%.60s: %s %+v", input, r.code(), r.Errors)
		}
		if u, h := snapshot(target); !reflect.DeepEqual(u, before) || h != hash {
			t.Errorf("%.60s: the refused request changed the user", input)
		}
	}
	g.query(t, changer, `mutation($id: ID!) { updateUser(id: $id, input: {firstName: "Changed", password: "a-good-one-1"}) { firstName } }`, map[string]any{"id": target.String()}).mustData(t)
	if u, h := snapshot(target); u.FirstName != "Changed" || h == hash {
		t.Errorf("profile and password together: %+v, password changed %v", u, h != hash)
	}
	if r := g.query(t, targetToken, `{ me { id } }`, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("a set password leaves the user's tokens working: %d", r.Status)
	}
}
