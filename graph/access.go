package graph

import (
	"context"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store"
)

// Access changes who may do what: users' direct permissions and roles, and
// the roles and custom permissions themselves. The directives decide
// whether a caller may call these at all; the rules here stop the
// escalations a permission alone would allow.
type Access struct {
	Store *store.Store
	// Tokens is told whose permissions changed, so this instance's cached
	// callers are dropped at once (other instances within the cache TTL).
	Tokens *auth.Authenticator
}

// ChangeUserPermissions grants, revokes or sets a user's direct
// permissions.
func (a *Access) ChangeUserPermissions(ctx context.Context, caller *auth.Caller, userID store.ID, op store.SetOperation, ids []store.ID) (*store.User, error) {
	if err := a.guardUserChange(ctx, caller, userID, op, ids); err != nil {
		return nil, err
	}
	user, err := a.Store.ChangeUserPermissions(ctx, userID, op, ids)
	if err != nil {
		return nil, err
	}
	a.Tokens.ForgetUser(int64(userID))
	return user, nil
}

// ChangeUserRoles assigns or unassigns roles.
func (a *Access) ChangeUserRoles(ctx context.Context, caller *auth.Caller, userID store.ID, op store.SetOperation, ids []store.ID) (*store.User, error) {
	if err := a.guardRoleChange(ctx, caller, userID, op, ids); err != nil {
		return nil, err
	}
	user, err := a.Store.ChangeUserRoles(ctx, userID, op, ids)
	if err != nil {
		return nil, err
	}
	a.Tokens.ForgetUser(int64(userID))
	return user, nil
}

// mayChangeUser: nobody but a superuser changes their own permissions or
// roles; only staff change a staff account's, and only a superuser a
// superuser's (the rule of Accounts). It tells whether what is handed out
// must also be checked: nobody but staff (who administer users, as in
// Django) hands out a permission they do not hold.
func (a *Access) mayChangeUser(ctx context.Context, caller *auth.Caller, userID store.ID, op store.SetOperation) (checkGrants bool, err error) {
	if caller.IsSuperuser {
		return false, nil
	}
	if isSelf(caller, userID) {
		return false, forbidden("users cannot change their own permissions or roles")
	}
	target, err := a.Store.UserByID(ctx, userID)
	if err != nil {
		return false, err
	}
	if err := mayManage(caller, target); err != nil {
		return false, err
	}
	return op != store.SetRemove && !caller.IsStaff, nil
}

func (a *Access) guardUserChange(ctx context.Context, caller *auth.Caller, userID store.ID, op store.SetOperation, ids []store.ID) error {
	if check, err := a.mayChangeUser(ctx, caller, userID, op); !check {
		return err
	}
	perms, err := a.Store.PermissionsByIDs(ctx, ids)
	if err != nil {
		return err
	}
	return holdsAll(caller, perms)
}

func (a *Access) guardRoleChange(ctx context.Context, caller *auth.Caller, userID store.ID, op store.SetOperation, ids []store.ID) error {
	if check, err := a.mayChangeUser(ctx, caller, userID, op); !check {
		return err
	}
	roles, err := a.Store.RolesByIDs(ctx, ids)
	if err != nil {
		return err
	}
	var permIDs []store.ID
	for _, r := range roles {
		permIDs = append(permIDs, r.PermissionIDs...)
	}
	perms, err := a.Store.PermissionsByIDs(ctx, permIDs)
	if err != nil {
		return err
	}
	return holdsAll(caller, perms)
}

// holdsAll refuses to hand out a permission the caller does not hold.
func holdsAll(caller *auth.Caller, perms []store.Permission) error {
	for _, p := range perms {
		if !caller.Can(p.Codename) {
			return missingPermission(p.Codename)
		}
	}
	return nil
}

// CreateRole makes a role; its permissions must be ones the caller holds.
func (a *Access) CreateRole(ctx context.Context, caller *auth.Caller, n store.NewRole) (*store.Role, error) {
	if err := a.canHandOut(ctx, caller, n.PermissionIDs); err != nil {
		return nil, err
	}
	return a.Store.CreateRole(ctx, n)
}

// UpdateRole changes a role, and drops its holders' cached permissions.
func (a *Access) UpdateRole(ctx context.Context, caller *auth.Caller, id store.ID, u store.RoleUpdate) (*store.Role, error) {
	if err := a.canHandOut(ctx, caller, u.PermissionIDs); err != nil {
		return nil, err
	}
	role, err := a.Store.UpdateRole(ctx, id, u)
	if err != nil {
		return nil, err
	}
	if u.PermissionIDs != nil {
		if err := a.forgetHolders(ctx, id); err != nil {
			return nil, err
		}
	}
	return role, nil
}

// DeleteRole deletes a role, and drops its holders' cached permissions.
func (a *Access) DeleteRole(ctx context.Context, id store.ID) error {
	holders, err := a.Store.RoleHolders(ctx, id)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteRole(ctx, id); err != nil {
		return err
	}
	a.forgetUsers(holders)
	return nil
}

// DeletePermission deletes a custom permission; anyone may have held it, so
// every cached caller is dropped.
func (a *Access) DeletePermission(ctx context.Context, id store.ID) error {
	if err := a.Store.DeletePermission(ctx, id); err != nil {
		return err
	}
	a.Tokens.ForgetAll()
	return nil
}

func (a *Access) canHandOut(ctx context.Context, caller *auth.Caller, ids []store.ID) error {
	if caller.IsSuperuser || len(ids) == 0 {
		return nil
	}
	perms, err := a.Store.PermissionsByIDs(ctx, ids)
	if err != nil {
		return err
	}
	return holdsAll(caller, perms)
}

func (a *Access) forgetHolders(ctx context.Context, roleID store.ID) error {
	holders, err := a.Store.RoleHolders(ctx, roleID)
	if err != nil {
		return err
	}
	a.forgetUsers(holders)
	return nil
}

func (a *Access) forgetUsers(ids []store.ID) {
	for _, id := range ids {
		a.Tokens.ForgetUser(int64(id))
	}
}
