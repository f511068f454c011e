package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store"
)

// Directives enforce the access rules declared in schema.graphqls. They are
// the one place where access is decided: a directive either denies with a
// coded error or calls next.
func Directives() DirectiveRoot {
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
		Staff: func(ctx context.Context, _ any, next graphql.Resolver, orSelf *string) (any, error) {
			caller, err := signedIn(ctx)
			if err != nil {
				return nil, err
			}
			if isStaff(caller) {
				return next(ctx)
			}
			if orSelf != nil && argumentID(ctx, *orSelf) == store.ID(caller.UserID) {
				return next(ctx)
			}
			return nil, forbidden("staff")
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

func isStaff(c *auth.Caller) bool { return c != nil && c.IsActive && (c.IsStaff || c.IsSuperuser) }

// argumentID reads an ID argument of the field being resolved (0 if absent).
func argumentID(ctx context.Context, name string) store.ID {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return 0
	}
	id, _ := fc.Args[name].(store.ID)
	return id
}
