package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gatehouse/gatehouse/store/fault"
)

// DefaultResponseLimit is the largest response the gateway sends unless
// configured otherwise: many times the largest page an application asks
// for (a hundred users with their roles is some tens of kilobytes).
const DefaultResponseLimit = 8 << 20

// ErrResponseTooLarge is the cause held by a RESPONSE_TOO_LARGE error, so
// that the REST dialects can tell it from other failures.
var ErrResponseTooLarge = errors.New("the response is over the response limit")

// responseLimit answers a response larger than limit bytes (its data and
// its errors, as JSON) with a RESPONSE_TOO_LARGE error instead, on every
// transport: the HTTP body, each websocket next message, the REST
// dialects' operations. The response has been worked out by then (the
// complexity limit bounds that work); what the limit spares is sending
// it, and every copy a transport would make on the way.
func responseLimit(limit int) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		resp := next(ctx)
		if resp == nil || responseSize(resp, limit) <= limit {
			return resp
		}
		return &graphql.Response{Errors: gqlerror.List{responseTooLarge(limit)}}
	}
}

// responseSize is the size of resp's data and errors as JSON, or more than
// limit once it is known to be.
func responseSize(resp *graphql.Response, limit int) int {
	size := len(resp.Data)
	if size > limit {
		return size
	}
	for _, part := range []any{resp.Errors, resp.Extensions} {
		if b, err := json.Marshal(part); err == nil {
			size += len(b)
		}
	}
	return size
}

func responseTooLarge(limit int) *gqlerror.Error {
	message := fmt.Sprintf("The response is larger than %s, the most the gateway sends; ask for fewer fields or smaller pages.", byteSize(limit))
	return &gqlerror.Error{
		Message:    message,
		Extensions: map[string]any{"code": CodeResponseTooLarge, "limit": limit},
		Err:        fault.Wrap(fault.Internal, message, ErrResponseTooLarge),
	}
}

// isResponseTooLarge tells the answer responseLimit gives.
func isResponseTooLarge(resp *graphql.Response) bool {
	return resp.Data == nil && len(resp.Errors) == 1 && resp.Errors[0].Extensions["code"] == CodeResponseTooLarge
}

// byteSize writes a number of bytes as people read it: 8 MiB, 64 KiB,
// 1500 bytes.
func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
