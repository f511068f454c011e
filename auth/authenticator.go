package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// CallerLookup finds the user behind a token; the store adapter implements
// it. CallerByToken returns ErrInvalidToken when no token has that digest,
// ErrUserInactive when its user is inactive, and any other error when the
// store fails (the Authenticator reports that as a server fault, not a 401).
type CallerLookup interface {
	CallerByToken(ctx context.Context, digest string) (*Caller, error)
}

// Authenticator turns an Authorization header into a Caller, answering as
// DRF's TokenAuthentication would, and caches successes. It is safe for
// concurrent use.
type Authenticator struct {
	lookup CallerLookup
	cache  *CallerCache
}

// NewAuthenticator returns an Authenticator that asks lookup about tokens it
// has not cached. cache may be nil to cache nothing.
func NewAuthenticator(lookup CallerLookup, cache *CallerCache) *Authenticator {
	return &Authenticator{lookup: lookup, cache: cache}
}

// Authenticate returns the caller an Authorization header value names: nil
// and no error for an anonymous request (no header, or another scheme such
// as Basic); a refusal (IsRefusal) for a malformed header, an unknown or
// ill-formed key, or an inactive user; any other error for a store failure.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (*Caller, error) {
	key, err := ParseAuthorization(header)
	if err != nil || key == "" {
		return nil, err
	}
	return a.AuthenticateKey(ctx, key)
}

// AuthenticateKey is Authenticate for a bare key, as a websocket
// connection_init payload may carry it. A key that is not well-formed is
// ErrInvalidToken without asking the store: it cannot exist, and the store
// need not see attacker-chosen strings. Only successes are cached, so a
// token created a moment ago is found at once.
//
// The caller returned is shared with the cache: treat it as read-only.
func (a *Authenticator) AuthenticateKey(ctx context.Context, key string) (*Caller, error) {
	if !WellFormedKey(key) {
		return nil, ErrInvalidToken
	}
	return a.AuthenticateDigest(ctx, Digest(key))
}

// AuthenticateDigest is AuthenticateKey for a token known by its digest,
// as a websocket that was authenticated once asks again for each
// operation: cached, so asking often costs a store read a TTL at most.
func (a *Authenticator) AuthenticateDigest(ctx context.Context, digest string) (*Caller, error) {
	if c, ok := a.cache.Get(digest); ok {
		return c, nil
	}
	return a.lookUp(ctx, digest)
}

// Refresh asks the store about a token whatever the cache holds, and
// leaves the answer in the cache: a revoked token is forgotten, a valid one
// cached afresh. A long-lived websocket calls it every TTL, so it learns of
// a revocation made on any instance within the TTL.
func (a *Authenticator) Refresh(ctx context.Context, digest string) (*Caller, error) {
	c, err := a.lookUp(ctx, digest)
	if IsRefusal(err) {
		a.cache.Delete(digest)
	}
	return c, err
}

// lookUp asks the lookup about a token and caches a success.
func (a *Authenticator) lookUp(ctx context.Context, digest string) (*Caller, error) {
	gen := a.cache.generation()
	c, err := a.lookup.CallerByToken(ctx, digest)
	if err != nil {
		if IsRefusal(err) {
			return nil, err
		}
		return nil, fmt.Errorf("look up token: %w", err)
	}
	if c == nil {
		return nil, errors.New("look up token: lookup returned neither a caller nor an error")
	}
	if !c.IsActive {
		// The lookup should have said so; do not let a slip admit anyone.
		return nil, ErrUserInactive
	}
	c = c.Clone()
	c.TokenDigest = digest
	a.cache.putIf(gen, digest, c)
	return c, nil
}

// Forget drops the cached caller of one token: call it on sign-out.
func (a *Authenticator) Forget(digest string) { a.cache.Delete(digest) }

// ForgetUser drops every cached caller of a user: call it after the user is
// deactivated, changes password, or gains or loses a permission or role.
func (a *Authenticator) ForgetUser(userID int64) { a.cache.DeleteUser(userID) }

// Middleware returns a middleware that authenticates each request's
// Authorization header and puts the caller in its context (see CallerFrom;
// an anonymous request gets none). On failure it calls onError instead of
// the next handler: the HTTP surface decides the body, since GraphQL and each
// REST dialect answer differently. A refusal (IsRefusal; show only its
// message) means 401 with "WWW-Authenticate: Token"; anything else is a
// server fault, to be logged and never shown. onError must not be nil.
func (a *Authenticator) Middleware(onError func(w http.ResponseWriter, r *http.Request, err error)) func(http.Handler) http.Handler {
	if onError == nil {
		panic("auth: Middleware needs an onError function")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			header, err := authorizationHeader(r.Header)
			var c *Caller
			if err == nil {
				c, err = a.Authenticate(r.Context(), header)
			}
			if err != nil {
				onError(w, r, err)
				return
			}
			if c != nil {
				r = r.WithContext(WithCaller(r.Context(), c))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ForgetAll drops every cached caller, for changes that may concern anyone
// (a deleted permission).
func (a *Authenticator) ForgetAll() { a.cache.Purge() }

// authorizationHeader is the request's one Authorization header ("" for
// none); more than one is ErrManyHeaders, whatever they hold.
func authorizationHeader(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", nil
	case 1:
		return values[0], nil
	}
	return "", ErrManyHeaders
}
