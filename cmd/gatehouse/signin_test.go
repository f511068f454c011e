package main

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

const meQuery = `{ me { id username } }`

func TestSignUpSignInSignOut(t *testing.T) {
	g := newTestGateway(t)
	r := g.query(t, "", `mutation { signUp(input: {username: "kavehkm", password: "s3cret", email: "kaveh@example.com", firstName: "kaveh", lastName: "mehrbanian"}) { token user { id username email firstName lastName isActive isStaff isSuperuser lastLogin } } }`, nil)
	data := r.mustData(t)
	signUpToken := dig(data, "signUp", "token").(string)
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(signUpToken) {
		t.Errorf("token %q is not 40 lowercase hex characters", signUpToken)
	}
	user := dig(data, "signUp", "user").(map[string]any)
	want := map[string]any{"id": "1", "username": "kavehkm", "email": "kaveh@example.com", "firstName": "kaveh", "lastName": "mehrbanian",
		"isActive": true, "isStaff": false, "isSuperuser": false, "lastLogin": nil}
	for k, v := range want {
		if user[k] != v {
			t.Errorf("signUp user.%s = %v, want %v", k, user[k], v)
		}
	}

	r = g.query(t, "", `mutation { signIn(username: "kavehkm", password: "s3cret") { token user { id lastLogin } } }`, nil)
	data = r.mustData(t)
	token := dig(data, "signIn", "token").(string)
	if token == signUpToken {
		t.Error("two sign-ins gave the same token")
	}
	if dig(data, "signIn", "user", "lastLogin") == nil {
		t.Error("lastLogin not set by sign-in")
	}

	for _, tok := range []string{token, signUpToken} {
		if got := dig(g.query(t, tok, meQuery, nil).mustData(t), "me", "username"); got != "kavehkm" {
			t.Errorf("me = %v", got)
		}
	}
	g.query(t, token, `mutation { signOut }`, nil).mustData(t)
	r = g.query(t, token, meQuery, nil)
	if r.Status != http.StatusUnauthorized || r.Errors[0].Message != "Invalid token." {
		t.Errorf("signed-out token: status %d, %+v", r.Status, r.Errors)
	}
	// The other token is untouched.
	g.query(t, signUpToken, meQuery, nil).mustData(t)
}

func TestAnonymousCallers(t *testing.T) {
	g := newTestGateway(t)
	r := g.query(t, "", meQuery, nil)
	if r.Status != http.StatusOK || r.code() != "UNAUTHENTICATED" || r.Errors[0].Message != "Authentication credentials were not provided." {
		t.Errorf("anonymous me: %d %+v", r.Status, r.Errors)
	}
	r = g.query(t, "", `{ users { totalCount } }`, nil)
	if r.code() != "UNAUTHENTICATED" {
		t.Errorf("anonymous users: %+v", r.Errors)
	}
	r = g.query(t, "", `{ __typename }`, nil)
	if dig(r.mustData(t), "__typename") != "Query" {
		t.Errorf("__typename: %+v", r.Data)
	}
}

