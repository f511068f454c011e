package main

// The adversarial shapes: requests an attacker would send to take the
// gateway or its store down, each of which must be answered or refused
// at a bounded cost. BenchmarkAdversarialRequests prints each one's time,
// CPU and store round trips:
//
//	go test -run '^$' -bench AdversarialRequests -benchtime 20x ./cmd/gatehouse/
//
// and TestSecondClientKeepsAnswering sends them all at once while another
// client goes on with its own work.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// adversary is a gateway holding 206 users, 100 roles, a staff token and
// the token of a user with no permission at all.
type adversary struct {
	g             *testGateway
	rt            *roundTrips
	staff, nobody string
}

func newAdversary(tb testing.TB) *adversary {
	tb.Helper()
	rt := &roundTrips{}
	s := storetest.Open(tb, store.Options{Observer: rt.observer()})
	staff := seedRoles(tb, s, 206, 100)
	g := newTestGatewayOn(tb, s)
	nobody, err := s.CreateUser(context.Background(), store.NewUser{Username: "nobody", PasswordHash: "!", IsActive: true})
	if err != nil {
		tb.Fatal(err)
	}
	a := &adversary{g: g, rt: rt, staff: staff, nobody: signedIn(tb, s, nobody.ID)}
	g.query(tb, a.staff, meQuery, nil).mustData(tb) // both tokens are cached from here on
	g.query(tb, a.nobody, meQuery, nil).mustData(tb)
	// The account under attack is blocked after three wrong passwords.
	g.accounts.AccountThrottle = auth.ThrottlePolicy{Limit: 3, Window: time.Hour, BaseDelay: time.Minute, MaxDelay: time.Hour}
	for range 4 {
		g.query(tb, "", `mutation { signIn(username: "member00000", password: "guess") { token } }`, nil)
	}
	return a
}

// adversarialShape is one request and the answer it must get: an error
// code, or "data" for an answer, or an HTTP status for a REST request.
type adversarialShape struct {
	name string
	want string
	send func(tb testing.TB, a *adversary) string
}

// graphQLShape sends a GraphQL operation as token and answers its first
// error's code, or "data".
func graphQLShape(token func(*adversary) string, query string, vars map[string]any) func(testing.TB, *adversary) string {
	return func(tb testing.TB, a *adversary) string {
		r := a.g.query(tb, token(a), query, vars)
		if len(r.Errors) == 0 {
			return "data"
		}
		return r.code()
	}
}

func signedOut(*adversary) string      { return "" }
func noPermission(a *adversary) string { return a.nobody }
func staffToken(a *adversary) string   { return a.staff }

