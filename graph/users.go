package graph

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gatehouse/gatehouse/graph/model"
	"github.com/gatehouse/gatehouse/store"
)

// listUsers answers the users field: one store read for the page (plus a
// count only when `last` needs the end of the list).
func (r *Resolver) listUsers(ctx context.Context, filter *store.UserFilter, search *string, orderBy []model.UserOrder, args pageArgs) (*model.UserConnection, error) {
	w, err := args.resolve()
	if err != nil {
		return nil, err
	}
	f := &store.UserFilter{}
	if filter != nil {
		*f = *filter
	}
	if search != nil {
		f.Search = *search
	}
	conn := &model.UserConnection{Filter: f}
	if w.fromEnd {
		total, err := r.Accounts.Store.CountUsers(ctx, f)
		if err != nil {
			return nil, err
		}
		conn.Total = &total
		w = w.anchor(total)
	}
	users, err := r.Accounts.Store.FindUsers(ctx, f, userSorts(orderBy), w.page())
	if err != nil {
		return nil, err
	}
	hasNext := len(users) > w.end-w.start
	if hasNext {
		users = users[:w.end-w.start]
	}
	conn.Nodes = users
	conn.Edges = make([]model.UserEdge, len(users))
	for i := range users {
		conn.Edges[i] = model.UserEdge{Cursor: encodeCursor(w.start + i), Node: &users[i]}
	}
	conn.PageInfo = &model.PageInfo{HasNextPage: hasNext, HasPreviousPage: w.start > 0}
	if len(users) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[len(users)-1].Cursor
	}
	return conn, nil
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
		PhoneNumber: value(in.PhoneNumber),
		IsActive:    in.IsActive == nil || *in.IsActive,
		IsStaff:     in.IsStaff != nil && *in.IsStaff,
		IsSuperuser: in.IsSuperuser != nil && *in.IsSuperuser,
	}
}

// userFields are the optional fields update and replace share.
type userFields struct {
	Username, Email, FirstName, LastName, PhoneNumber graphql.Omittable[*string]
	IsActive, IsStaff, IsSuperuser                    graphql.Omittable[*bool]
}

// update turns given fields into a store update. Null is refused where the
// field cannot be empty; a null phone number clears it.
func (f userFields) update() (store.UserUpdate, error) {
	v := &store.ValidationError{}
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
		PhoneNumber: text("phone_number", f.PhoneNumber, true),
		IsActive:    flag("is_active", f.IsActive),
		IsStaff:     flag("is_staff", f.IsStaff),
		IsSuperuser: flag("is_superuser", f.IsSuperuser),
	}
	return u, v.Err()
}

func fieldsOfUpdate(in model.UpdateUserInput) userFields {
	return userFields{in.Username, in.Email, in.FirstName, in.LastName, in.PhoneNumber, in.IsActive, in.IsStaff, in.IsSuperuser}
}

func fieldsOfReplace(in model.ReplaceUserInput) userFields {
	return userFields{
		graphql.OmittableOf(&in.Username), in.Email, in.FirstName, in.LastName, in.PhoneNumber,
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
