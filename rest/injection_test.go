package rest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// TestNoSQLInjection sends hardening.md's NoSQL injection lines to every
// dialect: operators in query strings and bodies are literal text,
// refused as a type error (400), or ignored as unknown parameters, and
// never reach the store as an operator. The attack's marker text must
// never appear in a command sent to the store as a key.
func TestNoSQLInjection(t *testing.T) {
	log := &storetest.CommandLog{}
	g := newGateway(t, withStoreOptions(store.Options{Observer: log.Observer()}))
	cases := []struct {
		name, method, path, as, body string
		status                       int
		fragment                     string
	}{
		{"sign-in with operators", "POST", "/api/users/signin", "", `{"username": {"$ne": null}, "password": {"$ne": null}}`, 400, `{"username":["Not a valid string."],"password":["Not a valid string."]}`},
		{"sign-in with a $where", "POST", "/api/users/signin", "", `{"username": "alice", "password": {"$where": "1"}}`, 400, `{"password":["Not a valid string."]}`},
		{"sign-up with an operator", "POST", "/api/users/signup", "", `{"username": {"$gt": ""}, "password": "pw-pw-pw-1"}`, 400, `{"username":["Not a valid string."]}`},
		{"000 update with an operator", "PUT", "/api/users/66", "admin", `{"email": {"$ne": null}}`, 400, `{"email":["Not a valid string."]}`},
		{"000 list, operator parameter", "GET", "/api/users?username[$ne]=x&ordering=-password", "alice", "", 200, `"count":66`},
		{"004 list, operator parameter", "GET", "/api/users/?username[$ne]=x&email[$regex]=.*&ordering=-password", "staff", "", 200, `"count":66`},
		{"004 list, operator as a value", "GET", "/api/users/?username=%7B%22%24ne%22%3A1%7D", "alice", "", 200, `"count":0`},
		{"004 search, a catastrophic regex", "GET", "/api/users/?search=.*(a%2B)%2B$&username__iregex=x", "alice", "", 200, `"count":0`},
		{"004 create with an operator", "POST", "/api/users/", "admin", `{"username": "x", "email": {"$ne": null}}`, 400, `{"email":["Not a valid string."]}`},
		{"004 patch with an operator", "PATCH", "/api/users/66/", "admin", `{"phone_number": {"$exists": true}}`, 400, `{"phone_number":["Not a valid string."]}`},
		{"001 list with an operator value", "POST", "/v1/users/list", "admin", `{"expressions": [{"type": "exact", "field": "username", "value": {"$ne": null}}]}`, 400, `"expressions"`},
		{"001 list with an operator field", "POST", "/v1/users/list", "admin", `{"expressions": [{"type": "exact", "field": "$where", "value": "1"}]}`, 400, `cannot filter on field`},
		{"001 list ordered by the password", "POST", "/v1/users/list", "admin", `{"order_by": [{"field": "password"}]}`, 400, `cannot order by`},
		{"001 list with an operator key", "POST", "/v1/users/list", "admin", `{"expressions": [], "$where": "1"}`, 400, `Unknown property`},
		{"permission ids as operators", "PUT", "/api/users/66/permissions", "admin", `{"permissions": [{"$gt": 0}]}`, 400, `Incorrect type. Expected pk value, received dict.`},
		{"an id that is an operator", "GET", "/api/users/%7B%22%24ne%22%3A1%7D", "admin", "", 404, `Not found.`},
		{"a huge id", "GET", "/api/users/99999999999999999999999", "admin", "", 404, `Not found.`},
		{"an empty id", "GET", "/v1/users/%20", "admin", "", 404, `Not found.`},
		{"002 list, operator parameter", "GET", "/users?id[$ne]=1", "alice", "", 400, `"parameter":"id[$ne]"`},
		{"002 list, operator as the id", "GET", "/users?id=%7B%22%24ne%22%3A1%7D", "alice", "", 400, `"parameter":"id"`},
		{"002 create with an operator", "POST", "/users", "admin", `{"data": {"type": "users", "attributes": {"username": {"$ne": ""}, "password": "pw-pw-pw-1", "uname": "u"}}}`, 400, `/data/attributes/username`},
		{"002 role as an operator", "POST", "/users/66/relationships/roles", "admin", `{"data": {"type": "roles", "id": {"$gt": 0}}}`, 400, `/data/id`},
		{"003 mailings, operator parameters", "GET", "/api/v1/mailing/?tag[$ne]=x&code[$gt]=1", "alice", "", 200, `"count":0`},
		{"003 clients, operator page size", "GET", "/api/v1/clients/?limit[$gt]=0&page=1", "alice", "", 200, `"count":0`},
		{"003 tag with an operator", "POST", "/api/v1/tags/", "admin", `{"name": {"$ne": null}}`, 400, `{"name":["Not a valid string."]}`},
		{"003 client with an operator pk", "POST", "/api/v1/clients/", "admin", `{"phone_number": "79160000000", "timezone": "UTC", "mobile_operator_code": {"$gt": 0}, "tag": 1}`, 400, `Incorrect type. Expected pk value, received dict.`},
		{"003 mailing with operator tags", "POST", "/api/v1/mailing/", "admin", `{"tags": [{"$ne": null}], "codes": ["916"], "start_notification_date": "2030-01-01T00:00:00Z", "end_notification_date": "2030-01-02T00:00:00Z", "text": "x"}`, 400, `"tags"`},
		{"003 a username that is an operator", "GET", "/api/v1/users/%7B%22%24ne%22%3A1%7D/", "admin", "", 404, `Not found.`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log.Reset()
			r := g.do(c.method, c.path, c.as, c.body)
			if r.Status != c.status || !strings.Contains(string(r.Body), c.fragment) {
				t.Fatalf("%d %s; want %d holding %s", r.Status, r.Body, c.status, c.fragment)
			}
			if c.status == http.StatusOK && len(log.Holding(`"find"`)) == 0 {
				t.Fatal("no read reached the store: the log sees nothing")
			}
			for _, op := range []string{`"$ne"`, `"$gt"`, `"$where"`, `"$exists"`, `"$regex": ".*"`} {
				if cmds := log.Holding(op); len(cmds) > 0 && !storeOwn(op, cmds) {
					t.Errorf("%s reached the store: %v", op, cmds)
				}
			}
			// A catastrophic pattern is bounded in time because it reaches
			// the store only as literal text, escaped, which no engine's
			// regular expressions backtrack on; the commands show it on
			// every engine, where a stopwatch shows it only on one that
			// backtracks, and a loaded machine fails it on any.
			if cmds := log.Holding(`(a+)+`); len(cmds) > 0 {
				t.Errorf("the search reached the store as a pattern: %v", cmds)
			}
			if strings.Contains(c.path, "(a%2B)%2B") && len(log.Holding(`\\(a\\+\\)\\+`)) == 0 {
				t.Error("the search did not reach the store as escaped text")
			}
		})
	}
	if r := g.do(http.MethodGet, "/api/users/66", "admin", ""); r.Status != 200 {
		t.Fatalf("the user is gone: %d", r.Status)
	}
}

// storeOwn tells the store's own operators from the attacker's: the
// store writes $ne only as {"$ne": null} (isNull: false), and $gt only with
// values it chose; none of the requests above asks for either.
func storeOwn(op string, cmds []string) bool {
	for _, c := range cmds {
		if op == `"$ne"` && strings.Contains(strings.ReplaceAll(c, " ", ""), `"$ne":null`) {
			continue
		}
		return false
	}
	return true
}
