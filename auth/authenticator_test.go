package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLookup is a CallerLookup over a map of digests, counting calls.
type fakeLookup struct {
	mu      sync.Mutex
	callers map[string]*Caller
	errs    map[string]error
	calls   int
	// during, if set, runs inside each lookup, to simulate what happens
	// elsewhere while the store is being asked.
	during func()
}

func (f *fakeLookup) CallerByToken(_ context.Context, digest string) (*Caller, error) {
	f.mu.Lock()
	f.calls++
	c, err, during := f.callers[digest], f.errs[digest], f.during
	f.mu.Unlock()
	if during != nil {
		during()
	}
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, ErrInvalidToken
	}
	return c.Clone(), nil
}

func (f *fakeLookup) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

var errStoreDown = errors.New("server selection timeout: mongodb://admin:secret@db:27017")

// Keys of the fake store's tokens.
const (
	keyAnn      = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	keyAnn2     = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2"
	keyBob      = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	keyInactive = "cccccccccccccccccccccccccccccccccccccccc" // the store says inactive
	keySlipped  = "dddddddddddddddddddddddddddddddddddddddd" // the store forgot to check
	keyBroken   = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	keyUnknown  = "ffffffffffffffffffffffffffffffffffffffff"
)

func newFakeLookup() *fakeLookup {
	ann := &Caller{UserID: 1, Username: "ann", IsActive: true, Permissions: NewPermissionSet("auth.view_user")}
	return &fakeLookup{
		callers: map[string]*Caller{
			Digest(keyAnn):     ann,
			Digest(keyAnn2):    ann,
			Digest(keyBob):     {UserID: 2, Username: "bob", IsActive: true},
			Digest(keySlipped): {UserID: 4, Username: "dan", IsActive: false},
		},
		errs: map[string]error{
			Digest(keyInactive): ErrUserInactive,
			Digest(keyBroken):   errStoreDown,
		},
	}
}

func TestAuthenticate(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		wantUser string // "" for no caller
		wantErr  error
		lookups  int
	}{
		{"no header", "", "", nil, 0},
		{"another scheme", "Basic YW5uOnB3", "", nil, 0},
		{"Token", "Token " + keyAnn, "ann", nil, 1},
		{"lower-case token", "token " + keyAnn, "ann", nil, 1},
		{"Bearer", "Bearer " + keyBob, "bob", nil, 1},
		{"keyword alone", "Token", "", ErrNoCredentials, 0},
		{"spaces in key", "Token a b", "", ErrTokenHasSpaces, 0},
		{"invalid UTF-8", "Token \xff", "", ErrTokenInvalidChars, 0},
		{"short key", "Token abc", "", ErrInvalidToken, 0},
		{"long key", "Token " + keyAnn + "a", "", ErrInvalidToken, 0},
		{"upper-case key", "Token " + strings.ToUpper(keyAnn), "", ErrInvalidToken, 0},
		{"non-hex key", "Token " + strings.Repeat("z", 40), "", ErrInvalidToken, 0},
		{"NoSQL operator as key", `Token {"$ne":null}`, "", ErrInvalidToken, 0},
		{"unknown key", "Token " + keyUnknown, "", ErrInvalidToken, 1},
		{"inactive user", "Token " + keyInactive, "", ErrUserInactive, 1},
		{"inactive user the store let through", "Token " + keySlipped, "", ErrUserInactive, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeLookup()
			a := NewAuthenticator(f, NewCallerCache(time.Minute, 100, nil))
			c, err := a.Authenticate(t.Context(), tt.header)
			if err != tt.wantErr {
				t.Errorf("error = %v; want %v", err, tt.wantErr)
			}
			switch {
			case tt.wantUser == "" && c != nil:
				t.Errorf("caller = %+v; want none", c)
			case tt.wantUser != "" && (c == nil || c.Username != tt.wantUser):
				t.Errorf("caller = %+v; want %s", c, tt.wantUser)
			}
			if got := f.Calls(); got != tt.lookups {
				t.Errorf("%d lookups; want %d", got, tt.lookups)
			}
		})
	}
}

func TestAuthenticateSetsTokenDigest(t *testing.T) {
	a := NewAuthenticator(newFakeLookup(), nil)
	c, err := a.Authenticate(t.Context(), "Token "+keyAnn)
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenDigest != Digest(keyAnn) {
		t.Errorf("TokenDigest = %q; want Digest(key)", c.TokenDigest)
	}
}

func TestAuthenticateStoreFailure(t *testing.T) {
	f := newFakeLookup()
	a := NewAuthenticator(f, NewCallerCache(time.Minute, 100, nil))
	for range 2 {
		c, err := a.Authenticate(t.Context(), "Token "+keyBroken)
		if c != nil || !errors.Is(err, errStoreDown) {
			t.Fatalf("Authenticate = %+v, %v; want the store's error", c, err)
		}
		if IsRefusal(err) {
			t.Errorf("a store failure came back as a refusal (a 401): %v", err)
		}
	}
	if got := f.Calls(); got != 2 {
		t.Errorf("%d lookups; want 2: failures must not be cached", got)
	}
}

func TestAuthenticateNilCallerFromLookup(t *testing.T) {
	a := NewAuthenticator(lookupFunc(func(context.Context, string) (*Caller, error) { return nil, nil }), nil)
	c, err := a.Authenticate(t.Context(), "Token "+keyAnn)
	if c != nil || err == nil {
		t.Fatalf("Authenticate = %+v, %v; want an error", c, err)
	}
	if IsRefusal(err) {
		t.Errorf("a broken lookup came back as a refusal (a 401): %v", err)
	}
}

