package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/fault"
)

// Role is a named set of permissions given to users (a "group" in the
// dialects that say so).
type Role struct {
	ID          ID      `bson:"_id"`
	Name        string  `bson:"name"`
	Description *string `bson:"description"`
	// Unchangeable roles can be neither changed nor deleted.
	Unchangeable  bool      `bson:"unchangeable"`
	PermissionIDs []ID      `bson:"permissions"`
	Created       time.Time `bson:"created"`
	Modified      time.Time `bson:"modified"`
}

// roleDoc is a Role as written. NameKey is omitted when empty for the
// reason userDoc's UsernameKey is.
type roleDoc struct {
	Role    `bson:",inline"`
	NameKey string `bson:"name_key,omitempty"`
}

// NewRole is what creating a role takes.
type NewRole struct {
	Name          string
	Description   *string
	Unchangeable  bool
	PermissionIDs []ID
}

// RoleUpdate changes the fields that are set.
type RoleUpdate struct {
	Name          *string
	Description   *string
	PermissionIDs []ID // nil: unchanged
	// ClearDescription sets the description to null.
	ClearDescription bool
}

const (
	maxRoleName        = 150
	maxRoleDescription = 1000
	msgRoleNameTaken   = "role with this name already exists."
	msgUnchangeable    = "This role is unchangeable."
)

func validateRoleName(v *fault.FieldErrors, name string) {
	switch {
	case strings.TrimSpace(name) == "":
		v.Add("name", msgBlank)
	case utf8.RuneCountInString(name) > maxRoleName:
		v.Add("name", msgMaxLength(maxRoleName))
	}
}

func validateDescription(v *fault.FieldErrors, d *string) {
	if d != nil && utf8.RuneCountInString(*d) > maxRoleDescription {
		v.Add("description", msgMaxLength(maxRoleDescription))
	}
}

// CreateRole stores a role, its name trimmed, as DRF's CharField trims
// it. Names are unique whatever their case (roleNameKey). Errors:
// fault.Invalid (invalid, name taken, unknown permission ids),
// ErrUnavailable.
func (s *Store) CreateRole(ctx context.Context, n NewRole) (*Role, error) {
	n.Name = strings.TrimSpace(n.Name)
	v := &fault.FieldErrors{}
	validateRoleName(v, n.Name)
	validateDescription(v, n.Description)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := checkIDsExist(ctx, s.permissions(), "permissions", n.PermissionIDs); err != nil {
		return nil, err
	}
	now := s.nowUTC()
	var r Role
	_, err := s.insertWithNewID(ctx, colRoles, func(id ID) any {
		r = Role{ID: id, Name: n.Name, Description: n.Description, Unchangeable: n.Unchangeable,
			PermissionIDs: nonNil(uniqueIDs(n.PermissionIDs)), Created: now, Modified: now}
		return roleDoc{Role: r, NameKey: roleNameKey(n.Name)}
	})
	if isDuplicateKey(err) {
		return nil, fault.Field("name", msgRoleNameTaken)
	}
	if err != nil {
		return nil, fmt.Errorf("create role: %w", err)
	}
	return &r, nil
}

// UpdateRole changes a role; a new name is trimmed and must be free
// whatever its case, as on creation. Errors: ErrNotFound, fault.Invalid
// (invalid, unchangeable, name taken, unknown permission ids).
func (s *Store) UpdateRole(ctx context.Context, id ID, u RoleUpdate) (*Role, error) {
	v := &fault.FieldErrors{}
	sent := deref(u.Name)
	if u.Name != nil {
		trimmed := strings.TrimSpace(sent)
		u.Name = &trimmed
		validateRoleName(v, trimmed)
	}
	validateDescription(v, u.Description)
	if err := v.Err(); err != nil {
		return nil, err
	}
	before, err := s.changeableRole(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Name != nil && (sent == before.Name || *u.Name == before.Name) {
		// The name it has (a client sends the whole role back): a role
		// stored before names were trimmed or compared whatever their case
		// keeps its name and its key.
		u.Name = nil
	}
	if err := checkIDsExist(ctx, s.permissions(), "permissions", u.PermissionIDs); err != nil {
		return nil, err
	}
	set := bson.D{{Key: "modified", Value: s.nowUTC()}}
	if u.Name != nil {
		set = append(set, bson.E{Key: "name", Value: *u.Name}, bson.E{Key: "name_key", Value: roleNameKey(*u.Name)})
	}
	switch {
	case u.ClearDescription:
		set = append(set, bson.E{Key: "description", Value: nil})
	case u.Description != nil:
		set = append(set, bson.E{Key: "description", Value: *u.Description})
	}
	if u.PermissionIDs != nil {
		set = append(set, bson.E{Key: "permissions", Value: nonNil(uniqueIDs(u.PermissionIDs))})
	}
	// The unchangeable flag is in the filter too, so a role made
	// unchangeable meanwhile is not changed.
	res, err := s.roles().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "unchangeable", Value: false}}, bson.D{{Key: "$set", Value: set}}, false)
	if isDuplicateKey(err) {
		return nil, fault.Field("name", msgRoleNameTaken)
	}
	if err != nil {
		return nil, fmt.Errorf("update role %s: %w", id, err)
	}
	if res.Matched == 0 {
		return nil, fault.Field(fault.NonField, msgUnchangeable)
	}
	return s.RoleByID(ctx, id)
}

