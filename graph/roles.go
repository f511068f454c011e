package graph

import (
	"context"

	"github.com/gatehouse/gatehouse/graph/model"
	"github.com/gatehouse/gatehouse/store"
)

func (r *Resolver) listRoles(ctx context.Context, f *store.RoleFilter, args pageArgs) (*model.RoleConnection, error) {
	if err := checkFilterValues(f); err != nil {
		return nil, err
	}
	count := memo(func(ctx context.Context) (int, error) { return r.Store.CountRoles(ctx, f) })
	nodes, edges, info, err := list(ctx, args, count,
		func(ctx context.Context, pg store.Page) ([]store.Role, error) { return r.Store.FindRoles(ctx, f, pg) },
		func(c string, n *store.Role) model.RoleEdge { return model.RoleEdge{Cursor: c, Node: n} })
	if err != nil {
		return nil, err
	}
	return &model.RoleConnection{Nodes: nodes, Edges: edges, PageInfo: info, Count: count}, nil
}

func (r *Resolver) listPermissions(ctx context.Context, f *store.PermissionFilter, args pageArgs) (*model.PermissionConnection, error) {
	if err := checkFilterValues(f); err != nil {
		return nil, err
	}
	count := memo(func(ctx context.Context) (int, error) { return r.Store.CountPermissions(ctx, f) })
	nodes, edges, info, err := list(ctx, args, count,
		func(ctx context.Context, pg store.Page) ([]store.Permission, error) {
			return r.Store.FindPermissions(ctx, f, pg)
		},
		func(c string, n *store.Permission) model.PermissionEdge {
			return model.PermissionEdge{Cursor: c, Node: n}
		})
	if err != nil {
		return nil, err
	}
	return &model.PermissionConnection{Nodes: nodes, Edges: edges, PageInfo: info, Count: count}, nil
}

// rolesOf loads a user's roles through the request's loader: a page of
// users costs one read of roles in all.
func rolesOf(ctx context.Context, u *store.User) ([]store.Role, error) {
	return loadAll(ctx, loadersFrom(ctx).role, u.RoleIDs)
}

// permissionsIn loads permissions by id through the request's loader.
func permissionsIn(ctx context.Context, ids []store.ID) ([]store.Permission, error) {
	return loadAll(ctx, loadersFrom(ctx).permission, ids)
}

// effectivePermissions is a user's direct permissions and those of their
// roles, each once, in id order.
func effectivePermissions(ctx context.Context, u *store.User) ([]store.Permission, error) {
	roles, err := rolesOf(ctx, u)
	if err != nil {
		return nil, err
	}
	ids := append([]store.ID(nil), u.PermissionIDs...)
	for _, r := range roles {
		ids = append(ids, r.PermissionIDs...)
	}
	return permissionsIn(ctx, sortedUnique(ids))
}

func roleUpdate(in model.UpdateRoleInput) store.RoleUpdate {
	u := store.RoleUpdate{Name: in.Name, PermissionIDs: in.PermissionIds}
	if d, set := in.Description.ValueOK(); set {
		if d == nil {
			u.ClearDescription = true
		} else {
			u.Description = d
		}
	}
	return u
}
