package main

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sync"
	"testing"
)

// "The user themself" is whoever holds the user id a request names, never
// whoever's username reads like the path. v1users' service let only staff
// and the user themself read a user: a user who signs up as "1" must not
// read user 1 (here a superuser) through it. Each reads themself by id and
// by name, and nobody else; staff read anyone.
func TestSelfIsDecidedByUserID(t *testing.T) {
	g := newTestGateway(t)
	root := g.staff(t, "root", true)           // user 1
	named1 := g.signUp(t, "1", "one-password") // user 2
	bob := g.signUp(t, "bob", "bob-password")  // user 3
	for _, c := range []struct {
		who, token, path string
		status           int
		username         string // read, when 200
	}{
		{"1", named1, "/v1/users/1", http.StatusForbidden, ""},
		{"1", named1, "/v1/users/1/", http.StatusForbidden, ""},
		{"1", named1, "/v1/users/2", http.StatusOK, "1"},
		{"1", named1, "/v1/users/3", http.StatusForbidden, ""},
		{"1", named1, "/v1/users/bob", http.StatusForbidden, ""},
		{"1", named1, "/v1/users/root", http.StatusForbidden, ""},
		{"bob", bob, "/v1/users/3", http.StatusOK, "bob"},
		{"bob", bob, "/v1/users/bob/", http.StatusOK, "bob"},
		{"bob", bob, "/v1/users/1", http.StatusForbidden, ""},
		{"bob", bob, "/v1/users/nobody", http.StatusForbidden, ""},
		{"root", root, "/v1/users/1", http.StatusOK, "root"},
		{"root", root, "/v1/users/bob", http.StatusOK, "bob"},
	} {
		r := g.rest(t, http.MethodGet, c.path, c.token, "", "")
		if r.Status != c.status {
			t.Errorf("%s: GET %s = %d %s, want %d", c.who, c.path, r.Status, r.Body, c.status)
			continue
		}
		if c.status != http.StatusOK {
			continue
		}
		var u struct{ Username string }
		if err := json.Unmarshal(r.Body, &u); err != nil || u.Username != c.username {
			t.Errorf("%s: GET %s read %s, want %s", c.who, c.path, r.Body, c.username)
		}
	}
}

// Twenty sign-ups sent at once under one name written in different cases
// (and in fullwidth letters): exactly one account is made, and every other
// sign-up is told, as for any taken name, that the username exists.
func TestConcurrentSignUpsMakeOneAccountWhateverTheCase(t *testing.T) {
	g := newTestGateway(t, "--signup-limit=0")
	names := []string{"Bob", "bob", "BOB", "ｂｏｂ"}
	answers := make([]gqlResponse, 20)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			answers[i] = g.query(t, "", `mutation($u: String!) { signUp(input: {username: $u, password: "bob-password"}) { user { username } } }`,
				map[string]any{"u": names[i%len(names)]})
		})
	}
	wg.Wait()
	made := 0
	for _, r := range answers {
		if r.code() == "" {
			made++
			continue
		}
		if got := r.fields()["username"]; r.code() != "BAD_USER_INPUT" || !reflect.DeepEqual(got, []any{"A user with that username already exists."}) {
			t.Errorf("a refused sign-up: %s %+v", r.code(), r.Errors)
		}
	}
	if made != 1 {
		t.Errorf("%d sign-ups made an account, want exactly 1", made)
	}
	if n, err := g.store.CountUsers(context.Background(), nil); err != nil || n != 1 {
		t.Errorf("%d users stored (%v), want 1", n, err)
	}
}