// DeleteRole removes a role and takes it away from its users.
// Errors: ErrNotFound, fault.Invalid (unchangeable).
func (s *Store) DeleteRole(ctx context.Context, id ID) error {
	if _, err := s.changeableRole(ctx, id); err != nil {
		return err
	}
	if _, err := s.users().UpdateMany(ctx, bson.D{{Key: "roles", Value: id}},
		bson.D{{Key: "$pull", Value: bson.D{{Key: "roles", Value: id}}}}); err != nil {
		return fmt.Errorf("take role %s from its users: %w", id, err)
	}
	if _, err := s.roles().DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "unchangeable", Value: false}}); err != nil {
		return fmt.Errorf("delete role %s: %w", id, err)
	}
	return nil
}

// changeableRole answers the role id names unless it is unchangeable.
func (s *Store) changeableRole(ctx context.Context, id ID) (*Role, error) {
	r, err := s.RoleByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Unchangeable {
		return nil, fault.Field(fault.NonField, msgUnchangeable)
	}
	return r, nil
}

// RoleByID returns one role. Errors: ErrNotFound, ErrUnavailable.
func (s *Store) RoleByID(ctx context.Context, id ID) (*Role, error) {
	var r Role
	if err := findByID(ctx, s.roles(), id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RoleFilter selects roles.
type RoleFilter struct {
	IDs          []ID
	Name         *StringLookup
	Unchangeable *bool
}

// Values counts the values the filter holds: each lookup given, each item
// of its lists.
func (f *RoleFilter) Values() int {
	if f == nil {
		return 0
	}
	return len(f.IDs) + f.Name.Values() + given(f.Unchangeable)
}

func (f *RoleFilter) document() bson.D {
	if f == nil {
		return bson.D{}
	}
	var and bson.A
	if f.IDs != nil {
		and = append(and, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: idKeys(f.IDs)}}}})
	}
	and = append(and, f.Name.conditions("name")...)
	and = append(and, boolCondition("unchangeable", f.Unchangeable)...)
	return allOf(and)
}

// FindRoles returns the matching roles in id order.
func (s *Store) FindRoles(ctx context.Context, f *RoleFilter, page Page) ([]Role, error) {
	return findPage[Role](ctx, s.roles(), f.document(), page)
}

// CountRoles counts the matching roles.
func (s *Store) CountRoles(ctx context.Context, f *RoleFilter) (int, error) {
	return count(ctx, s.roles(), f.document())
}

// RolesByIDs returns the roles with these ids that exist, in one round trip.
func (s *Store) RolesByIDs(ctx context.Context, ids []ID) ([]Role, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.FindRoles(ctx, &RoleFilter{IDs: ids}, Page{})
}

// SetOperation says how a list of ids changes a user's list.
type SetOperation int

const (
	SetAdd    SetOperation = iota // add the ids (grant, assign)
	SetRemove                     // remove the ids (revoke, unassign)
	SetExact                      // make the list exactly the ids
)

// ChangeUserPermissions grants, revokes or sets a user's direct
// permissions. Unknown ids are refused, naming them, and nothing changes.
// Errors: ErrNotFound, fault.Invalid.
func (s *Store) ChangeUserPermissions(ctx context.Context, userID ID, op SetOperation, ids []ID) (*User, error) {
	return s.changeUserIDs(ctx, userID, "permissions", s.permissions(), op, ids)
}