var adversarialShapes = []adversarialShape{
	{"fragment spreads doubling 40 times", "COMPLEXITY_LIMIT_EXCEEDED",
		graphQLShape(signedOut, doublingFragments(40, "Query", "SPREAD", "__typename"), nil)},
	{"fragment spreads doubling 40 times, too deep", "DEPTH_LIMIT_EXCEEDED",
		graphQLShape(signedOut, doublingFragments(40, "Query", "SPREAD", "me { "+strings.Repeat("createdBy { ", 14)+"id"+strings.Repeat(" }", 14)+" }"), nil)},
	{"160 role pages of user pages", "COMPLEXITY_LIMIT_EXCEEDED",
		graphQLShape(noPermission, "{ "+aliases(160, "roles(limit: 100) { nodes { users(limit: 100) { totalCount nodes { id } } } }")+"}", nil)},
	{"per-mailing counts of every mailing", "COMPLEXITY_LIMIT_EXCEEDED",
		graphQLShape(noPermission, "{ mailingsStats { matchedClients firstSend lastSend } }", nil)},
	{"a 20,000-way or", "VARIABLES_LIMIT_EXCEEDED",
		graphQLShape(noPermission, `query($f: UserFilter) { users(filter: $f) { totalCount } }`, map[string]any{"f": orFilter(20_000)})},
	{"a not 9,000 deep", "VARIABLES_LIMIT_EXCEEDED",
		graphQLShape(noPermission, `query($f: UserFilter) { users(filter: $f) { totalCount } }`, map[string]any{"f": notFilter(9_000)})},
	{"a 5,000-way or", "COMPLEXITY_LIMIT_EXCEEDED",
		graphQLShape(noPermission, `query($f: UserFilter) { users(filter: $f) { totalCount } }`, map[string]any{"f": orFilter(5_000)})},
	{"users past offset 100", "data",
		graphQLShape(noPermission, `{ users(offset: 150, limit: 3) { nodes { id } } }`, nil)},
	// Staff, since only they (and holders of view_permission) see who
	// holds which roles.
	{"the largest page of users", "data",
		graphQLShape(staffToken, `{ users(first: 100) { totalCount nodes { id username roles { name } } } }`, nil)},
	{"a wrong password for a blocked account", "TOO_MANY_REQUESTS",
		graphQLShape(signedOut, `mutation { signIn(username: "member00000", password: "guess") { token } }`, nil)},
	{"v1 list of every user", "200", func(tb testing.TB, a *adversary) string {
		status, _ := a.g.restList(tb, a.staff, http.MethodPost, "/v1/users/list", "{}")
		return strconv.Itoa(status)
	}},
	{"accounts list past offset 100", "200", func(tb testing.TB, a *adversary) string {
		status, _ := a.g.restList(tb, a.staff, http.MethodGet, "/api/users?offset=180&limit=50", "")
		return strconv.Itoa(status)
	}},
}

// cpuTime is the CPU the process has used, the embedded store's included.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkAdversarialRequests(b *testing.B) {
	a := newAdversary(b)
	for _, shape := range adversarialShapes {
		b.Run(shape.name, func(b *testing.B) {
			if got := shape.send(b, a); got != shape.want {
				b.Fatalf("answered %s, want %s", got, shape.want)
			}
			a.rt.reset()
			cpu := cpuTime(b)
			b.ResetTimer()
			for b.Loop() {
				shape.send(b, a)
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(a.rt.snapshot()["total"])/n, "roundtrips/op")
			b.ReportMetric(float64(cpuTime(b)-cpu)/n/float64(time.Millisecond), "cpu-ms/op")
		})
	}
}

// While every adversarial shape is sent, four at a time, another client's
// simple query keeps being answered, and the gateway stays ready. The test
// reports the slowest answer it saw; speed itself is the benchmark's.
func TestSecondClientKeepsAnswering(t *testing.T) {
	a := newAdversary(t)
	token := a.g.signUp(t, "bystander", "bystander-pass")
	a.g.query(t, token, meQuery, nil).mustData(t)

	work := make(chan adversarialShape)
	var attackers sync.WaitGroup
	for range 4 {
		attackers.Go(func() {
			for shape := range work {
				if got := shape.send(t, a); got != shape.want {
					t.Errorf("%s: answered %s, want %s", shape.name, got, shape.want)
				}
			}
		})
	}
	stop := make(chan struct{})
	var bystander sync.WaitGroup
	var answered int
	var slowest time.Duration
	bystander.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			r := a.g.queryWithin(t, 10*time.Second, token, meQuery, nil)
			if dig(r.Data, "me", "username") != "bystander" {
				t.Errorf("the bystander's query: %+v", r)
				return
			}
			answered++
			slowest = max(slowest, time.Since(start))
			resp, err := a.g.srv.Client().Get(a.g.srv.URL + "/readyz")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("/readyz during the attack: %v %v", resp, err)
				return
			}
			resp.Body.Close()
		}
	})
	for range 3 {
		for _, shape := range adversarialShapes {
			work <- shape
		}
	}
	close(work)
	attackers.Wait()
	close(stop)
	bystander.Wait()
	if answered == 0 {
		t.Fatal("the bystander's query was never answered")
	}
	t.Logf("the bystander was answered %d times during the attack, the slowest in %v", answered, slowest)
}
