package graph

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gatehouse/gatehouse/auth"
)

// Anonymous sockets are counted by their client address: with one
// operation a socket, an address runs two across its sockets, another
// address runs its own, and a socket that closes frees its operations'
// places. (A user's count, and every way an operation ends, are shown
// over real websockets: TestWebsocketOperationsAreBoundedPerUser.)
func TestAnonymousSocketsAreCountedByAddress(t *testing.T) {
	w := newWebsocketOperations(1, 0)
	here, there := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	open := func(addr netip.Addr) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(auth.WithClientIP(context.Background(), addr))
		return withSocket(ctx), cancel
	}
	admit := func(ctx context.Context) string {
		if err := w.MutateOperationContext(ctx, &graphql.OperationContext{}); err != nil {
			return err.Message
		}
		return ""
	}

	first, closeFirst := open(here)
	second, closeSecond := open(here)
	third, closeThird := open(here)
	defer closeSecond()
	defer closeThird()
	if refused := admit(first); refused != "" {
		t.Fatalf("the first socket's operation: %s", refused)
	}
	if refused := admit(first); !strings.Contains(refused, "This websocket already runs 1 operation,") {
		t.Errorf("a second operation on one socket: %q", refused)
	}
	if refused := admit(second); refused != "" {
		t.Fatalf("the second socket's operation: %s", refused)
	}
	if refused := admit(third); !strings.Contains(refused, "This address already runs 2 operations") {
		t.Errorf("a third operation of one address: %q", refused)
	}
	elsewhere, closeElsewhere := open(there)
	defer closeElsewhere()
	if refused := admit(elsewhere); refused != "" {
		t.Errorf("another address's operation: %s", refused)
	}

	closeFirst()
	deadline := time.Now().Add(5 * time.Second)
	for admit(third) != "" {
		if time.Now().After(deadline) {
			t.Fatal("a closed socket did not free its operation's place")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
