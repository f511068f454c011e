package store

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/fault"
)

// Permission allows one action on one kind of resource: codename
// "view_user", name "Can view user", resource "user".
type Permission struct {
	ID       ID     `bson:"_id"`
	Codename string `bson:"codename"`
	Name     string `bson:"name"`
	Resource string `bson:"resource"`
	// Custom permissions are made by superusers; built-in ones are made by
	// Migrate and cannot be deleted.
	Custom bool `bson:"custom"`
}

// Resources and Actions make the built-in permissions, in Django's order
// (add, change, delete, view per model). A permission's id is fixed by its
// place here, so ids are the same on every fresh store: legacy clients
// send them as numbers ({"permissions": [1, 2, 3]}).
var (
	Resources = []string{"user", "role", "permission", "client", "tag", "operator_code", "mailing", "message", "statistic"}
	Actions   = []string{"add", "change", "delete", "view"}
)

// Codename is the permission codename of an action on a resource.
func Codename(action, resource string) string { return action + "_" + resource }

// builtinPermissions lists the permissions Migrate creates.
func builtinPermissions() []Permission {
	perms := make([]Permission, 0, len(Resources)*len(Actions))
	for _, r := range Resources {
		for _, a := range Actions {
			perms = append(perms, Permission{
				ID:       ID(len(perms) + 1),
				Codename: Codename(a, r),
				Name:     "Can " + a + " " + strings.ReplaceAll(r, "_", " "),
				Resource: r,
			})
		}
	}
	return perms
}

// seedPermissions inserts the built-in permissions that are missing and
// moves the permission counter past them, so custom ones never take their ids.
func (s *Store) seedPermissions(ctx context.Context) error {
	perms := builtinPermissions()
	models := make([]docdb.Write, len(perms))
	for i, p := range perms {
		models[i] = docdb.Write{Filter: byID(p.ID), Update: bson.D{{Key: "$setOnInsert", Value: p}}, Upsert: true}
	}
	if _, err := s.bulkWrite(ctx, s.permissions(), models); err != nil {
		return fmt.Errorf("seed permissions: %w", err)
	}
	_, err := s.Collection(colCounters).UpdateOne(ctx, byID(colPermissions), bson.D{{Key: "$max", Value: bson.D{{Key: "seq", Value: int64(len(perms))}}}}, true)
	if err != nil && !isDuplicateKey(err) {
		return fmt.Errorf("seed permission counter: %w", err)
	}
	return nil
}

// NewPermission is what creating a custom permission takes.
type NewPermission struct {
	Codename string
	Name     string
	Resource string
}

var codenamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func (n *NewPermission) validate() error {
	v := &fault.FieldErrors{}
	switch {
	case n.Codename == "":
		v.Add("codename", msgBlank)
	case len(n.Codename) > 100:
		v.Add("codename", msgMaxLength(100))
	case !codenamePattern.MatchString(n.Codename):
		v.Add("codename", "Enter a valid codename: lower-case letters, digits and underscores, starting with a letter.")
	}
	switch {
	case strings.TrimSpace(n.Name) == "":
		v.Add("name", msgBlank)
	case utf8.RuneCountInString(n.Name) > 255:
		v.Add("name", msgMaxLength(255))
	}
	switch {
	case n.Resource == "":
		v.Add("resource", msgBlank)
	case len(n.Resource) > 100:
		v.Add("resource", msgMaxLength(100))
	case !codenamePattern.MatchString(n.Resource):
		v.Add("resource", "Enter a valid resource name: lower-case letters, digits and underscores, starting with a letter.")
	}
	return v.Err()
}

// CreatePermission stores a custom permission. Errors: fault.Invalid
// (invalid, or the codename is taken), ErrUnavailable.
func (s *Store) CreatePermission(ctx context.Context, n NewPermission) (*Permission, error) {
	if err := n.validate(); err != nil {
		return nil, err
	}
	var p Permission
	_, err := s.insertWithNewID(ctx, colPermissions, func(id ID) any {
		p = Permission{ID: id, Codename: n.Codename, Name: n.Name, Resource: n.Resource, Custom: true}
		return p
	})
	if isDuplicateKey(err) {
		return nil, fault.Field("codename", "permission with this codename already exists.")
	}
	if err != nil {
		return nil, fmt.Errorf("create permission: %w", err)
	}
	return &p, nil
}

