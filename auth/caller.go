package auth

import (
	"context"
	"maps"
	"net/netip"
)

// Caller is an authenticated user as the rest of the gateway sees it: who,
// whether they may act at all, and what they may do. A *Caller taken from a
// context or from a CallerCache is shared between requests and must be
// treated as read-only; Clone it to change anything.
type Caller struct {
	UserID      int64
	Username    string
	IsActive    bool
	IsStaff     bool
	IsSuperuser bool
	Permissions PermissionSet
	// TokenDigest is the digest of the token the caller presented, so that
	// sign-out can revoke exactly that token.
	TokenDigest string
	// Record is the user record the caller was made from, in the store's
	// own type (auth does not know it), as read when the token was checked:
	// while the caller is cached, a request about the caller themself needs
	// no read of its own. Shared like the rest: never modified.
	Record any
}

// PermissionSet holds the codenames of a user's permissions, direct and
// through roles, as the store resolved them.
type PermissionSet map[string]struct{}

// NewPermissionSet returns a set holding codenames.
func NewPermissionSet(codenames ...string) PermissionSet {
	s := make(PermissionSet, len(codenames))
	for _, c := range codenames {
		s[c] = struct{}{}
	}
	return s
}

// Has reports whether codename is in the set. It knows nothing of
// superusers or inactive users: authorization decisions use Caller.Can.
func (s PermissionSet) Has(codename string) bool {
	_, ok := s[codename]
	return ok
}

// Can reports whether the caller holds the permission codename, with
// Django's rules for User.has_perm: nobody anonymous, nobody inactive (not
// even a superuser), every active superuser, and otherwise membership.
func (c *Caller) Can(codename string) bool {
	switch {
	case c == nil || !c.IsActive:
		return false
	case c.IsSuperuser:
		return true
	}
	return c.Permissions.Has(codename)
}

// Clone returns a deep copy of c (nil for nil), which the caller may modify.
func (c *Caller) Clone() *Caller {
	if c == nil {
		return nil
	}
	cp := *c
	cp.Permissions = maps.Clone(c.Permissions)
	return &cp
}

// ctxKey keeps this package's context values out of reach of other
// packages' keys.
type ctxKey int

const (
	callerKey ctxKey = iota
	clientIPKey
)

// Staff tells a caller staff rules let through: staff or a superuser.
func (c *Caller) Staff() bool { return c != nil && (c.IsStaff || c.IsSuperuser) }

// WithCaller returns a context carrying c as the authenticated caller.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey, c)
}

// CallerFrom returns the caller WithCaller stored, or nil for an anonymous
// request. Treat the result as read-only.
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey).(*Caller)
	return c
}

// WithClientIP returns a context carrying the client's IP address, as
// TrustedProxies.ClientIP determined it.
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey, ip)
}

// ClientIPFrom returns the address WithClientIP stored, or the zero
// netip.Addr (IsValid false) when there is none.
func ClientIPFrom(ctx context.Context) netip.Addr {
	ip, _ := ctx.Value(clientIPKey).(netip.Addr)
	return ip
}
