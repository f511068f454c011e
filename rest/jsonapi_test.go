package rest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestJSONAPIDocumentChecker: the checker the golden files run on every
// answer of the jsonapi dialect finds each kind of fault it is there to
// find, and passes documents that conform.
func TestJSONAPIDocumentChecker(t *testing.T) {
	valid := []string{
		`{"data": null}`,
		`{"meta": {"count": 1}}`,
		`{"data": [], "links": {"self": "http://h/users", "prev": null}, "meta": {"pagination": {}}}`,
		`{"data": {"id": "1", "type": "users", "attributes": {"user-name": "x", "is_active": true},
		  "relationships": {"roles": {"links": {"related": "http://h/users/1/roles"}}}}}`,
		`{"data": [{"type": "roles", "id": "7"}], "links": {"self": "http://h/users/1/relationships/roles"}}`,
		`{"errors": [{"status": "400", "title": "Bad Request", "source": {"pointer": "/data/attributes/x"}}]}`,
		`{"errors": [{"status": "400", "source": {"parameter": "page"}}], "jsonapi": {"version": "1.1"}}`,
	}
	for _, doc := range valid {
		if p := jsonapiDocumentProblems(decode(t, doc)); len(p) > 0 {
			t.Errorf("%s: %v", doc, p)
		}
	}
	invalid := map[string]string{
		`[]`:                                       "top level is not an object",
		`{"links": {"self": "x"}}`:                 "none of data, errors, meta",
		`{"data": null, "errors": []}`:             "data and errors together",
		`{"data": null, "detail": "x"}`:            "not a top-level member",
		`{"meta": {}, "included": []}`:             "included without data",
		`{"data": {"id": 19283, "type": "users"}}`: "id is not a non-empty string",
		`{"data": {"id": "1"}}`:                    "type is not a non-empty string",
		`{"data": [{"id": "1", "type": "u"}, {"id": "1", "type": "u"}]}`:                                           "again",
		`{"data": {"id": "1", "type": "u", "attributes": {"type": 1}}}`:                                            "not a valid field name",
		`{"data": {"id": "1", "type": "u", "attributes": {"-x": 1}}}`:                                              "not a valid field name",
		`{"data": {"id": "1", "type": "u", "attributes": {"a": 1}, "relationships": {"a": {"meta": {}}}}}`:         "both an attribute and a relationship",
		`{"data": {"id": "1", "type": "u", "relationships": {"r": {}}}}`:                                           "none of links, data, meta",
		`{"data": {"id": "1", "type": "u", "relationships": {"r": {"links": {"home": "http://h"}}}}}`:              "neither self nor related",
		`{"data": {"id": "1", "type": "u", "relationships": {"r": {"data": [{"type": "r", "id": "1", "x": 1}]}}}}`: "not a member of a resource identifier",
		`{"data": {"id": "1", "type": "u", "password": "x"}}`:                                                      "not a member of a resource object",
		`{"data": null, "links": {"self": 5}}`:                                                                     "not a link",
		`{"data": null, "links": {"self": {"rel": "x"}}}`:                                                          "without href",
		`{"data": null, "meta": []}`:                                                                               "meta is not an object",
		`{"errors": []}`:                                                                                           "not a non-empty list",
		`{"errors": [{"status": 400}]}`:                                                                            "not a string",
		`{"errors": [{"status": "4000"}]}`:                                                                         "not an HTTP status",
		`{"errors": [{"detail": "x", "field": "y"}]}`:                                                              "not a member of an error object",
		`{"errors": [{"source": {"pointer": "data/x"}}]}`:                                                          "not a JSON Pointer",
		`{"data": null, "jsonapi": {"version": "2.0"}}`:                                                            "not a JSON:API object",
	}
	for doc, want := range invalid {
		p := jsonapiDocumentProblems(decode(t, doc))
		if !strings.Contains(strings.Join(p, "; "), want) {
			t.Errorf("%s: problems %v, want one saying %q", doc, p, want)
		}
	}
	answers := []struct {
		r    response
		want string
	}{
		{response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"data": null}`)}, "Content-Type"},
		{response{Status: 200, Header: http.Header{"Content-Type": {"application/vnd.api+json; charset=utf-8"}}, Body: []byte(`{"data": null}`)}, "parameter charset"},
		{response{Status: 404, Header: http.Header{"Content-Type": {"application/vnd.api+json"}}, Body: []byte(`{"meta": {}}`)}, "has no errors"},
		{response{Status: 404, Header: http.Header{"Content-Type": {"application/vnd.api+json"}}, Body: []byte(`{"errors": [{"status": "400"}]}`)}, "no error has the answer's status"},
		{response{Status: 204, Body: []byte(`{}`)}, "a 204 answer has a body"},
	}
	for _, a := range answers {
		if p := jsonapiAnswerProblems(a.r); !strings.Contains(strings.Join(p, "; "), a.want) {
			t.Errorf("%d %s: problems %v, want one saying %q", a.r.Status, a.r.Body, p, a.want)
		}
	}
}

func decode(t *testing.T, doc string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return v
}

// TestJSONAPIMountedElsewhere: moved under another prefix, the dialect's
// links follow it (home and the roles' links beside the mount, as the
// legacy service had them beside /users), and its time zone is the one
// configured.
func TestJSONAPIMountedElsewhere(t *testing.T) {
	g := newGateway(t, withMounts("jsonapi=/legacy/users", "jsonapi=Europe/Moscow"))
	jsonapiFixture(g)
	r := g.do("POST", "/legacy/users/3/relationships/roles", "admin", `{"data": {"type": "roles", "id": "7"}}`)
	if r.Status != http.StatusOK {
		t.Fatalf("assign: %d %s", r.Status, r.Body)
	}
	r = g.do("GET", "/legacy/users/3/roles", "alice", "")
	for _, want := range []string{
		`"self":"http://testserver/legacy/roles/7"`,
		`"related":"http://testserver/legacy/roles/7/users"`,
		`"home":"http://testserver/legacy/home"`,
		`"first":"http://testserver/legacy/users/3/roles"`,
		`"created":"2025-11-05T17:21:05+03:00"`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("roles answer lacks %s: %s", want, r.Body)
		}
	}
	if r := g.do("GET", "/users/3", "alice", ""); r.Status != http.StatusNotFound {
		t.Errorf("the default mount still answers: %d", r.Status)
	}
}

// TestJSONAPILinksBehindProxy: links and Location use the scheme and host
// a trusted proxy forwards, and only a trusted one.
func TestJSONAPILinksBehindProxy(t *testing.T) {
	forwarded := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "users.example.com"}
	body := `{"data": {"type": "users", "attributes": {"username": "proxied", "password": "pw-pw-pw-1", "uname": "p"}}}`
	for _, c := range []struct {
		proxies []string
		origin  string
	}{
		{nil, "http://testserver"},
		{[]string{"127.0.0.1", "::1"}, "https://users.example.com"},
	} {
		g := newGateway(t, withTrustedProxies(c.proxies...))
		r := g.do("POST", "/users", "admin", body, forwarded...)
		if r.Status != http.StatusCreated || r.Header.Get("Location") != c.origin+"/users/67" {
			t.Errorf("proxies %v: %d, Location %q, want %s/users/67", c.proxies, r.Status, r.Header.Get("Location"), c.origin)
		}
		if !strings.Contains(string(r.Body), `"home":"`+c.origin+`/home"`) {
			t.Errorf("proxies %v: %s", c.proxies, r.Body)
		}
	}
}

// TestJSONAPINeverAnswersPassword: the password given at creation or
// change appears in no answer, neither as sent nor as its hash.
func TestJSONAPINeverAnswersPassword(t *testing.T) {
	g := newGateway(t)
	const password = "Secret-Word-42"
	answers := []response{
		g.do("POST", "/users", "admin", `{"data": {"type": "users", "attributes": {"username": "pat", "password": "`+password+`", "uname": "pat"}}}`),
		g.do("PATCH", "/users/67", "admin", `{"data": {"type": "users", "id": "67", "attributes": {"password": "`+password+`"}}}`),
		g.do("GET", "/users/67", "admin", ""),
		g.do("GET", "/users?id=67", "admin", ""),
	}
	for i, r := range answers {
		if r.Status >= 300 {
			t.Fatalf("answer %d: %d %s", i, r.Status, r.Body)
		}
		if b := string(r.Body); strings.Contains(b, "password") || strings.Contains(b, password) || strings.Contains(b, "$argon2") {
			t.Errorf("answer %d shows the password: %s", i, b)
		}
	}
	if r := g.do("POST", "/api/users/signin", "", `{"username": "pat", "password": "`+password+`"}`); r.Status != http.StatusOK {
		t.Errorf("the password set through 002 does not sign in: %d %s", r.Status, r.Body)
	}
}

// TestJSONAPIFailuresChangeNothing: a refused write leaves the user as it
// was, whatever refused it.
func TestJSONAPIFailuresChangeNothing(t *testing.T) {
	g := newGateway(t)
	jsonapiFixture(g)
	if r := g.do("POST", "/users/66/relationships/roles", "admin", `{"data": {"type": "roles", "id": 7}}`); r.Status != http.StatusOK {
		t.Fatalf("assign: %d %s", r.Status, r.Body)
	}
	before := g.do("GET", "/users/66", "admin", "").Body
	refused := []struct{ method, path, body string }{
		{"PATCH", "/users/66", `{"data": {"type": "users", "id": "66", "attributes": {"name": "x", "email": "bad"}}}`},
		{"PATCH", "/users/66", `{"data": {"type": "users", "id": "65", "attributes": {"name": "x"}}}`},
		{"PATCH", "/users/66", `{"data": {"type": "users", "id": "66", "attributes": {"name": "x", "is_superuser": "sure"}}}`},
		{"DELETE", "/users/66/relationships/roles", `{"data": [{"type": "roles", "id": "7"}, {"type": "roles", "id": "8"}]}`},
		{"POST", "/users", `{"data": {"type": "users", "attributes": {"username": "user066", "password": "x", "uname": "x"}}}`},
	}
	for _, c := range refused {
		if r := g.do(c.method, c.path, "admin", c.body); r.Status < 400 {
			t.Errorf("%s %s %s: %d, want a refusal", c.method, c.path, c.body, r.Status)
		}
	}
	if after := g.do("GET", "/users/66", "admin", "").Body; string(after) != string(before) {
		t.Errorf("a refused write changed the user:\n%s\n%s", before, after)
	}
	if r := g.do("GET", "/users/66/relationships/roles", "admin", ""); !strings.Contains(string(r.Body), `"id":"7"`) {
		t.Errorf("a refused relationship change took role 7: %s", r.Body)
	}
}

// TestJSONAPIHardening: hostile or broken input gets a JSON:API error
// document with a 4xx status, never a 500, and writes nothing.
func TestJSONAPIHardening(t *testing.T) {
	g := newGateway(t, withBodyLimit(256))
	big := `{"data": {"type": "users", "attributes": {"username": "` + strings.Repeat("a", 300) + `"}}}`
	cases := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/users", big, http.StatusRequestEntityTooLarge},
		{"POST", "/users", `{"data": {"type": "users", "attributes": {"username": {"$ne": null}, "password": {"$ne": null}, "uname": "x"}}}`, http.StatusBadRequest},
		{"POST", "/users", `{"data": {"type": "users", "attributes": {"username": "x", "password": "x", "uname": "x", "is_superuser": true}}}`, http.StatusCreated},
		{"PATCH", "/users/3", `{"data": {"type": "users", "id": {"$gt": 0}}}`, http.StatusBadRequest},
		{"POST", "/users/3/relationships/roles", `{"data": {"type": "roles", "id": {"$gt": 0}}}`, http.StatusBadRequest},
		{"GET", "/users/99999999999999999999", "", http.StatusNotFound},
		{"GET", "/users/0", "", http.StatusNotFound},
		{"GET", "/users?page=99999999999999999999", "", http.StatusBadRequest},
		{"GET", "/users?page=9223372036854775807&page_size=100", "", http.StatusOK},
		{"GET", "/users?id[$ne]=1", "", http.StatusBadRequest},
		{"GET", "/users?id=1e3", "", http.StatusBadRequest},
		{"GET", "/users/3?x_debug=1&username__ne=x", "", http.StatusOK},
		{"GET", "/users/3?username[$ne]=x", "", http.StatusBadRequest},
	}
	for _, c := range cases {
		r := g.do(c.method, c.path, "admin", c.body)
		if r.Status != c.status {
			t.Errorf("%s %s %.60s: %d %s, want %d", c.method, c.path, c.body, r.Status, r.Body, c.status)
		}
		for _, problem := range jsonapiAnswerProblems(r) {
			t.Errorf("%s %s: %s", c.method, c.path, problem)
		}
	}
	// The superuser flag is applied only because admin is a superuser.
	r := g.do("POST", "/users", "staff", `{"data": {"type": "users", "attributes": {"username": "y", "password": "x", "uname": "y", "is_superuser": true}}}`)
	if r.Status != http.StatusForbidden {
		t.Errorf("staff made a superuser: %d %s", r.Status, r.Body)
	}
}
