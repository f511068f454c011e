package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
	"github.com/gatehouse/gatehouse/store/storetest"
)

var (
	usernameTaken = map[string][]string{"username": {"A user with that username already exists."}}
	roleTaken     = map[string][]string{"name": {"role with this name already exists."}}
)

// wantFields fails unless err is a validation error naming exactly want;
// what says which write it was.
func wantFields(t *testing.T, err error, want map[string][]string, what string, args ...any) {
	t.Helper()
	if got := fieldErrors(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %v, want %v", fmt.Sprintf(what, args...), got, want)
	}
}

// Usernames are stored in NFKC form, as Django's normalize_username has
// them, and a new one equal to a stored one whatever its case is refused
// as taken, on creation and on rename; nothing refused is stored.
func TestUsernamesAreNFKCAndUniqueWhateverTheirCase(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	admin := mustCreate(t, s, store.NewUser{Username: "admin"})
	other := mustCreate(t, s, store.NewUser{Username: "other"})
	zeroOne := mustCreate(t, s, store.NewUser{Username: "０１"})
	if zeroOne.Username != "01" {
		t.Errorf("０１ stored as %q, want its NFKC form 01", zeroOne.Username)
	}
	if u, err := s.UserByUsername(ctx, "01"); err != nil || u.ID != zeroOne.ID {
		t.Errorf("by its NFKC form: %+v %v", u, err)
	}
	mustCreate(t, s, store.NewUser{Username: "straße"})

	for _, name := range []string{"admin", "Admin", "ADMIN", "ａdmin", "ＡＤＭＩＮ", "01", "０1", "STRASSE", "Straße"} {
		_, err := s.CreateUser(ctx, store.NewUser{Username: name})
		wantFields(t, err, usernameTaken, "create %q", name)
		_, err = s.UpdateUser(ctx, other.ID, store.UserUpdate{Username: &name})
		wantFields(t, err, usernameTaken, "rename to %q", name)
	}
	// Every field at fault at once, a name taken whatever its case too.
	_, err := s.CreateUser(ctx, store.NewUser{Username: "Admin", FirstName: strings.Repeat("a", 151)})
	wantFields(t, err, map[string][]string{"username": usernameTaken["username"], "first_name": {"Ensure this field has no more than 150 characters."}},
		"a taken name beside a long one")
	if n, _ := s.CountUsers(ctx, nil); n != 4 {
		t.Errorf("%d users stored, want 4", n)
	}
	if u, _ := s.UserByID(ctx, other.ID); u.Username != "other" {
		t.Errorf("a refused rename changed the user: %+v", u)
	}

	// Users change the case of their own name, and a name freed by a
	// rename is free whatever its case.
	renamed, err := s.UpdateUser(ctx, admin.ID, store.UserUpdate{Username: ptr("Administrator")})
	if err != nil || renamed.Username != "Administrator" {
		t.Fatalf("rename: %+v %v", renamed, err)
	}
	if again, err := s.UpdateUser(ctx, admin.ID, store.UserUpdate{Username: ptr("ADMINISTRATOR")}); err != nil || again.Username != "ADMINISTRATOR" {
		t.Errorf("a user changing the case of their own name: %+v %v", again, err)
	}
	if u, err := s.CreateUser(ctx, store.NewUser{Username: "Admin"}); err != nil || u.Username != "Admin" {
		t.Errorf("a name freed by a rename: %+v %v", u, err)
	}
}

// Of any number of sign-ups made at once under one name in different
// cases, exactly one is stored: the unique index refuses the others, on
// either engine, with the answer a taken name gets.
func TestConcurrentSignUpsOneUsernameWhateverItsCase(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	names := []string{"Bob", "bob", "BOB", "ｂｏｂ"}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.CreateUser(ctx, store.NewUser{Username: names[i%len(names)], IsActive: true})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		if ve, isField := fault.As(err); !isField || !reflect.DeepEqual(ve.Fields, usernameTaken) {
			t.Errorf("a refused sign-up: %v, want %v", err, usernameTaken)
		}
	}
	if ok != 1 {
		t.Errorf("%d sign-ups succeeded, want exactly 1", ok)
	}
	if n, _ := s.CountUsers(ctx, nil); n != 1 {
		t.Errorf("%d users stored, want 1", n)
	}
}

