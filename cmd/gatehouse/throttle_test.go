package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/docdb"
)

// A burst of wrong passwords for one account sent all at once is counted
// before any password is checked: no more are checked than the policy lets
// through one at a time, and the block that follows is the longest the
// burst earned, never shortened by a slower request of the same burst.
func TestSignInBurstIsCountedBeforeHashing(t *testing.T) {
	g := newTestGateway(t)
	g.signUp(t, "burst", "burst-right-password")
	g.accounts.AccountThrottle = auth.ThrottlePolicy{Limit: 5, Window: time.Hour, BaseDelay: time.Minute, MaxDelay: time.Hour}
	before := strings.Count(g.logs.String(), `"outcome":"bad_credentials"`)

	var wg sync.WaitGroup
	codes := make([]string, 40)
	for i := range codes {
		wg.Go(func() {
			codes[i] = g.query(t, "", `mutation { signIn(username: "burst", password: "wrong") { token } }`, nil).code()
		})
	}
	wg.Wait()
	checked := strings.Count(g.logs.String(), `"outcome":"bad_credentials"`) - before
	if checked > 6 {
		t.Errorf("%d passwords were checked; the policy lets 6 through (5 free and one that starts the block)", checked)
	}
	counts := map[string]int{}
	for _, c := range codes {
		counts[c]++
	}
	if counts["BAD_USER_INPUT"] != checked || counts["TOO_MANY_REQUESTS"] != len(codes)-checked {
		t.Errorf("codes %v, %d checked", counts, checked)
	}
	// Even the right password now waits out the block of the sixth
	// failure: a minute at least, whatever order the burst landed in.
	r := g.query(t, "", `mutation { signIn(username: "burst", password: "burst-right-password") { token } }`, nil)
	if r.code() != "TOO_MANY_REQUESTS" {
		t.Fatalf("after the burst: %+v", r)
	}
	if retry, _ := r.Errors[0].Extensions["retryAfter"].(float64); retry < 55 {
		t.Errorf("after the burst: retry after %vs, want a minute at least", retry)
	}
}

// Every sign-in attempt is counted in the store before its password is
// hashed: when the hash starts, each counter the attempt is charged to (the
// account's and the address's) already holds it, whether the user exists
// (Verify) or not (VerifyDummy). Counted after, a burst of attempts made at
// once would all be hashed before any of them could be refused.
func TestSignInIsCountedBeforeThePasswordIsHashed(t *testing.T) {
	g := newTestGateway(t)
	g.signUp(t, "counted", "counted-right-password")

	// counters reads every sign-in counter in the store: its key and count.
	counters := func() map[string]int {
		var docs []struct {
			Key      string `bson:"_id"`
			Failures int    `bson:"failures"`
		}
		if err := g.store.Collection("signin_throttle").Find(context.Background(), bson.D{}, docdb.FindOptions{}, &docs); err != nil {
			t.Error(err)
		}
		out := map[string]int{}
		for _, d := range docs {
			out[d.Key] = d.Failures
		}
		return out
	}
	var (
		mu       sync.Mutex
		atHashes []map[string]int // the counters as each hash started
	)
	g.accounts.Hasher.OnWait = func(time.Duration) {
		c := counters()
		mu.Lock()
		defer mu.Unlock()
		atHashes = append(atHashes, c)
	}

	for i, username := range []string{"counted", "counted", "nobody-by-that-name", "counted", "nobody-by-that-name"} {
		before := counters()
		mu.Lock()
		atHashes = nil
		mu.Unlock()
		r := g.query(t, "", `mutation($u: String!) { signIn(username: $u, password: "wrong") { token } }`, map[string]any{"u": username})
		if r.code() != "BAD_USER_INPUT" {
			t.Fatalf("attempt %d (%s): %+v", i+1, username, r.Errors)
		}
		after := counters()
		mu.Lock()
		hashed := atHashes
		mu.Unlock()
		switch {
		case maps.Equal(before, after):
			t.Errorf("attempt %d (%s) was not counted: %v", i+1, username, after)
		case len(hashed) != 1:
			t.Errorf("attempt %d (%s): %d hashes, want 1", i+1, username, len(hashed))
		case !maps.Equal(hashed[0], after):
			t.Errorf("attempt %d (%s): hashed when the counters were %v, before it was counted (%v after)", i+1, username, hashed[0], after)
		}
	}
}