// ChangeUserRoles assigns or unassigns roles. Errors as for
// ChangeUserPermissions.
func (s *Store) ChangeUserRoles(ctx context.Context, userID ID, op SetOperation, ids []ID) (*User, error) {
	return s.changeUserIDs(ctx, userID, "roles", s.roles(), op, ids)
}

func (s *Store) changeUserIDs(ctx context.Context, userID ID, field string, ref docdb.Collection, op SetOperation, ids []ID) (*User, error) {
	// Removing an id that names nothing is refused too, as Django's
	// PrimaryKeyRelatedField refuses it: the client meant something else.
	if err := checkIDsExist(ctx, ref, field, ids); err != nil {
		return nil, err
	}
	ids = nonNil(uniqueIDs(ids))
	// A change that changes nothing writes nothing, so the user's modified
	// time tells when their grants last changed.
	before, err := s.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	held := before.RoleIDs
	if field == "permissions" {
		held = before.PermissionIDs
	}
	if !changesList(held, op, ids) {
		return before, nil
	}
	var update bson.D
	switch op {
	case SetAdd:
		update = bson.D{{Key: "$addToSet", Value: bson.D{{Key: field, Value: bson.D{{Key: "$each", Value: ids}}}}}}
	case SetRemove:
		update = bson.D{{Key: "$pullAll", Value: bson.D{{Key: field, Value: ids}}}}
	default:
		update = bson.D{{Key: "$set", Value: bson.D{{Key: field, Value: ids}}}}
	}
	if op == SetExact {
		update[0].Value = append(update[0].Value.(bson.D), bson.E{Key: "modified", Value: s.nowUTC()})
	} else {
		update = append(update, bson.E{Key: "$set", Value: bson.D{{Key: "modified", Value: s.nowUTC()}}})
	}
	// The secrets are decoded into doc and go no further.
	var doc userDoc
	err = s.users().FindOneAndUpdate(ctx, byID(userID), update, docdb.ModifyOptions{}, &doc)
	if errors.Is(err, docdb.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("change %s of user %s: %w", field, userID, err)
	}
	return &doc.User, nil
}

// changesList tells whether op with ids would change the list held.
func changesList(held []ID, op SetOperation, ids []ID) bool {
	has := func(id ID) bool { return slices.Contains(held, id) }
	switch op {
	case SetAdd:
		return !all(ids, has)
	case SetRemove:
		return slices.ContainsFunc(ids, has)
	}
	return len(held) != len(ids) || !all(ids, has)
}

func all(ids []ID, ok func(ID) bool) bool {
	for _, id := range ids {
		if !ok(id) {
			return false
		}
	}
	return true
}

// RoleHolders returns the ids of the users holding a role (for dropping
// their cached permissions when the role changes).
func (s *Store) RoleHolders(ctx context.Context, roleID ID) ([]ID, error) {
	var rows []struct {
		ID ID `bson:"_id"`
	}
	if err := s.users().Find(ctx, bson.D{{Key: "roles", Value: roleID}}, docdb.FindOptions{Projection: idOnly}, &rows); err != nil {
		return nil, fmt.Errorf("find holders of role %s: %w", roleID, err)
	}
	ids := make([]ID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids, nil
}

// EffectivePermissions returns the codenames a user holds directly and
// through their roles, in two round trips (roles, then permissions).
func (s *Store) EffectivePermissions(ctx context.Context, u *User) ([]string, error) {
	ids := append([]ID(nil), u.PermissionIDs...)
	if len(u.RoleIDs) > 0 {
		roles, err := s.RolesByIDs(ctx, u.RoleIDs)
		if err != nil {
			return nil, err
		}
		for _, r := range roles {
			ids = append(ids, r.PermissionIDs...)
		}
	}
	perms, err := s.PermissionsByIDs(ctx, uniqueIDs(ids))
	if err != nil {
		return nil, err
	}
	codenames := make([]string, len(perms))
	for i, p := range perms {
		codenames[i] = p.Codename
	}
	return codenames, nil
}

func nonNil(ids []ID) []ID {
	if ids == nil {
		return []ID{}
	}
	return ids
}

func (s *Store) roles() docdb.Collection { return s.Collection(colRoles) }
