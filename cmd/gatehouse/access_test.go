package main

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// Self-service: users read and change their own profile and password, but
// not their own privileges.
func TestSelfService(t *testing.T) {
	g := newTestGateway(t)
	token := g.signUp(t, "gail", "gail-password")
	r := g.query(t, token, `mutation { updateUser(id: "1", input: {firstName: "Gail", email: "gail@example.com"}) { firstName email } }`, nil)
	if dig(r.mustData(t), "updateUser", "firstName") != "Gail" {
		t.Errorf("own profile: %+v", r.Data)
	}
	for _, field := range []string{"isStaff: true", "isSuperuser: true", "isActive: false"} {
		r := g.query(t, token, `mutation { updateUser(id: "1", input: {`+field+`}) { id } }`, nil)
		if r.code() != "FORBIDDEN" {
			t.Errorf("own %s: %s %+v", field, r.code(), r.Errors)
		}
	}
	for _, op := range []string{
		`grantPermissions(userId: "1", permissionIds: ["1"]) { id }`,
		`assignRoles(userId: "1", roleIds: ["1"]) { id }`,
		`setPermissions(userId: "1", permissionIds: []) { id }`,
	} {
		if r := g.query(t, token, `mutation { `+op+` }`, nil); r.code() != "FORBIDDEN" {
			t.Errorf("%s: %s", op, r.code())
		}
	}
	u, _ := g.store.UserByID(context.Background(), 1)
	if u.IsStaff || u.IsSuperuser || !u.IsActive || len(u.PermissionIDs) != 0 {
		t.Errorf("a refused change changed the user: %+v", u)
	}
	// Another user's profile is not theirs to change.
	g.signUp(t, "hugo", "hugo-password")
	r = g.query(t, token, `mutation { updateUser(id: "2", input: {firstName: "Hacked"}) { id } }`, nil)
	if r.code() != "FORBIDDEN" || r.Errors[0].Extensions["permission"] != "change_user" {
		t.Errorf("another's profile: %+v", r.Errors)
	}
	// Their own password, with the old one.
	g.query(t, token, `mutation { changePassword(oldPassword: "gail-password", newPassword: "gail-new-password") }`, nil).mustData(t)
	g.query(t, "", `mutation { signIn(username: "gail", password: "gail-new-password") { token } }`, nil).mustData(t)
	r = g.query(t, token, `mutation { changePassword(oldPassword: "wrong", newPassword: "x") }`, nil)
	if fmt.Sprint(r.fields()) != "map[old_password:[Your old password was entered incorrectly. Please enter it again.]]" {
		t.Errorf("wrong old password: %v", r.fields())
	}
}

// Effective permissions are private: a user sees their own, others need
// view_permission, and a denied field is an error on that field, not an
// empty list.
func TestEffectivePermissionsArePrivate(t *testing.T) {
	g := newTestGateway(t)
	token := g.signUp(t, "ida", "ida-password")
	g.signUp(t, "jon", "jon-password")
	ctx := context.Background()
	if _, err := g.store.ChangeUserPermissions(ctx, 1, store.SetAdd, []store.ID{4}); err != nil {
		t.Fatal(err)
	}
	g.authenticator.ForgetUser(1)
	r := g.query(t, token, `{ me { effectivePermissions { codename } } }`, nil)
	if got := fmt.Sprint(dig(r.mustData(t), "me", "effectivePermissions")); got != "[map[codename:view_user]]" {
		t.Errorf("own effective permissions: %s", got)
	}
	r = g.query(t, token, `{ user(id: "2") { username effectivePermissions { codename } } }`, nil)
	if r.code() != "FORBIDDEN" || fmt.Sprint(r.Errors[0].Path) != "[user effectivePermissions]" {
		t.Errorf("another's effective permissions: %+v", r.Errors)
	}
	if dig(r.Data, "user") != nil {
		t.Errorf("the denied field's parent should be null (non-null field), got %+v", r.Data)
	}
}