// Token headers are read as Django REST Framework reads them.
func TestTokenHeaders(t *testing.T) {
	g := newTestGateway(t)
	token := g.signUp(t, "alice", "pw-alice")
	cases := []struct {
		header     string
		wantStatus int
		wantDetail string
	}{
		{"Token " + token, 200, ""},
		{"token " + token, 200, ""},
		{"TOKEN " + token, 200, ""},
		{"Bearer " + token, 200, ""},
		{"bearer " + token, 200, ""},
		{"Token", 401, "Invalid token header. No credentials provided."},
		{"Token a b", 401, "Invalid token header. Token string should not contain spaces."},
		{"Token " + strings.Repeat("0", 40), 401, "Invalid token."},
		{"Token abc", 401, "Invalid token."},
		{"Token " + token + "00", 401, "Invalid token."},
		{"Token " + strings.ToUpper(token), 401, "Invalid token."},
		{"Token zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 401, "Invalid token."},
		{"Basic YWxpY2U6cHc=", 200, "anonymous"},
	}
	for _, c := range cases {
		t.Run(c.header, func(t *testing.T) {
			r := g.post(t, http.Header{"Content-Type": {"application/json"}, "Authorization": {c.header}}, []byte(`{"query":"{ me { username } }"}`))
			if r.Status != c.wantStatus {
				t.Fatalf("status %d, want %d (%+v)", r.Status, c.wantStatus, r.Errors)
			}
			switch {
			case c.wantStatus == 401:
				if r.Errors[0].Message != c.wantDetail || r.code() != "UNAUTHENTICATED" {
					t.Errorf("error %+v, want %q", r.Errors, c.wantDetail)
				}
				if r.Header.Get("WWW-Authenticate") != "Token" {
					t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
				}
			case c.wantDetail == "anonymous":
				if r.code() != "UNAUTHENTICATED" {
					t.Errorf("a foreign scheme should read as anonymous: %+v", r.Errors)
				}
			default:
				if dig(r.mustData(t), "me", "username") != "alice" {
					t.Errorf("me = %+v", r.Data)
				}
			}
		})
	}
}

func TestBadCredentialsLookTheSame(t *testing.T) {
	g := newTestGateway(t)
	g.signUp(t, "bob", "right-password")
	staff := g.staff(t, "admin", false)
	g.signUp(t, "carl", "carl-password")
	r := g.query(t, staff, `mutation { deactivateUser(id: "3") { isActive } }`, nil)
	if dig(r.mustData(t), "deactivateUser", "isActive") != false {
		t.Fatalf("deactivate: %+v", r.Data)
	}

	var answers []string
	for _, creds := range [][2]string{{"bob", "wrong"}, {"nobody", "whatever"}, {"carl", "carl-password"}} {
		r := g.query(t, "", `mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { token } }`,
			map[string]any{"u": creds[0], "p": creds[1]})
		if r.Data["signIn"] != nil || r.code() != "BAD_USER_INPUT" {
			t.Fatalf("%s signed in: %+v", creds[0], r)
		}
		answers = append(answers, fmt.Sprintf("%d %s %v", r.Status, r.Errors[0].Message, r.fields()))
	}
	for _, a := range answers[1:] {
		if a != answers[0] {
			t.Errorf("answers differ:\n%s\n%s", answers[0], a)
		}
	}
	if !strings.Contains(answers[0], "Unable to log in with provided credentials.") {
		t.Errorf("message: %s", answers[0])
	}
}

func TestInactiveUsersTokensStop(t *testing.T) {
	g := newTestGateway(t)
	token := g.signUp(t, "dora", "dora-password")
	staff := g.staff(t, "admin", false)
	g.query(t, token, meQuery, nil).mustData(t) // cached now
	g.query(t, staff, `mutation { deactivateUser(id: "1") { id } }`, nil).mustData(t)
	r := g.query(t, token, meQuery, nil)
	if r.Status != http.StatusUnauthorized || len(r.Errors) == 0 || r.Errors[0].Message != "User inactive or deleted." {
		t.Errorf("token of a deactivated user: %d %+v", r.Status, r.Errors)
	}
	// Reactivated, the user signs in again; the old token stays revoked.
	g.query(t, staff, `mutation { updateUser(id: "1", input: {isActive: true}) { isActive } }`, nil).mustData(t)
	if r := g.query(t, token, meQuery, nil); r.Status != http.StatusUnauthorized || len(r.Errors) == 0 || r.Errors[0].Message != "Invalid token." {
		t.Errorf("revoked token came back: %d %+v", r.Status, r.Errors)
	}
	g.query(t, "", `mutation { signIn(username: "dora", password: "dora-password") { token } }`, nil).mustData(t)
}

// A token whose user was set inactive behind the gateway's back is refused
// with DRF's words once the cache has let go of it.
func TestInactiveUserMessage(t *testing.T) {
	g := newTestGateway(t, "--token-cache-ttl=0")
	token := g.signUp(t, "ed", "ed-password")
	no := false
	if _, err := g.store.UpdateUser(context.Background(), 1, store.UserUpdate{IsActive: &no}); err != nil {
		t.Fatal(err)
	}
	r := g.query(t, token, meQuery, nil)
	if r.Status != http.StatusUnauthorized || r.Errors[0].Message != "User inactive or deleted." {
		t.Errorf("inactive: %d %+v", r.Status, r.Errors)
	}
}

// Users imported from Django keep their passwords: a pbkdf2_sha256 hash
// signs in and is replaced by argon2id.
func TestDjangoHashIsUpgraded(t *testing.T) {
	g := newTestGateway(t)
	key, err := pbkdf2.Key(sha256.New, "lètmein", []byte("seasalt"), 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	django := "pbkdf2_sha256$1000$seasalt$" + base64.StdEncoding.EncodeToString(key)
	if _, err := g.store.CreateUser(context.Background(), store.NewUser{Username: "imported", PasswordHash: django, IsActive: true}); err != nil {
		t.Fatal(err)
	}
	g.query(t, "", `mutation { signIn(username: "imported", password: "lètmein") { token } }`, nil).mustData(t)
	_, hash, err := g.store.UserCredentials(context.Background(), "imported")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "argon2$argon2id$") {
		t.Errorf("hash after sign-in = %.20s…, want argon2id", hash)
	}
	g.query(t, "", `mutation { signIn(username: "imported", password: "lètmein") { token } }`, nil).mustData(t)
	if r := g.query(t, "", `mutation { signIn(username: "imported", password: "letmein") { token } }`, nil); r.code() != "BAD_USER_INPUT" {
		t.Errorf("a wrong password after the upgrade: %+v", r.Errors)
	}
}

func TestLongAndUnicodePasswords(t *testing.T) {
	g := newTestGateway(t)
	for i, pw := range []string{strings.Repeat("p", 128), strings.Repeat("🔐", 64)} {
		name := fmt.Sprintf("user%d", i)
		g.signUp(t, name, pw)
		g.query(t, "", `mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { token } }`, map[string]any{"u": name, "p": pw}).mustData(t)
		// One character less is a different password: nothing was truncated.
		short := string([]rune(pw)[:len([]rune(pw))-1])
		if r := g.query(t, "", `mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { token } }`, map[string]any{"u": name, "p": short}); r.code() != "BAD_USER_INPUT" {
			t.Errorf("password %d minus a character signed in", i)
		}
	}
}

func TestSignUpValidation(t *testing.T) {
	g := newTestGateway(t)
	g.signUp(t, "taken", "pw")
	g.query(t, "", `mutation { signUp(input: {username: "first", password: "pw", email: "first@example.com"}) { token } }`, nil).mustData(t)
	cases := []struct {
		name, input string
		want        map[string]any
	}{
		{"duplicate username", `{username: "taken", password: "pw"}`, map[string]any{"username": []any{"A user with that username already exists."}}},
		{"duplicate email", `{username: "second", password: "pw", email: "FIRST@example.com"}`, map[string]any{"email": []any{"user with this email already exists."}}},
		{"bad username", `{username: "has space", password: "pw"}`, map[string]any{"username": []any{"Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."}}},
		{"blank password", `{username: "nopw", password: ""}`, map[string]any{"password": []any{"This field may not be blank."}}},
		{"bad email", `{username: "x", password: "pw", email: "x@"}`, map[string]any{"email": []any{"Enter a valid email address."}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := g.query(t, "", `mutation { signUp(input: `+c.input+`) { token } }`, nil)
			if r.code() != "BAD_USER_INPUT" || fmt.Sprint(r.fields()) != fmt.Sprint(c.want) {
				t.Errorf("got %s %v, want %v", r.code(), r.fields(), c.want)
			}
		})
	}
	// Privileged fields are not part of sign-up: the request is refused whole.
	r := g.query(t, "", `mutation { signUp(input: {username: "sneaky", password: "pw", isSuperuser: true}) { token } }`, nil)
	if len(r.Errors) == 0 || r.Data["signUp"] != nil {
		t.Errorf("sign-up with isSuperuser: %+v", r)
	}
	if _, err := g.store.UserByUsername(context.Background(), "sneaky"); err == nil {
		t.Error("the refused sign-up stored a user")
	}
	n, _ := g.store.CountUsers(context.Background(), nil)
	if n != 2 {
		t.Errorf("%d users stored, want 2", n)
	}
}

func TestConcurrentSignUps(t *testing.T) {
	g := newTestGateway(t)
	var wg sync.WaitGroup
	results := make(chan gqlResponse, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- g.query(t, "", `mutation { signUp(input: {username: "same", password: "pw"}) { token } }`, nil)
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for r := range results {
		switch {
		case len(r.Errors) == 0:
			ok++
		case r.code() == "BAD_USER_INPUT" && fmt.Sprint(r.fields()["username"]) == "[A user with that username already exists.]":
		default:
			t.Errorf("unexpected answer: %d %+v", r.Status, r.Errors)
		}
	}
	if ok != 1 {
		t.Errorf("%d sign-ups succeeded, want 1", ok)
	}
}

// Operators read the sign-in log; it has the outcome and the user id, and
// never the password or a token.
func TestSignInLogs(t *testing.T) {
	g := newTestGateway(t)
	token := g.signUp(t, "fay", "fay-secret-password")
	g.query(t, "", `mutation { signIn(username: "fay", password: "wrong-secret") { token } }`, nil)
	r := g.query(t, "", `mutation { signIn(username: "fay", password: "fay-secret-password") { token } }`, nil)
	token2 := dig(r.mustData(t), "signIn", "token").(string)
	logs := g.logs.String()
	for _, secret := range []string{"fay-secret-password", "wrong-secret", token, token2} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret %q", secret)
		}
	}
	for _, want := range []string{`"outcome":"bad_credentials","user_id":1`, `"outcome":"ok","user_id":1`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s", want)
		}
	}
}

