package graph

import (
	"context"
	"errors"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/graph/model"
	"github.com/gatehouse/gatehouse/store"
)

// Directives enforce the access rules the schema declares (schema.graphqls
// and graph/schema/). They are the one place where access is decided: a
// directive either denies with a coded error or calls next. The REST
// dialects run GraphQL operations, so they inherit every rule. users is
// where a rule that lets users act on themselves finds the user a
// username names (see namesCaller).
func Directives(users *store.Store) DirectiveRoot {
	return DirectiveRoot{
		Public: func(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
			return next(ctx)
		},
		Auth: func(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
			if _, err := signedIn(ctx); err != nil {
				return nil, err
			}
			return next(ctx)
		},
		HasPermission: func(ctx context.Context, _ any, next graphql.Resolver, resource string, action model.Action, orSelf []string, orStaff *bool) (any, error) {
			caller, err := signedIn(ctx)
			if err != nil {
				return nil, err
			}
			codename := store.Codename(strings.ToLower(string(action)), resource)
			if caller.Can(codename) ||
				actsOnSelf(ctx, caller, orSelf) ||
				(orStaff != nil && *orStaff && caller.IsStaff) {
				return next(ctx)
			}
			return nil, missingPermission(codename)
		},
		Holdings: func(ctx context.Context, obj any, next graphql.Resolver) (any, error) {
			if answeredByMutation(ctx) {
				return next(ctx)
			}
			caller, err := signedIn(ctx)
			if err != nil {
				return nil, err
			}
			if isOwnUser(caller, obj) || caller.IsStaff ||
				caller.Can(codenameViewPermission) || caller.Can(codenameChangeUser) {
				return next(ctx)
			}
			return nil, missingPermission(codenameViewPermission)
		},
		// Staff is asked on a whole operation (the v1users dialect asks it
		// on each of its own): it runs before any field, so a caller it
		// refuses gets nothing done, whatever the fields' own rules allow.
		Staff: func(ctx context.Context, _ any, next graphql.Resolver, orUser *store.ID, orUsername *string) (any, error) {
			caller, err := signedIn(ctx)
			if err != nil {
				return nil, err
			}
			if caller.Staff() {
				return next(ctx)
			}
			self, err := namesCaller(ctx, users, caller, orUser, orUsername)
			if err != nil {
				return nil, err
			}
			if self {
				return next(ctx)
			}
			return nil, forbidden("staff")
		},
		Superuser: func(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
			caller, err := signedIn(ctx)
			if err != nil {
				return nil, err
			}
			if !caller.IsSuperuser {
				return nil, forbidden("superuser")
			}
			return next(ctx)
		},
	}
}

// signedIn returns the caller, or UNAUTHENTICATED for an anonymous one.
// (A request with a bad or revoked token never gets this far: the
// authenticator answers it with 401.)
func signedIn(ctx context.Context) (*auth.Caller, error) {
	caller := auth.CallerFrom(ctx)
	if caller == nil || !caller.IsActive {
		return nil, errUnauthenticated
	}
	return caller, nil
}

// Who "the user themself" is, for every rule that lets users act on
// themselves, is decided by user id alone, never by comparing text a
// client sent with the caller's username: "1" in a path is an id to one
// reader and a username to another (a user named "1" would read user 1), and
// the username a cached caller carries may have passed to someone else
// since it was read.

// actsOnSelf tells whether one of the named arguments of the field being
// resolved holds the caller's id. An argument of any other type (a
// username) never names the caller.
func actsOnSelf(ctx context.Context, caller *auth.Caller, args []string) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return false
	}
	for _, name := range args {
		switch v := fc.Args[name].(type) {
		case store.ID:
			if isSelf(caller, v) {
				return true
			}
		case *store.ID:
			if v != nil && isSelf(caller, *v) {
				return true
			}
		}
	}
	return false
}

// namesCaller tells whether an operation names the caller: by id, by
// username, or both, each of those given must be the caller's user, and
// at least one must be given. A username is looked up in the store and
// the user found compared by id; a username nobody holds names nobody.
func namesCaller(ctx context.Context, users *store.Store, caller *auth.Caller, id *store.ID, username *string) (bool, error) {
	if id == nil && username == nil {
		return false, nil
	}
	if id != nil && !isSelf(caller, *id) {
		return false, nil
	}
	if username != nil {
		u, err := users.UserByUsername(ctx, *username)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return isSelf(caller, u.ID), nil
	}
	return true, nil
}

// isOwnUser tells whether the object whose field is resolved is the
// caller's own user.
func isOwnUser(caller *auth.Caller, obj any) bool {
	u, ok := obj.(*store.User)
	return ok && isSelf(caller, u.ID)
}

// The permissions that let a caller see what other users hold (@holdings).
var (
	codenameViewPermission = store.Codename("view", "permission")
	codenameChangeUser     = store.Codename("change", "user")
)

// answeredByMutation tells whether the object whose field is resolved is
// what a mutation answered: its own result, or the user of the AuthPayload
// signIn and signUp answer. The mutation's rule has just let the caller
// write that object (or, for signIn, given its password), so its answer
// may show it whole; an object reached through it (createdBy) is not.
func answeredByMutation(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Parent == nil {
		return false
	}
	result := fc.Parent // the field that answered the object
	if result.Object == "AuthPayload" {
		result = result.Parent
	}
	return result != nil && result.Object == "Mutation" && len(result.Path()) == 1
}