// Sign-up is throttled per client address (--signup-limit an hour), counted
// in the store: past the limit a sign-up is refused with TOO_MANY_REQUESTS,
// 429 in the REST dialects, and no account is made.
func TestSignUpIsThrottledPerAddress(t *testing.T) {
	g := newTestGateway(t, "--signup-limit=3")
	for i := range 3 {
		g.signUp(t, fmt.Sprintf("newcomer%d", i), "newcomer-pass")
	}
	r := g.query(t, "", `mutation { signUp(input: {username: "newcomer3", password: "newcomer-pass"}) { token } }`, nil)
	if r.code() != "TOO_MANY_REQUESTS" || r.Data["signUp"] != nil || r.Errors[0].Extensions["retryAfter"] == nil {
		t.Errorf("a fourth sign-up: %+v", r.Errors)
	}
	req, _ := http.NewRequest(http.MethodPost, g.srv.URL+"/api/users/signup", strings.NewReader(`{"username": "newcomer4", "password": "newcomer-pass"}`))
	req.Header.Set("Content-Type", "application/json")
	if raw := g.raw(t, req); raw.Status != http.StatusTooManyRequests {
		t.Errorf("a sign-up through the accounts dialect: %d %s", raw.Status, raw.Body)
	}
	for _, name := range []string{"newcomer3", "newcomer4"} {
		if _, err := g.store.UserByUsername(context.Background(), name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
}

// changePassword's old password is a guess at the password as signIn's
// is: with a stolen token, guesses are counted against the same account
// throttle as sign-ins, and one request carries no more of them as aliases
// than it could carry sign-ins. Uncounted, 400 aliases once made 400
// guesses in 12 seconds.
func TestChangePasswordGuessesAreThrottledAsSignIns(t *testing.T) {
	g := newTestGateway(t)
	token := g.signUp(t, "guessed", "guessed-right-password")
	g.accounts.AccountThrottle = auth.ThrottlePolicy{Limit: 5, Window: time.Hour, BaseDelay: time.Minute, MaxDelay: time.Hour}

	var aliases strings.Builder
	aliases.WriteString("mutation {")
	for i := range 10 {
		fmt.Fprintf(&aliases, ` g%d: changePassword(oldPassword: "guess-%d", newPassword: "a-new-password-%d")`, i, i, i)
	}
	aliases.WriteString(" }")
	if code := g.query(t, token, aliases.String(), nil).code(); code != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Fatalf("10 guesses in one request: %s, want COMPLEXITY_LIMIT_EXCEEDED", code)
	}

	codes := map[string]int{}
	for i := range 8 {
		r := g.query(t, token, fmt.Sprintf(`mutation { changePassword(oldPassword: "guess-%d", newPassword: "a-new-password") }`, i), nil)
		codes[r.code()]++
	}
	if codes["BAD_USER_INPUT"] != 6 || codes["TOO_MANY_REQUESTS"] != 2 {
		t.Fatalf("8 guesses: %v, want 6 checked (5 free, one that starts the block) and 2 throttled", codes)
	}
	// The same account's sign-in waits out the block too.
	r := g.query(t, "", `mutation { signIn(username: "guessed", password: "guessed-right-password") { token } }`, nil)
	if r.code() != "TOO_MANY_REQUESTS" {
		t.Fatalf("sign-in after the guesses: %+v", r)
	}
}

// Every limit counted per client address counts an IPv6 client by its /64:
// a subscriber is routinely given a whole /64, and counted per address
// could send each attempt from a fresh one. Here the addresses come as a
// trusted proxy reports them. Sign-in attempts and sign-ups from one /64
// add up whatever address within it sends them, and so do its open
// websockets; another /64 is another client, and an IPv4-mapped address
// is its IPv4 address.
func TestPerAddressLimitsCountAnIPv6ClientByItsSlash64(t *testing.T) {
	from := func(addr string) http.Header {
		return http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {addr}}
	}
	g := newTestGateway(t, "--trusted-proxies=127.0.0.1", "--signup-limit=2", "--websockets-per-client=2")
	g.accounts.AddressThrottle = auth.ThrottlePolicy{Limit: 3, Window: time.Hour, BaseDelay: time.Minute, MaxDelay: time.Hour}

	signIn := func(i int, addr string) string {
		body, _ := json.Marshal(map[string]any{
			"query": `mutation($u: String!) { signIn(username: $u, password: "guess") { token } }`,
			// A different account each time: only the address can add up.
			"variables": map[string]any{"u": fmt.Sprintf("victim%d", i)},
		})
		return g.post(t, from(addr), body).code()
	}
	var codes []string
	for i, addr := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3", "2001:db8:1:2:a:b:c:d", "2001:db8:1:2::5"} {
		codes = append(codes, signIn(i, addr))
	}
	want := []string{"BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT", "TOO_MANY_REQUESTS"}
	if !slices.Equal(codes, want) {
		t.Errorf("sign-ins from one /64: %v, want %v", codes, want)
	}
	if got := signIn(10, "2001:db8:1:3::1"); got != "BAD_USER_INPUT" {
		t.Errorf("a sign-in from the next /64: %s, want it let through", got)
	}
	codes = nil
	for i, addr := range []string{"203.0.113.9", "::ffff:203.0.113.9", "203.0.113.9", "::ffff:203.0.113.9", "203.0.113.9"} {
		codes = append(codes, signIn(20+i, addr))
	}
	if !slices.Equal(codes, want) {
		t.Errorf("sign-ins from an IPv4 address, mapped or not: %v, want %v", codes, want)
	}

	signUp := func(username, addr string) string {
		body, _ := json.Marshal(map[string]any{
			"query":     `mutation($u: String!) { signUp(input: {username: $u, password: "newcomer-pass"}) { token } }`,
			"variables": map[string]any{"u": username},
		})
		return g.post(t, from(addr), body).code()
	}
	codes = []string{signUp("six1", "2001:db8:6:6::1"), signUp("six2", "2001:db8:6:6::2"), signUp("six3", "2001:db8:6:6::3")}
	if want := []string{"", "", "TOO_MANY_REQUESTS"}; !slices.Equal(codes, want) {
		t.Errorf("sign-ups from one /64: %q, want %q", codes, want)
	}
	if _, err := g.store.UserByUsername(context.Background(), "six3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused sign-up made an account: %v", err)
	}
	if got := signUp("seven1", "2001:db8:6:7::1"); got != "" {
		t.Errorf("a sign-up from the next /64: %s", got)
	}

	for _, addr := range []string{"2001:db8:9:9::1", "2001:db8:9:9::2"} {
		g.dialTransportWS(t, from(addr)).init(nil)
	}
	if got := g.dialStatusWith(t, from("2001:db8:9:9::3")); got != http.StatusTooManyRequests {
		t.Errorf("a third websocket from one /64: %d, want 429", got)
	}
	if got := g.dialStatusWith(t, from("2001:db8:9:a::1")); got != http.StatusSwitchingProtocols {
		t.Errorf("a websocket from the next /64: %d, want 101", got)
	}
}
