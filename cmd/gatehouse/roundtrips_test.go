package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// roundTrips counts the commands a store sends, by collection.
type roundTrips struct {
	mu     sync.Mutex
	counts map[string]int
}

func (rt *roundTrips) observer() *docdb.Observer {
	return &docdb.Observer{Started: func(_ context.Context, op docdb.Op) {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		if rt.counts == nil {
			rt.counts = map[string]int{}
		}
		rt.counts[op.Collection]++
	}}
}

func (rt *roundTrips) reset() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.counts = map[string]int{}
}

func (rt *roundTrips) snapshot() map[string]int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make(map[string]int, len(rt.counts))
	total := 0
	for k, v := range rt.counts {
		out[k] = v
		total += v
	}
	out["total"] = total
	return out
}

// seedRoles makes nRoles roles of three permissions each and nUsers users
// holding two roles each, and returns a superuser's token.
func seedRoles(tb testing.TB, s *store.Store, nUsers, nRoles int) string {
	tb.Helper()
	ctx := context.Background()
	roles := make([]store.ID, nRoles)
	for i := range roles {
		r, err := s.CreateRole(ctx, store.NewRole{Name: fmt.Sprintf("role%02d", i),
			PermissionIDs: []store.ID{store.ID(1 + i%36), store.ID(1 + (i+7)%36), store.ID(1 + (i+13)%36)}})
		if err != nil {
			tb.Fatal(err)
		}
		roles[i] = r.ID
	}
	users := make([]store.NewUser, nUsers)
	for i := range users {
		users[i] = store.NewUser{Username: fmt.Sprintf("member%05d", i), PasswordHash: "!", IsActive: true,
			RoleIDs: []store.ID{roles[i%nRoles], roles[(i+1)%nRoles]}}
	}
	if _, err := s.CreateUsers(ctx, users); err != nil {
		tb.Fatal(err)
	}
	admin, err := s.CreateUser(ctx, store.NewUser{Username: "root", PasswordHash: "!", IsActive: true, IsSuperuser: true, IsStaff: true})
	if err != nil {
		tb.Fatal(err)
	}
	key, digest, _ := auth.NewToken()
	if _, err := s.CreateToken(ctx, digest, admin.ID); err != nil {
		tb.Fatal(err)
	}
	return key
}

const rolesPageQuery = `query($n: Int!) { users(first: $n) { nodes { id roles { name permissions { codename } } effectivePermissions { codename } } } }`

// Roles and permissions for a page of users cost a bounded number of store
// round trips whatever the page size: the loaders batch them. A loader
// reads once per wave of resolvers; a wave that the scheduler spreads past
// the loader's wait can take a second read, never one per user.
func TestRolesOfAPageCostConstantRoundTrips(t *testing.T) {
	rt := &roundTrips{}
	s := storetest.Open(t, store.Options{Observer: rt.observer()})
	token := seedRoles(t, s, 60, 20)
	g := newTestGatewayOn(t, s)
	g.query(t, token, `{ me { id } }`, nil).mustData(t) // the token is cached from here on

	var costs []map[string]int
	for _, n := range []int{1, 5, 50} {
		rt.reset()
		r := g.query(t, token, rolesPageQuery, map[string]any{"n": n})
		nodes := dig(r.mustData(t), "users", "nodes").([]any)
		if len(nodes) != n {
			t.Fatalf("%d nodes, want %d", len(nodes), n)
		}
		if roles := dig(nodes[len(nodes)-1], "roles").([]any); len(roles) != 2 || len(dig(roles[0], "permissions").([]any)) != 3 {
			t.Fatalf("roles of the last user: %v", roles)
		}
		costs = append(costs, rt.snapshot())
	}
	for i, c := range costs {
		if c["users"] != 1 || c["roles"] < 1 || c["roles"] > 2 || c["permissions"] < 1 || c["permissions"] > 2 {
			t.Errorf("page %d: round trips %v, want one for users and one or two each for roles and permissions", i, c)
		}
	}
}

func BenchmarkUsersWithRoles(b *testing.B) {
	rt := &roundTrips{}
	s := storetest.Open(b, store.Options{Observer: rt.observer()})
	token := seedRoles(b, s, 10_000, 20)
	g := newTestGatewayOn(b, s)
	g.query(b, token, `{ me { id } }`, nil).mustData(b)
	rt.reset()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		g.query(b, token, rolesPageQuery, map[string]any{"n": 50}).mustData(b)
	}
	b.StopTimer()
	b.ReportMetric(float64(rt.snapshot()["total"])/float64(b.N), "roundtrips/op")
}

// me answers from the caller the token check made: within the token
// cache's TTL it costs no store round trip, and a change made through this
// gateway shows at once.
func TestMeCostsNoRoundTripWhileCached(t *testing.T) {
	rt := &roundTrips{}
	g := newTestGatewayOn(t, storetest.Open(t, store.Options{Observer: rt.observer()}), "--token-cache-ttl=1h")
	token := g.signUp(t, "cached", "pw-cached")
	g.query(t, token, meQuery, nil).mustData(t)
	rt.reset()
	data := g.query(t, token, `{ me { id username firstName } }`, nil).mustData(t)
	if got := rt.snapshot()["total"]; got != 0 {
		t.Errorf("me cost %d store round trips, want 0: %v", got, rt.snapshot())
	}
	id := dig(data, "me", "id")
	g.query(t, token, `mutation($id: ID!) { updateUser(id: $id, input: {firstName: "Changed"}) { id } }`, map[string]any{"id": id}).mustData(t)
	if got := dig(g.query(t, token, `{ me { firstName } }`, nil).mustData(t), "me", "firstName"); got != "Changed" {
		t.Errorf("me after a change: firstName %v", got)
	}
}

// A page of mailings reads its statistics in one aggregation (two when the
// resolvers' wave outlasts the loader's wait), not one per mailing.
func TestStatsOfAPageCostConstantRoundTrips(t *testing.T) {
	rt := &roundTrips{}
	g := newTestGatewayOn(t, storetest.Open(t, store.Options{Observer: rt.observer()}))
	root := g.staff(t, "root", true)
	ctx := context.Background()
	tag, _ := g.store.CreateTag(ctx, "vip")
	code, _ := g.store.CreateOperatorCode(ctx, "916")
	if _, err := g.store.CreateClient(ctx, store.ClientInput{PhoneNumber: "79160000001", OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(time.Hour)
	for range 12 {
		if _, err := g.store.CreateMailing(ctx, store.MailingInput{Text: "hi", Start: start, End: start.Add(time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}}); err != nil {
			t.Fatal(err)
		}
	}
	g.query(t, root, `{ me { id } }`, nil).mustData(t) // the token is cached from here on
	for _, n := range []int{1, 12} {
		rt.reset()
		nodes := dig(g.query(t, root, `query($n: Int!) { mailings(first: $n) { nodes { id stats { total pending } } } }`, map[string]any{"n": n}).mustData(t), "mailings", "nodes").([]any)
		if len(nodes) != n {
			t.Fatalf("%d mailings, want %d", len(nodes), n)
		}
		if c := rt.snapshot(); c["messages"] < 1 || c["messages"] > 2 {
			t.Errorf("a page of %d mailings' stats: round trips %v, want one or two to messages", n, c)
		}
	}
}