// Grants and roles through GraphQL: unknown ids are named and change
// nothing; nobody hands out what they do not hold.
func TestGrantsAndRoles(t *testing.T) {
	g := newTestGateway(t)
	root := g.staff(t, "root", true)
	g.signUp(t, "kim", "kim-password")

	r := g.query(t, root, `mutation { grantPermissions(userId: "2", permissionIds: ["4", "98", "99"]) { id } }`, nil)
	if r.code() != "BAD_USER_INPUT" || fmt.Sprint(r.fields()) != `map[permissions:[Invalid pk "98" - object does not exist. Invalid pk "99" - object does not exist.]]` {
		t.Errorf("unknown ids: %s %v", r.code(), r.fields())
	}
	if u, _ := g.store.UserByID(context.Background(), 2); len(u.PermissionIDs) != 0 {
		t.Errorf("a refused grant changed permissions: %v", u.PermissionIDs)
	}
	r = g.query(t, root, `mutation { grantPermissions(userId: "2", permissionIds: ["4", "8"]) { permissions { codename } } }`, nil)
	if got := fmt.Sprint(dig(r.mustData(t), "grantPermissions", "permissions")); got != "[map[codename:view_user] map[codename:view_role]]" {
		t.Errorf("granted: %s", got)
	}
	r = g.query(t, root, `mutation { createRole(input: {name: "editors", description: "edit users", permissionIds: ["2", "4"]}) { id name permissions { codename } } }`, nil)
	if got := fmt.Sprint(dig(r.mustData(t), "createRole", "permissions")); got != "[map[codename:change_user] map[codename:view_user]]" {
		t.Errorf("role permissions: %s", got)
	}
	roleID := dig(r.Data, "createRole", "id").(string)
	r = g.query(t, root, `mutation($r: ID!) { assignRoles(userId: "2", roleIds: [$r]) { roles { name } effectivePermissions { codename } } }`, map[string]any{"r": roleID})
	if got := fmt.Sprint(dig(r.mustData(t), "assignRoles", "effectivePermissions")); got != "[map[codename:change_user] map[codename:view_user] map[codename:view_role]]" {
		t.Errorf("effective: %s", got)
	}

	// kim now holds change_user through the role, but not add_role: she may
	// grant view_user (she holds it) to someone else, but not add_role.
	kim := dig(g.query(t, "", `mutation { signIn(username: "kim", password: "kim-password") { token } }`, nil).mustData(t), "signIn", "token").(string)
	g.signUp(t, "leo", "leo-password")
	g.query(t, kim, `mutation { grantPermissions(userId: "3", permissionIds: ["4"]) { id } }`, nil).mustData(t)
	r = g.query(t, kim, `mutation { grantPermissions(userId: "3", permissionIds: ["5"]) { id } }`, nil)
	if r.code() != "FORBIDDEN" || r.Errors[0].Extensions["permission"] != "add_role" {
		t.Errorf("escalation: %+v", r.Errors)
	}
	// Nor may she touch a superuser.
	if r := g.query(t, kim, `mutation { revokePermissions(userId: "1", permissionIds: ["4"]) { id } }`, nil); r.code() != "FORBIDDEN" {
		t.Errorf("changing a superuser: %+v", r.Errors)
	}

	// Role.users and totalCount; an unchangeable role stays as it is.
	r = g.query(t, root, `query($r: ID!) { role(id: $r) { users(first: 5) { totalCount nodes { username } } } }`, map[string]any{"r": roleID})
	if got := fmt.Sprint(dig(r.mustData(t), "role", "users")); got != "map[nodes:[map[username:kim]] totalCount:1]" {
		t.Errorf("role users: %s", got)
	}
	r = g.query(t, root, `mutation { createRole(input: {name: "fixed", unchangeable: true}) { id } }`, nil)
	fixed := dig(r.mustData(t), "createRole", "id").(string)
	for _, op := range []string{`updateRole(id: $r, input: {name: "x"}) { id }`, `deleteRole(id: $r)`} {
		r := g.query(t, root, `mutation($r: ID!) { `+op+` }`, map[string]any{"r": fixed})
		if r.code() != "BAD_USER_INPUT" || fmt.Sprint(r.fields()) != "map[non_field_errors:[This role is unchangeable.]]" {
			t.Errorf("%s on an unchangeable role: %s %v", op, r.code(), r.fields())
		}
	}
	// Deleting a role takes it from its users, and their permissions with it.
	g.query(t, root, `mutation($r: ID!) { deleteRole(id: $r) }`, map[string]any{"r": roleID}).mustData(t)
	r = g.query(t, root, `{ user(id: "2") { roles { id } effectivePermissions { codename } } }`, nil)
	if got := fmt.Sprint(dig(r.mustData(t), "user")); got != "map[effectivePermissions:[map[codename:view_user] map[codename:view_role]] roles:[]]" {
		t.Errorf("after deleting the role: %s", got)
	}
	if r := g.query(t, kim, `mutation { grantPermissions(userId: "3", permissionIds: ["4"]) { id } }`, nil); r.code() != "FORBIDDEN" {
		t.Errorf("a permission lost with the role still worked: %+v", r.Errors)
	}
}

func TestCustomPermissions(t *testing.T) {
	g := newTestGateway(t)
	root := g.staff(t, "root", true)
	r := g.query(t, root, `mutation { createPermission(input: {codename: "export_user", name: "Can export users", resource: "user"}) { id codename custom } }`, nil)
	if got := dig(r.mustData(t), "createPermission"); !reflect.DeepEqual(got, map[string]any{"id": "37", "codename": "export_user", "custom": true}) {
		t.Errorf("created: %v", got)
	}
	if r := g.query(t, root, `mutation { deletePermission(id: "1") }`, nil); r.code() != "BAD_USER_INPUT" {
		t.Errorf("deleting a built-in permission: %+v", r.Errors)
	}
	g.query(t, root, `mutation { deletePermission(id: "37") }`, nil).mustData(t)
	r = g.query(t, root, `{ permissions(filter: {custom: true}) { totalCount } all: permissions(last: 2) { nodes { codename } pageInfo { hasPreviousPage } } }`, nil)
	data := r.mustData(t)
	if dig(data, "permissions", "totalCount") != float64(0) {
		t.Errorf("custom permissions left: %v", data)
	}
	if got := fmt.Sprint(dig(data, "all")); got != "map[nodes:[map[codename:delete_statistic] map[codename:view_statistic]] pageInfo:map[hasPreviousPage:true]]" {
		t.Errorf("last two permissions: %s", got)
	}
}
