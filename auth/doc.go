// Package auth answers "who is calling?" for Gatehouse: password hashing that
// stays portable to Django, DRF-style tokens and Authorization headers, the
// caller and the client IP in the request context, a per-instance cache of
// authenticated callers, and the sign-in throttle policy.
//
// It depends on no other package of this module but the leaf store/fault,
// whose error it returns. The store implements CallerLookup and counts
// failed sign-ins (so that several gateway instances share the count);
// graph and the REST dialects read the caller with CallerFrom and turn a
// refusal (IsRefusal) into their own 401 body. Keeping the
// dependency one-way lets both sides be tested without the other.
//
// The package holds no state of its own: every cache, semaphore and policy
// is a value the wiring in cmd/gatehouse builds and passes down.
package auth
