package auth

import (
	"context"
	"net/netip"
	"testing"
)

func TestCallerCan(t *testing.T) {
	perms := NewPermissionSet("auth.view_user", "auth.change_user")
	tests := []struct {
		name     string
		caller   *Caller
		codename string
		want     bool
	}{
		{"anonymous", nil, "auth.view_user", false},
		{"active user with the permission", &Caller{IsActive: true, Permissions: perms}, "auth.view_user", true},
		{"active user without it", &Caller{IsActive: true, Permissions: perms}, "auth.delete_user", false},
		{"active user with no permissions at all", &Caller{IsActive: true}, "auth.view_user", false},
		{"inactive user with the permission", &Caller{Permissions: perms}, "auth.view_user", false},
		{"active superuser without it", &Caller{IsActive: true, IsSuperuser: true}, "auth.delete_user", true},
		{"inactive superuser", &Caller{IsSuperuser: true}, "auth.delete_user", false},
		{"staff is not superuser", &Caller{IsActive: true, IsStaff: true}, "auth.delete_user", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.caller.Can(tt.codename); got != tt.want {
				t.Errorf("Can(%q) = %v; want %v", tt.codename, got, tt.want)
			}
		})
	}
}

func TestCallerCloneIsDeep(t *testing.T) {
	orig := &Caller{UserID: 7, Username: "ann", IsActive: true, Permissions: NewPermissionSet("a")}
	cp := orig.Clone()
	cp.Username = "bob"
	cp.Permissions["b"] = struct{}{}
	if orig.Username != "ann" || orig.Permissions.Has("b") {
		t.Errorf("changing a clone changed the original: %+v", orig)
	}
	if (*Caller)(nil).Clone() != nil {
		t.Error("Clone of nil is not nil")
	}
}

func TestContextValues(t *testing.T) {
	ctx := context.Background()
	if c := CallerFrom(ctx); c != nil {
		t.Errorf("CallerFrom(empty context) = %+v; want nil", c)
	}
	if ip := ClientIPFrom(ctx); ip.IsValid() {
		t.Errorf("ClientIPFrom(empty context) = %v; want the zero Addr", ip)
	}
	// Another package's key with the same underlying value (int 0) must
	// not collide with ours.
	ctx = context.WithValue(ctx, 0, &Caller{UserID: 99})
	if c := CallerFrom(ctx); c != nil {
		t.Errorf("CallerFrom found another package's value: %+v", c)
	}
	want := &Caller{UserID: 1}
	ip := netip.MustParseAddr("203.0.113.9")
	ctx = WithClientIP(WithCaller(ctx, want), ip)
	if got := CallerFrom(ctx); got != want {
		t.Errorf("CallerFrom = %+v; want %+v", got, want)
	}
	if got := ClientIPFrom(ctx); got != ip {
		t.Errorf("ClientIPFrom = %v; want %v", got, ip)
	}
}
