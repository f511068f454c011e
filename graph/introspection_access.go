package graph

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store/fault"
)

// Introspection says who may introspect the schema (__schema, __type):
// everyone, no one, or staff only, so that a gateway in production can keep
// its schema from the public and still let its operators explore it.
// __typename is always answered: clients need it to read unions.
type Introspection int

const (
	// IntrospectionOff answers introspection to no one.
	IntrospectionOff Introspection = iota
	// IntrospectionOn answers it to everyone.
	IntrospectionOn
	// IntrospectionStaff answers it to active staff and superusers only.
	IntrospectionStaff
)

// ParseIntrospection reads true, false or staff (and the other spellings
// of a boolean that Go's flags take, such as 1 and 0).
func ParseIntrospection(s string) (Introspection, error) {
	if strings.EqualFold(strings.TrimSpace(s), "staff") {
		return IntrospectionStaff, nil
	}
	on, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return IntrospectionOff, fmt.Errorf("%q is not true, false or staff", s)
	}
	if on {
		return IntrospectionOn, nil
	}
	return IntrospectionOff, nil
}

func (i Introspection) String() string {
	switch i {
	case IntrospectionOn:
		return "true"
	case IntrospectionStaff:
		return "staff"
	}
	return "false"
}

// introspectionFor answers introspection to the callers i allows. It runs
// once the operation's caller is final (on a websocket, after socketAccess
// has read it from the token again), since staff may lose their role while
// a socket stays open.
func introspectionFor(i Introspection) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		switch i {
		case IntrospectionOn:
			oc.DisableIntrospection = false
		case IntrospectionStaff:
			caller := auth.CallerFrom(ctx)
			oc.DisableIntrospection = !(caller.Staff() && caller.IsActive)
			ctx = context.WithValue(ctx, introspectionKey{}, i)
		default:
			oc.DisableIntrospection = true
		}
		return next(ctx)
	}
}

type introspectionKey struct{}

// introspectionRefusal is the error a client is shown for introspection
// refused to it: not signed in, or not staff, when staff may introspect;
// disabled when no one may.
func introspectionRefusal(ctx context.Context) *fault.Error {
	if ctx.Value(introspectionKey{}) != IntrospectionStaff {
		return forbidden("introspection is disabled")
	}
	const reason = "introspection is for staff only"
	if _, err := signedIn(ctx); err != nil {
		return &fault.Error{Code: fault.Unauthenticated, Message: msgNotAuthenticated, Details: map[string]any{"reason": reason}}
	}
	return forbidden(reason)
}