// Users and roles stored before names had caseless keys, some differing
// only in case or spaces, get keys at the next migrate without it failing:
// each keeps working under the name it has (read, signed in, changed,
// sent back unchanged), while a new name equal to any of them whatever
// its case is refused. A second migrate changes nothing.
func TestMigrateKeysNamesStoredBeforeKeys(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	older := []string{"Bob", "bob", "BOB", "carol"}
	for i, name := range older {
		old := bson.D{{Key: "_id", Value: fmt.Sprintf("%020d", 901+i)}, {Key: "username", Value: name},
			{Key: "password", Value: "!unusable"}, {Key: "email_key", Value: "\x00" + name}, {Key: "person", Value: int64(901 + i)},
			{Key: "is_active", Value: true}, {Key: "roles", Value: bson.A{}}, {Key: "permissions", Value: bson.A{}}}
		if _, err := s.Collection("users").Insert(ctx, old); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{"viewers", "viewers ", "Viewers"} {
		old := bson.D{{Key: "_id", Value: fmt.Sprintf("%020d", 801+i)}, {Key: "name", Value: name},
			{Key: "unchangeable", Value: false}, {Key: "permissions", Value: bson.A{}}}
		if _, err := s.Collection("roles").Insert(ctx, old); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}

	for i, name := range older {
		id := store.ID(901 + i)
		if u, err := s.UserByUsername(ctx, name); err != nil || u.ID != id {
			t.Errorf("%s by name: %+v %v", name, u, err)
		}
		if u, _, err := s.UserCredentials(ctx, name); err != nil || u.ID != id {
			t.Errorf("%s's credentials: %+v %v", name, u, err)
		}
		if u, err := s.UpdateUser(ctx, id, store.UserUpdate{Username: &name, FirstName: ptr("F")}); err != nil || u.Username != name {
			t.Errorf("%s sent back with its own name: %+v %v", name, u, err)
		}
	}
	for _, name := range []string{"bOb", "Carol", "ｂｏｂ"} {
		_, err := s.CreateUser(ctx, store.NewUser{Username: name})
		wantFields(t, err, usernameTaken, "create %q", name)
	}
	for _, name := range []string{"bOb", "ｂｏｂ"} {
		_, err := s.UpdateUser(ctx, 904, store.UserUpdate{Username: &name})
		wantFields(t, err, usernameTaken, "rename carol to %q", name)
	}

	for i, name := range []string{"viewers", "viewers ", "Viewers"} {
		r, err := s.UpdateRole(ctx, store.ID(801+i), store.RoleUpdate{Name: &name, Description: ptr("d")})
		if err != nil || r.Name != name {
			t.Errorf("role %q sent back with its own name: %+v %v", name, r, err)
		}
	}
	for _, name := range []string{"VIEWERS", " viewers", "ｖｉｅｗｅｒｓ"} {
		_, err := s.CreateRole(ctx, store.NewRole{Name: name})
		wantFields(t, err, roleTaken, "create role %q", name)
	}
	if n, _ := s.CountUsers(ctx, nil); n != len(older) {
		t.Errorf("%d users, want %d", n, len(older))
	}
	if n, _ := s.CountRoles(ctx, nil); n != 3 {
		t.Errorf("%d roles, want 3", n)
	}
}

// Role names are trimmed, as DRF's CharField trims them, and unique
// whatever their case and the spaces around them.
func TestRoleNamesAreTrimmedAndUniqueWhateverTheirCase(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	viewers, err := s.CreateRole(ctx, store.NewRole{Name: "viewers"})
	if err != nil {
		t.Fatal(err)
	}
	editors, err := s.CreateRole(ctx, store.NewRole{Name: "  editors\t"})
	if err != nil || editors.Name != "editors" {
		t.Fatalf("a name with spaces around it: %+v %v", editors, err)
	}
	for _, name := range []string{"viewers ", " viewers", "Viewers", "VIEWERS", "ｖiewers"} {
		_, err := s.CreateRole(ctx, store.NewRole{Name: name})
		wantFields(t, err, roleTaken, "create %q", name)
		_, err = s.UpdateRole(ctx, editors.ID, store.RoleUpdate{Name: &name})
		wantFields(t, err, roleTaken, "rename to %q", name)
	}
	_, err = s.CreateRole(ctx, store.NewRole{Name: "   "})
	wantFields(t, err, map[string][]string{"name": {"This field may not be blank."}}, "a name of spaces")
	if n, _ := s.CountRoles(ctx, nil); n != 2 {
		t.Errorf("%d roles stored, want 2", n)
	}
	if r, err := s.UpdateRole(ctx, viewers.ID, store.RoleUpdate{Name: ptr("Viewers ")}); err != nil || r.Name != "Viewers" {
		t.Errorf("a role changing the case of its own name: %+v %v", r, err)
	}
	if r, _ := s.RoleByID(ctx, editors.ID); r.Name != "editors" {
		t.Errorf("a refused rename changed the role: %+v", r)
	}
}
