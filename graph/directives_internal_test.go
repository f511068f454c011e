package graph

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/graph/model"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// The callers every directive is asked about. Jane is user 7.
var (
	anonymous   *auth.Caller
	deactivated = &auth.Caller{UserID: 9, Username: "gone", IsStaff: true, IsSuperuser: true}
	jane        = &auth.Caller{UserID: 7, Username: "jane", IsActive: true}
	editor      = &auth.Caller{UserID: 8, Username: "ed", IsActive: true, Permissions: auth.NewPermissionSet("change_user")}
	viewer      = &auth.Caller{UserID: 10, Username: "vi", IsActive: true, Permissions: auth.NewPermissionSet("view_permission")}
	staff       = &auth.Caller{UserID: 2, Username: "staff", IsActive: true, IsStaff: true}
	superuser   = &auth.Caller{UserID: 1, Username: "root", IsActive: true, IsSuperuser: true}
)

// asked runs a directive for caller and says how it ended: "" when it
// called the resolver, else the kind of its refusal.
func asked(t *testing.T, caller *auth.Caller, fc *graphql.FieldContext, run func(ctx context.Context, next graphql.Resolver) (any, error)) fault.Code {
	t.Helper()
	ctx := auth.WithCaller(context.Background(), caller)
	if fc != nil {
		ctx = withField(ctx, fc)
	}
	called := false
	_, err := run(ctx, func(context.Context) (any, error) { called = true; return nil, nil })
	if called != (err == nil) {
		t.Fatalf("called the resolver = %v with error %v", called, err)
	}
	if err == nil {
		return ""
	}
	return fault.CodeOf(err)
}

// withField puts fc in ctx below its parents, as the executor does
// (WithFieldContext links a field to the one in ctx).
func withField(ctx context.Context, fc *graphql.FieldContext) context.Context {
	if fc.Parent != nil {
		ctx = withField(ctx, fc.Parent)
	}
	return graphql.WithFieldContext(ctx, fc)
}

func TestDirectives(t *testing.T) {
	d := Directives(nil)
	user7 := &store.User{ID: 7}
	onUser7 := &graphql.FieldContext{Args: map[string]any{"id": store.ID(7)}}
	orStaff := true
	janesName := "jane"
	const (
		allowed         = fault.Code("")
		unauthenticated = fault.Unauthenticated
		forbidden       = fault.Forbidden
	)
	type want map[*auth.Caller]fault.Code
	for _, tc := range []struct {
		name string
		fc   *graphql.FieldContext
		run  func(ctx context.Context, next graphql.Resolver) (any, error)
		want want
	}{
		{"@public lets anyone in", nil, func(ctx context.Context, next graphql.Resolver) (any, error) {
			return d.Public(ctx, nil, next)
		}, want{anonymous: allowed, deactivated: allowed, jane: allowed}},
		{"@auth wants an active caller", nil, func(ctx context.Context, next graphql.Resolver) (any, error) {
			return d.Auth(ctx, nil, next)
		}, want{anonymous: unauthenticated, deactivated: unauthenticated, jane: allowed, superuser: allowed}},
		{"@hasPermission(user, CHANGE)", nil, func(ctx context.Context, next graphql.Resolver) (any, error) {
			return d.HasPermission(ctx, nil, next, "user", model.ActionChange, nil, nil)
		}, want{anonymous: unauthenticated, deactivated: unauthenticated, jane: forbidden, viewer: forbidden, staff: forbidden, editor: allowed, superuser: allowed}},
		{"@hasPermission(orSelf: id) on user 7", onUser7, func(ctx context.Context, next graphql.Resolver) (any, error) {
			return d.HasPermission(ctx, nil, next, "user", model.ActionView, []string{"id"}, nil)
		}, want{anonymous: unauthenticated, jane: allowed, editor: forbidden, staff: forbidden, superuser: allowed}},
		{"@hasPermission(orStaff: true)", nil, func(ctx context.Context, next graphql.Resolver) (any, error) {
			return d.HasPermission(ctx, nil, next, "user", model.ActionView, nil, &orStaff)
		}, want{jane: forbidden, staff: allowed, superuser: allowed}},
		{"@holdings of user 7", &graphql.FieldContext{Object: "User"}, func(ctx context.Context, next graphql.Resolver) (any, error) {
			return d.Holdings(ctx, user7, next)
		}, want{anonymous: unauthenticated, jane: allowed, editor: allowed, viewer: allowed, staff: allowed, superuser: allowed,
			&auth.Caller{UserID: 11, IsActive: true}: forbidden}},
		{"@staff, or user 7", nil, func(ctx context.Context, next graphql.Resolver) (any, error) {
			id := store.ID(7)
			return d.Staff(ctx, nil, next, &id, nil)
		}, want{anonymous: unauthenticated, deactivated: unauthenticated, jane: allowed, editor: forbidden, staff: allowed, superuser: allowed}},
		{"@staff, naming nobody", nil, func(ctx context.Context, next graphql.Resolver) (any, error) {
			return d.Staff(ctx, nil, next, nil, nil)
		}, want{anonymous: unauthenticated, jane: forbidden, staff: allowed, superuser: allowed}},
		{"@hasPermission(orSelf: username) is never self", &graphql.FieldContext{Args: map[string]any{"username": &janesName}}, func(ctx context.Context, next graphql.Resolver) (any, error) {
			return d.HasPermission(ctx, nil, next, "user", model.ActionChange, []string{"username"}, nil)
		}, want{jane: forbidden, editor: allowed}},
		{"@superuser", nil, func(ctx context.Context, next graphql.Resolver) (any, error) {
			return d.Superuser(ctx, nil, next)
		}, want{anonymous: unauthenticated, deactivated: unauthenticated, staff: forbidden, editor: forbidden, superuser: allowed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for caller, w := range tc.want {
				if got := asked(t, caller, tc.fc, tc.run); got != w {
					name := "anonymous"
					if caller != nil {
						name = caller.Username
					}
					t.Errorf("%s: got %q, want %q", name, got, w)
				}
			}
		})
	}
}

// A mutation's own answer may be shown whole to the caller it let write
// it; a user a query reached may not.
func TestHoldingsOfAMutationsAnswer(t *testing.T) {
	d := Directives(nil)
	stranger := &auth.Caller{UserID: 11, IsActive: true}
	holdings := func(ctx context.Context, next graphql.Resolver) (any, error) {
		return d.Holdings(ctx, &store.User{ID: 7}, next)
	}
	// User.roles, on the user that root field answered.
	rolesOf := func(root, field string) *graphql.FieldContext {
		answered := &graphql.FieldContext{Object: root, Field: graphql.CollectedField{Field: &ast.Field{Alias: field, Name: field}}}
		return &graphql.FieldContext{Object: "User", Parent: answered, Field: graphql.CollectedField{Field: &ast.Field{Alias: "roles", Name: "roles"}}}
	}
	if got := asked(t, stranger, rolesOf("Mutation", "updateUser"), holdings); got != "" {
		t.Errorf("a mutation's answer: got %q, want it shown", got)
	}
	if got := asked(t, stranger, rolesOf("Query", "user"), holdings); got != fault.Forbidden {
		t.Errorf("a query's user: got %q, want forbidden", got)
	}
}
