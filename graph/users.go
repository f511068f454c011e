package graph

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gatehouse/gatehouse/graph/model"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// listUsers answers the users fields (Query.users, Role.users).
func (r *Resolver) listUsers(ctx context.Context, f *store.UserFilter, orderBy []model.UserOrder, args pageArgs) (*model.UserConnection, error) {
	if err := checkUserFilter(f); err != nil {
		return nil, err
	}
	count := memo(func(ctx context.Context) (int, error) { return r.Store.CountUsers(ctx, f) })
	nodes, edges, info, err := list(ctx, args, count,
		func(ctx context.Context, pg store.Page) ([]store.User, error) {
			return r.Store.FindUsers(ctx, f, userSorts(orderBy), pg)
		},
		func(c string, n *store.User) model.UserEdge { return model.UserEdge{Cursor: c, Node: n} })
	if err != nil {
		return nil, err
	}
	return &model.UserConnection{Nodes: nodes, Edges: edges, PageInfo: info, Count: count}, nil
}

var userSortFields = map[model.UserOrderField]store.UserSortField{
	model.UserOrderFieldID:         store.UserSortID,
	model.UserOrderFieldUsername:   store.UserSortUsername,
	model.UserOrderFieldEmail:      store.UserSortEmail,
	model.UserOrderFieldFirstName:  store.UserSortFirstName,
	model.UserOrderFieldLastName:   store.UserSortLastName,
	model.UserOrderFieldDateJoined: store.UserSortDateJoined,
	model.UserOrderFieldLastLogin:  store.UserSortLastLogin,
}

func userSorts(orderBy []model.UserOrder) []store.UserSort {
	sorts := make([]store.UserSort, 0, len(orderBy))
	for _, o := range orderBy {
		dir := store.Ascending
		if o.Direction != nil && *o.Direction == model.OrderDirectionDesc {
			dir = store.Descending
		}
		sorts = append(sorts, store.UserSort{Field: userSortFields[o.Field], Direction: dir})
	}
	return sorts
}

func newUserFromSignUp(in model.SignUpInput) store.NewUser {
	return store.NewUser{
		Username:    in.Username,
		Email:       value(in.Email),
		FirstName:   value(in.FirstName),
		LastName:    value(in.LastName),
		PhoneNumber: value(in.PhoneNumber),
	}
}

func newUserFromCreate(in model.CreateUserInput) store.NewUser {
	return store.NewUser{
		Username:    in.Username,
		Email:       value(in.Email),
		FirstName:   value(in.FirstName),
		LastName:    value(in.LastName),
		Uname:       value(in.Uname),
		PhoneNumber: value(in.PhoneNumber),
		IsActive:    in.IsActive == nil || *in.IsActive,
		IsStaff:     in.IsStaff != nil && *in.IsStaff,
		IsSuperuser: in.IsSuperuser != nil && *in.IsSuperuser,
	}
}

// userFields are the optional fields update and replace share.
type userFields struct {
	Username, Email, FirstName, LastName, Uname, PhoneNumber graphql.Omittable[*string]
	IsActive, IsStaff, IsSuperuser                           graphql.Omittable[*bool]
}

// update turns given fields into a store update. Null is refused where the
// field cannot be empty; a null phone number clears it.
func (f userFields) update() (store.UserUpdate, error) {
	v := &fault.FieldErrors{}
	text := func(name string, o graphql.Omittable[*string], nullable bool) *string {
		val, set := o.ValueOK()
		switch {
		case !set:
			return nil
		case val == nil && nullable:
			empty := ""
			return &empty
		case val == nil:
			v.Add(name, "This field may not be null.")
			return nil
		}
		return val
	}
	flag := func(name string, o graphql.Omittable[*bool]) *bool {
		val, set := o.ValueOK()
		if !set {
			return nil
		}
		if val == nil {
			v.Add(name, "This field may not be null.")
			return nil
		}
		return val
	}
	u := store.UserUpdate{
		Username:    text("username", f.Username, false),
		Email:       text("email", f.Email, true),
		FirstName:   text("first_name", f.FirstName, false),
		LastName:    text("last_name", f.LastName, false),
		Uname:       text("uname", f.Uname, false),
		PhoneNumber: text("phone_number", f.PhoneNumber, true),
		IsActive:    flag("is_active", f.IsActive),
		IsStaff:     flag("is_staff", f.IsStaff),
		IsSuperuser: flag("is_superuser", f.IsSuperuser),
	}
	return u, v.Err()
}

func fieldsOfUpdate(in model.UpdateUserInput) userFields {
	return userFields{in.Username, in.Email, in.FirstName, in.LastName, in.Uname, in.PhoneNumber, in.IsActive, in.IsStaff, in.IsSuperuser}
}

func fieldsOfReplace(in model.ReplaceUserInput) userFields {
	return userFields{
		graphql.OmittableOf(&in.Username), in.Email, in.FirstName, in.LastName, in.Uname, in.PhoneNumber,
		in.IsActive, in.IsStaff, in.IsSuperuser,
	}
}

func value(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// userRef resolves a reference to another user (created_by, modified_by)
// through the request's loader, so a page of users costs one read for all
// the users they reference. A reference to a deleted user is null.
func (r *Resolver) userRef(ctx context.Context, id *store.ID) (*store.User, error) {
	if id == nil {
		return nil, nil
	}
	user, err := loadersFrom(ctx).user.Load(ctx, *id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return user, err
}