type lookupFunc func(context.Context, string) (*Caller, error)

func (f lookupFunc) CallerByToken(ctx context.Context, digest string) (*Caller, error) {
	return f(ctx, digest)
}

func TestAuthenticateCaches(t *testing.T) {
	tests := []struct {
		name    string
		steps   []string // headers, or one of the actions in the switch below
		lookups int
	}{
		{"a known token is looked up once", []string{"Token " + keyAnn, "Token " + keyAnn, "Bearer " + keyAnn}, 1},
		{"each token is its own entry", []string{"Token " + keyAnn, "Token " + keyAnn2, "Token " + keyAnn2}, 2},
		{"an unknown token is never cached", []string{"Token " + keyUnknown, "Token " + keyUnknown}, 2},
		{"an inactive user is never cached", []string{"Token " + keyInactive, "Token " + keyInactive}, 2},
		{"Forget drops one token", []string{"Token " + keyAnn, "Token " + keyAnn2, "forget ann-token", "Token " + keyAnn, "Token " + keyAnn2}, 3},
		{"ForgetUser drops all the user's tokens", []string{"Token " + keyAnn, "Token " + keyAnn2, "Token " + keyBob, "forget user 1", "Token " + keyAnn, "Token " + keyAnn2, "Token " + keyBob}, 5},
		{"ForgetAll drops every token", []string{"Token " + keyAnn, "Token " + keyBob, "forget all", "Token " + keyAnn, "Token " + keyBob}, 4},
		// A websocket refreshes its token every TTL; a refresh that learns
		// of a revocation must not leave the old answer for the next
		// request on this instance.
		{"a refresh refused forgets the token", []string{"Token " + keyAnn, "revoke ann-token", "refresh ann-token", "Token " + keyAnn}, 3},
		{"a refresh accepted caches afresh", []string{"refresh ann-token", "Token " + keyAnn}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeLookup()
			a := NewAuthenticator(f, NewCallerCache(time.Minute, 100, nil))
			for _, step := range tt.steps {
				switch step {
				case "forget ann-token":
					a.Forget(Digest(keyAnn))
				case "forget user 1":
					a.ForgetUser(1)
				case "forget all":
					a.ForgetAll()
				case "revoke ann-token":
					f.mu.Lock()
					delete(f.callers, Digest(keyAnn))
					f.mu.Unlock()
				case "refresh ann-token":
					a.Refresh(t.Context(), Digest(keyAnn))
				default:
					a.Authenticate(t.Context(), step)
				}
			}
			if got := f.Calls(); got != tt.lookups {
				t.Errorf("%d lookups; want %d", got, tt.lookups)
			}
		})
	}
}

// TestDeactivationDuringLookup: the user is deactivated (and ForgetUser
// called) while a request's lookup is in flight with the old answer. That
// answer may serve its own request, but must not be cached for the next.
func TestDeactivationDuringLookup(t *testing.T) {
	f := newFakeLookup()
	a := NewAuthenticator(f, NewCallerCache(time.Minute, 100, nil))
	f.during = func() {
		f.mu.Lock()
		f.during = nil
		f.errs[Digest(keyAnn)] = ErrUserInactive
		f.mu.Unlock()
		a.ForgetUser(1)
	}
	if _, err := a.Authenticate(t.Context(), "Token "+keyAnn); err != nil {
		t.Fatalf("first request: %v", err)
	}
	if _, err := a.Authenticate(t.Context(), "Token "+keyAnn); err != ErrUserInactive {
		t.Errorf("request after deactivation: %v; want %v", err, ErrUserInactive)
	}
}

func TestMiddleware(t *testing.T) {
	tests := []struct {
		name       string
		header     string
		wantUser   string
		wantErr    error
		nextCalled bool
	}{
		{"anonymous", "", "", nil, true},
		{"valid token", "Token " + keyAnn, "ann", nil, true},
		{"keyword alone", "Token", "", ErrNoCredentials, false},
		{"unknown token", "Token " + keyUnknown, "", ErrInvalidToken, false},
		{"store down", "Token " + keyBroken, "", errStoreDown, false},
	}
	a := NewAuthenticator(newFakeLookup(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotErr error
			var nextCalled bool
			var gotCaller *Caller
			onError := func(w http.ResponseWriter, r *http.Request, err error) {
				gotErr = err
				w.Header().Set("WWW-Authenticate", WWWAuthenticate)
				w.WriteHeader(http.StatusUnauthorized)
			}
			h := a.Middleware(onError)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				nextCalled = true
				gotCaller = CallerFrom(r.Context())
			}))
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if nextCalled != tt.nextCalled {
				t.Errorf("next handler called = %v; want %v", nextCalled, tt.nextCalled)
			}
			if !errors.Is(gotErr, tt.wantErr) || (tt.wantErr == nil) != (gotErr == nil) {
				t.Errorf("onError got %v; want %v", gotErr, tt.wantErr)
			}
			switch {
			case tt.wantUser == "" && gotCaller != nil:
				t.Errorf("caller in context = %+v; want none", gotCaller)
			case tt.wantUser != "" && (gotCaller == nil || gotCaller.Username != tt.wantUser):
				t.Errorf("caller in context = %+v; want %s", gotCaller, tt.wantUser)
			}
		})
	}
}

func BenchmarkAuthenticateCached(b *testing.B) {
	a := NewAuthenticator(newFakeLookup(), NewCallerCache(time.Minute, 1000, nil))
	ctx := b.Context()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, "Token "+keyAnn); err != nil {
			b.Fatal(err)
		}
	}
}