// DeletePermission removes a custom permission and takes it away from every
// role and user. Errors: ErrNotFound, fault.Invalid (a built-in one).
func (s *Store) DeletePermission(ctx context.Context, id ID) error {
	p, err := s.PermissionByID(ctx, id)
	if err != nil {
		return err
	}
	if !p.Custom {
		return fault.Field(fault.NonField, "Built-in permissions cannot be deleted.")
	}
	// Take the permission from its holders first: if the delete below
	// fails, nobody holds a permission that no longer exists.
	pull := bson.D{{Key: "$pull", Value: bson.D{{Key: "permissions", Value: id}}}}
	for _, coll := range []docdb.Collection{s.roles(), s.users()} {
		if _, err := coll.UpdateMany(ctx, bson.D{{Key: "permissions", Value: id}}, pull); err != nil {
			return fmt.Errorf("revoke permission %s from %s: %w", id, coll.Name(), err)
		}
	}
	if _, err := s.permissions().DeleteOne(ctx, byID(id)); err != nil {
		return fmt.Errorf("delete permission %s: %w", id, err)
	}
	return nil
}

// PermissionByID returns one permission. Errors: ErrNotFound, ErrUnavailable.
func (s *Store) PermissionByID(ctx context.Context, id ID) (*Permission, error) {
	var p Permission
	if err := findByID(ctx, s.permissions(), id, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// PermissionFilter selects permissions.
type PermissionFilter struct {
	IDs      []ID
	Codename *StringLookup
	Resource *StringLookup
	Name     *StringLookup
	Custom   *bool
}

// Values counts the values the filter holds: each lookup given, each item
// of its lists.
func (f *PermissionFilter) Values() int {
	if f == nil {
		return 0
	}
	return len(f.IDs) + f.Codename.Values() + f.Resource.Values() + f.Name.Values() + given(f.Custom)
}

func (f *PermissionFilter) document() bson.D {
	if f == nil {
		return bson.D{}
	}
	var and bson.A
	if f.IDs != nil {
		and = append(and, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: idKeys(f.IDs)}}}})
	}
	and = append(and, f.Codename.conditions("codename")...)
	and = append(and, f.Resource.conditions("resource")...)
	and = append(and, f.Name.conditions("name")...)
	and = append(and, boolCondition("custom", f.Custom)...)
	return allOf(and)
}

// FindPermissions returns the matching permissions in id order.
func (s *Store) FindPermissions(ctx context.Context, f *PermissionFilter, page Page) ([]Permission, error) {
	return findPage[Permission](ctx, s.permissions(), f.document(), page)
}

// CountPermissions counts the matching permissions.
func (s *Store) CountPermissions(ctx context.Context, f *PermissionFilter) (int, error) {
	return count(ctx, s.permissions(), f.document())
}

// PermissionsByIDs returns the permissions with these ids that exist, in
// one round trip.
func (s *Store) PermissionsByIDs(ctx context.Context, ids []ID) ([]Permission, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.FindPermissions(ctx, &PermissionFilter{IDs: ids}, Page{})
}

// checkIDsExist refuses ids that name no document, naming them:
// {"permissions": ["Invalid pk \"99\" - object does not exist."]}, as DRF
// words it.
func checkIDsExist(ctx context.Context, coll docdb.Collection, field string, ids []ID) error {
	if len(ids) == 0 {
		return nil
	}
	var found []struct {
		ID ID `bson:"_id"`
	}
	err := coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: idKeys(ids)}}}}, docdb.FindOptions{Projection: idOnly}, &found)
	if err != nil {
		return fmt.Errorf("check %s: %w", field, err)
	}
	have := make(map[ID]bool, len(found))
	for _, f := range found {
		have[f.ID] = true
	}
	v := &fault.FieldErrors{}
	for _, id := range uniqueIDs(ids) {
		if !have[id] {
			v.Add(field, fmt.Sprintf("Invalid pk \"%s\" - object does not exist.", id))
		}
	}
	return v.Err()
}

func uniqueIDs(ids []ID) []ID {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// findPage reads one page of documents in id order.
func findPage[T any](ctx context.Context, coll docdb.Collection, filter bson.D, page Page) ([]T, error) {
	opts := docdb.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}, Skip: int64(page.Offset), Limit: int64(page.Limit)}
	out := []T{}
	if err := coll.Find(ctx, filter, opts, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func count(ctx context.Context, coll docdb.Collection, filter bson.D) (int, error) {
	n, err := coll.Count(ctx, filter)
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

func (s *Store) permissions() docdb.Collection { return s.Collection(colPermissions) }
