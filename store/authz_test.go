package store_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestBuiltinPermissions(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	// Migrate again: nothing is duplicated or renumbered.
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	perms, err := s.FindPermissions(ctx, nil, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(perms) != len(store.Resources)*len(store.Actions) {
		t.Fatalf("%d permissions, want %d", len(perms), len(store.Resources)*len(store.Actions))
	}
	want := map[store.ID]store.Permission{
		1:  {ID: 1, Codename: "add_user", Name: "Can add user", Resource: "user"},
		4:  {ID: 4, Codename: "view_user", Name: "Can view user", Resource: "user"},
		5:  {ID: 5, Codename: "add_role", Name: "Can add role", Resource: "role"},
		20: {ID: 20, Codename: "view_tag", Name: "Can view tag", Resource: "tag"},
		24: {ID: 24, Codename: "view_operator_code", Name: "Can view operator code", Resource: "operator_code"},
		36: {ID: 36, Codename: "view_statistic", Name: "Can view statistic", Resource: "statistic"},
	}
	for _, p := range perms {
		if w, ok := want[p.ID]; ok && !reflect.DeepEqual(p, w) {
			t.Errorf("permission %d = %+v, want %+v", p.ID, p, w)
		}
	}
	// Custom permissions take ids after the built-in ones.
	custom, err := s.CreatePermission(ctx, store.NewPermission{Codename: "export_user", Name: "Can export users", Resource: "user"})
	if err != nil {
		t.Fatal(err)
	}
	if custom.ID != 37 || !custom.Custom {
		t.Errorf("custom permission = %+v, want id 37", custom)
	}
	_, err = s.CreatePermission(ctx, store.NewPermission{Codename: "export_user", Name: "again", Resource: "user"})
	if got := fieldErrors(t, err); got["codename"] == nil {
		t.Errorf("duplicate codename: %v", got)
	}
	_, err = s.CreatePermission(ctx, store.NewPermission{Codename: "Bad Name", Name: "", Resource: "$x"})
	if got := fieldErrors(t, err); len(got) != 3 {
		t.Errorf("invalid permission: %v", got)
	}
	if err := s.DeletePermission(ctx, 1); err == nil {
		t.Error("a built-in permission was deleted")
	}
	if err := s.DeletePermission(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a missing permission: %v", err)
	}
}

func TestRoles(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	desc := "reads users"
	r, err := s.CreateRole(ctx, store.NewRole{Name: "readers", Description: &desc, PermissionIDs: []store.ID{4, 4, 8}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.PermissionIDs, []store.ID{4, 8}) {
		t.Errorf("permissions = %v, want [4 8]", r.PermissionIDs)
	}
	_, err = s.CreateRole(ctx, store.NewRole{Name: "readers"})
	if got := fieldErrors(t, err); !reflect.DeepEqual(got, map[string][]string{"name": {"role with this name already exists."}}) {
		t.Errorf("duplicate name: %v", got)
	}
	_, err = s.CreateRole(ctx, store.NewRole{Name: "bad", PermissionIDs: []store.ID{4, 98, 99}})
	if got := fieldErrors(t, err); !reflect.DeepEqual(got, map[string][]string{"permissions": {`Invalid pk "98" - object does not exist.`, `Invalid pk "99" - object does not exist.`}}) {
		t.Errorf("unknown permissions: %v", got)
	}
	if n, _ := s.CountRoles(ctx, nil); n != 1 {
		t.Errorf("%d roles stored, want 1", n)
	}

	name := "viewers"
	up, err := s.UpdateRole(ctx, r.ID, store.RoleUpdate{Name: &name, PermissionIDs: []store.ID{1}, ClearDescription: true})
	if err != nil {
		t.Fatal(err)
	}
	if up.Name != "viewers" || up.Description != nil || !reflect.DeepEqual(up.PermissionIDs, []store.ID{1}) {
		t.Errorf("updated role = %+v", up)
	}

	fixed, err := s.CreateRole(ctx, store.NewRole{Name: "admins", Unchangeable: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRole(ctx, fixed.ID, store.RoleUpdate{Name: &name}); fieldErrors(t, err)["non_field_errors"] == nil {
		t.Errorf("unchangeable role changed: %v", err)
	}
	if err := s.DeleteRole(ctx, fixed.ID); fieldErrors(t, err)["non_field_errors"] == nil {
		t.Errorf("unchangeable role deleted: %v", err)
	}
	if _, err := s.UpdateRole(ctx, 999, store.RoleUpdate{Name: &name}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update missing role: %v", err)
	}
}

func TestUserRolesAndPermissions(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	u := mustCreate(t, s, store.NewUser{Username: "ivy"})
	readers, _ := s.CreateRole(ctx, store.NewRole{Name: "readers", PermissionIDs: []store.ID{4, 8}})
	writers, _ := s.CreateRole(ctx, store.NewRole{Name: "writers", PermissionIDs: []store.ID{2}})

	got, err := s.ChangeUserPermissions(ctx, u.ID, store.SetAdd, []store.ID{3, 1})
	if err != nil || !reflect.DeepEqual(got.PermissionIDs, []store.ID{1, 3}) {
		t.Fatalf("grant: %v %v", got, err)
	}
	_, err = s.ChangeUserPermissions(ctx, u.ID, store.SetAdd, []store.ID{12, 404})
	if f := fieldErrors(t, err); !reflect.DeepEqual(f, map[string][]string{"permissions": {`Invalid pk "404" - object does not exist.`}}) {
		t.Errorf("grant unknown: %v", f)
	}
	if again, _ := s.UserByID(ctx, u.ID); !reflect.DeepEqual(again.PermissionIDs, []store.ID{1, 3}) {
		t.Errorf("a refused grant changed permissions: %v", again.PermissionIDs)
	}
	_, err = s.ChangeUserPermissions(ctx, u.ID, store.SetRemove, []store.ID{3, 404})
	if f := fieldErrors(t, err); !reflect.DeepEqual(f, map[string][]string{"permissions": {`Invalid pk "404" - object does not exist.`}}) {
		t.Errorf("revoke unknown: %v", f)
	}
	if again, _ := s.UserByID(ctx, u.ID); !reflect.DeepEqual(again.PermissionIDs, []store.ID{1, 3}) {
		t.Errorf("a refused revoke changed permissions: %v", again.PermissionIDs)
	}
	got, _ = s.ChangeUserPermissions(ctx, u.ID, store.SetRemove, []store.ID{3})
	if !reflect.DeepEqual(got.PermissionIDs, []store.ID{1}) {
		t.Errorf("revoke: %v", got.PermissionIDs)
	}
	got, _ = s.ChangeUserPermissions(ctx, u.ID, store.SetExact, []store.ID{5, 6})
	if !reflect.DeepEqual(got.PermissionIDs, []store.ID{5, 6}) {
		t.Errorf("set: %v", got.PermissionIDs)
	}
	got, err = s.ChangeUserRoles(ctx, u.ID, store.SetAdd, []store.ID{readers.ID, writers.ID})
	if err != nil || len(got.RoleIDs) != 2 {
		t.Fatalf("assign: %v %v", got, err)
	}
	if _, err := s.ChangeUserRoles(ctx, 999, store.SetAdd, []store.ID{readers.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("assign to a missing user: %v", err)
	}

	codenames, err := s.EffectivePermissions(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(codenames)
	if want := []string{"add_role", "change_role", "change_user", "view_role", "view_user"}; !reflect.DeepEqual(codenames, want) {
		t.Errorf("effective = %v, want %v", codenames, want)
	}
	holders, _ := s.RoleHolders(ctx, readers.ID)
	if !reflect.DeepEqual(holders, []store.ID{u.ID}) {
		t.Errorf("holders = %v", holders)
	}
	members, _ := s.FindUsers(ctx, &store.UserFilter{RoleIDs: []store.ID{writers.ID}}, nil, store.Page{})
	if len(members) != 1 {
		t.Errorf("members of writers: %d", len(members))
	}

	// Deleting a role or a custom permission takes it from its holders.
	if err := s.DeleteRole(ctx, writers.ID); err != nil {
		t.Fatal(err)
	}
	custom, _ := s.CreatePermission(ctx, store.NewPermission{Codename: "export_user", Name: "Can export users", Resource: "user"})
	s.ChangeUserPermissions(ctx, u.ID, store.SetAdd, []store.ID{custom.ID})
	s.UpdateRole(ctx, readers.ID, store.RoleUpdate{PermissionIDs: []store.ID{4, custom.ID}})
	if err := s.DeletePermission(ctx, custom.ID); err != nil {
		t.Fatal(err)
	}
	after, _ := s.UserByID(ctx, u.ID)
	if !reflect.DeepEqual(after.RoleIDs, []store.ID{readers.ID}) || !reflect.DeepEqual(after.PermissionIDs, []store.ID{5, 6}) {
		t.Errorf("after deletes: roles %v, permissions %v", after.RoleIDs, after.PermissionIDs)
	}
	role, _ := s.RoleByID(ctx, readers.ID)
	if !reflect.DeepEqual(role.PermissionIDs, []store.ID{4}) {
		t.Errorf("role kept a deleted permission: %v", role.PermissionIDs)
	}
}

// A grant or role change that changes nothing writes nothing: the user's
// modified time tells when their grants last changed.
func TestNoChangeWritesNothing(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := storetest.Open(t, store.Options{Now: func() time.Time { clock = clock.Add(time.Minute); return clock }})
	u := mustCreate(t, s, store.NewUser{Username: "ivy"})
	role, _ := s.CreateRole(ctx, store.NewRole{Name: "readers"})
	other, _ := s.CreateRole(ctx, store.NewRole{Name: "writers"})
	assigned, err := s.ChangeUserRoles(ctx, u.ID, store.SetAdd, []store.ID{role.ID})
	if err != nil || !assigned.Modified.After(u.Modified) {
		t.Fatalf("assign: %+v %v", assigned, err)
	}
	for _, c := range []struct {
		name   string
		change func() (*store.User, error)
	}{
		{"assign a held role", func() (*store.User, error) { return s.ChangeUserRoles(ctx, u.ID, store.SetAdd, []store.ID{role.ID}) }},
		{"unassign a role not held", func() (*store.User, error) {
			return s.ChangeUserRoles(ctx, u.ID, store.SetRemove, []store.ID{other.ID})
		}},
		{"set the same roles", func() (*store.User, error) { return s.ChangeUserRoles(ctx, u.ID, store.SetExact, []store.ID{role.ID}) }},
		{"revoke nothing held", func() (*store.User, error) { return s.ChangeUserPermissions(ctx, u.ID, store.SetRemove, []store.ID{1}) }},
	} {
		got, err := c.change()
		if err != nil || !got.Modified.Equal(assigned.Modified) || !reflect.DeepEqual(got.RoleIDs, []store.ID{role.ID}) {
			t.Errorf("%s: %+v %v", c.name, got, err)
		}
	}
	if got, _ := s.ChangeUserRoles(ctx, u.ID, store.SetRemove, []store.ID{role.ID}); !got.Modified.After(assigned.Modified) || len(got.RoleIDs) != 0 {
		t.Errorf("unassign: %+v", got)
	}
}