// An account without a usable password (made by staff without one, over
// GraphQL or a REST dialect, or holding a hash Gatehouse cannot read, such
// as an imported bcrypt one) is signed in against as any other: one hash is
// computed, as for an unknown username or a wrong password, and the answer
// is the unknown username's, to the byte. Answered without a hash, it came
// back in a millisecond where every other attempt takes tens: a list of
// the usernames that exist.
func TestSignInWithoutAUsablePasswordCostsAHash(t *testing.T) {
	g := newTestGateway(t)
	_, boss := g.member(t, "boss", true, 1, 2, 3, 4)
	g.query(t, boss, `mutation { createUser(input: {username: "made-without"}) { id } }`, nil).mustData(t)
	if r := g.rest(t, http.MethodPost, "/api/users/", boss, mediaJSONBody, `{"username": "managed-without", "email": "managed@example.com"}`); r.Status != http.StatusCreated {
		t.Fatalf("usermgmt create without a password: %d %s", r.Status, r.Body)
	}
	imported := store.NewUser{Username: "imported-bcrypt", IsActive: true,
		PasswordHash: "bcrypt_sha256$$2b$12$WCRUKZM1nz0iwpXtWYhdOeHDg8Gj9N3u0wKBYc7M/zFx8V9yG8Uyq"}
	if _, err := g.store.CreateUser(context.Background(), imported); err != nil {
		t.Fatal(err)
	}
	g.signUp(t, "with-one", "with-one-password")

	var hashes atomic.Int32
	g.accounts.Hasher.OnWait = func(time.Duration) { hashes.Add(1) }
	// attempt signs in with a wrong password over GraphQL and through the
	// accounts dialect, and answers both answers and the hashes they cost.
	attempt := func(username string) (graphQL, accounts rawResponse, hashed int32) {
		t.Helper()
		hashes.Store(0)
		body, _ := json.Marshal(map[string]any{
			"query":     `mutation($u: String!) { signIn(username: $u, password: "a-guess") { token } }`,
			"variables": map[string]any{"u": username}})
		graphQL = g.send(t, http.MethodPost, "/graphql", http.Header{}, mediaJSONBody, string(body))
		body, _ = json.Marshal(map[string]any{"username": username, "password": "a-guess"})
		accounts = g.send(t, http.MethodPost, "/api/users/signin", http.Header{}, mediaJSONBody, string(body))
		return graphQL, accounts, hashes.Load()
	}
	unknownGraphQL, unknownAccounts, hashed := attempt("nobody-by-that-name")
	if hashed != 2 {
		t.Fatalf("an unknown username cost %d hashes over two attempts, want 2", hashed)
	}
	for _, username := range []string{"made-without", "managed-without", "imported-bcrypt", "with-one"} {
		graphQL, accounts, hashed := attempt(username)
		if hashed != 2 {
			t.Errorf("%s: %d hashes over two attempts, want 2, as for an unknown username", username, hashed)
		}
		for _, c := range []struct {
			name      string
			got, want rawResponse
		}{{"GraphQL", graphQL, unknownGraphQL}, {"accounts", accounts, unknownAccounts}} {
			if c.got.Status != c.want.Status || !bytes.Equal(c.got.Body, c.want.Body) {
				t.Errorf("%s over %s: %d %s; an unknown username gets %d %s", username, c.name, c.got.Status, c.got.Body, c.want.Status, c.want.Body)
			}
		}
	}
}
