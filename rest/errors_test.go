package rest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
)

// TestErrorStatuses sends every failure DRF answers to every dialect and
// checks the status, the body and the headers a legacy client reads.
func TestErrorStatuses(t *testing.T) {
	type request struct {
		method, path, as, body, contentType string
		header                              []string
	}
	// One protected path per dialect, with what its routes take.
	dialects := []struct {
		name           string
		item, list     string // a user's path; the collection (POST where it has one)
		listMethod     string
		missingMethod  string // a method the item path lacks
		writeBody      string // a body the item's PUT accepts
		itemAllow      string
		fieldErrorBody string
		fieldError     string
		listOpening    string // how staff's read of the collection starts
	}{
		{"accounts", "/api/users/66", "/api/users", http.MethodGet, http.MethodPatch, `{"first_name": "x"}`, "GET, PUT, DELETE, HEAD, OPTIONS", `{"username": ""}`, `{"username":["This field may not be blank."]}`,
			`{"count":66,"next":"http://testserver/api/users?limit=10&offset=10","previous":null,"results":[{"id":1,"first_name":"","last_name":"","email":"admin@example.com","username":"admin","person":1},{"id":2,`},
		{"v1users", "/v1/users/66", "/v1/users/list", http.MethodPost, http.MethodPost, `{"username": "user066", "password": "n3w-pass-word"}`, "GET, PUT, PATCH, DELETE, HEAD, OPTIONS", `{"password": "x"}`, `{"username":["This field is required."]}`,
			`[{"username":"admin","pk":1,"last_login":null,"is_superuser":true,"first_name":"","last_name":"","email":"admin@example.com","is_staff":true,"is_active":true,"date_joined":"2025-11-05T14:21:05.963000Z"},{"username":"staff","pk":2,`},
		{"usermgmt", "/api/users/66/", "/api/users/", http.MethodGet, http.MethodPost, `{"username": "user066", "email": "u66@example.com"}`, "GET, PUT, PATCH, DELETE, HEAD, OPTIONS", `{"username": "user066"}`, `{"email":["This field is required."]}`,
			`{"count":66,"next":"http://testserver/api/users/?limit=10&offset=10","previous":null,"results":[{"id":1,"roles":[],"last_login":null,"username":"admin","first_name":"","last_name":"","is_active":true,"date_joined":"2025-11-05T14:21:05.963000Z","phone_number":null,"email":"admin@example.com"},{"id":2,`},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t, withBodyLimit(2048))
			inactive := g.tokenFor("inactive")
			cases := []struct {
				name   string
				req    request
				status int
				body   string // the body; one ending in "…" is the body's opening
				header [2]string
			}{
				{"no credentials", request{method: "GET", path: d.item}, 401, `{"detail":"Authentication credentials were not provided."}`, [2]string{"Www-Authenticate", "Token"}},
				{"invalid token", request{method: "GET", path: d.item, header: []string{"Authorization", "Token " + strings.Repeat("0", 40)}}, 401, `{"detail":"Invalid token."}`, [2]string{"Www-Authenticate", "Token"}},
				{"keyword alone", request{method: "GET", path: d.item, header: []string{"Authorization", "Token"}}, 401, `{"detail":"Invalid token header. No credentials provided."}`, [2]string{"Www-Authenticate", "Token"}},
				{"inactive user", request{method: "GET", path: d.item, header: []string{"Authorization", "token " + inactive}}, 401, `{"detail":"User inactive or deleted."}`, [2]string{"Allow", d.itemAllow}},
				{"forbidden", request{method: "PUT", path: d.item, as: "alice", body: d.writeBody}, 403, `{"detail":"You do not have permission to perform this action."}`, [2]string{"Allow", d.itemAllow}},
				{"not found", request{method: "GET", path: strings.Replace(d.item, "66", "999", 1), as: "admin"}, 404, `{"detail":"Not found."}`, [2]string{}},
				{"not an id", request{method: "DELETE", path: strings.Replace(d.item, "66", "0", 1), as: "admin"}, 404, `{"detail":"Not found."}`, [2]string{}},
				{"method not allowed", request{method: d.missingMethod, path: d.item, as: "admin"}, 405, `{"detail":"Method \"` + d.missingMethod + `\" not allowed."}`, [2]string{"Allow", d.itemAllow}},
				{"forbidden before method", request{method: d.missingMethod, path: d.item, as: "alice"}, 403, `{"detail":"You do not have permission to perform this action."}`, [2]string{}},
				{"unauthenticated before method", request{method: d.missingMethod, path: d.item}, 401, `{"detail":"Authentication credentials were not provided."}`, [2]string{}},
				{"not JSON", request{method: "PUT", path: d.item, as: "admin", body: "first_name=x", contentType: "text/plain"}, 415, `{"detail":"Unsupported media type \"text/plain\" in request."}`, [2]string{}},
				{"malformed JSON", request{method: "PUT", path: d.item, as: "admin", body: `{"username": }`, contentType: "application/json"}, 400, `{"detail":"JSON parse error - Expecting value: line 1 column 14 (char 13)"}`, [2]string{}},
				{"a list, not an object", request{method: "PUT", path: d.item, as: "admin", body: `[1]`, contentType: "application/json"}, 400, `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`, [2]string{}},
				{"field errors", request{method: "PUT", path: d.item, as: "admin", body: d.fieldErrorBody, contentType: "application/json"}, 400, d.fieldError, [2]string{}},
				{"too large", request{method: "PUT", path: d.item, as: "admin", body: `{"first_name": "` + strings.Repeat("x", 4096) + `"}`, contentType: "application/json"}, 413, `{"detail":"Request body is too large."}`, [2]string{}},
				{"operator in a body", request{method: "PUT", path: d.item, as: "admin", body: `{"username": {"$ne": null}}`, contentType: "application/json"}, 400, `{"username":["Not a valid string."]…`, [2]string{}},
				{"list of the collection", request{method: d.listMethod, path: d.list, as: "staff"}, 200, d.listOpening + "…", [2]string{}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					hdr := append([]string{"Content-Type", c.req.contentType}, c.req.header...)
					r := g.do(c.req.method, c.req.path, c.req.as, c.req.body, hdr...)
					if r.Status != c.status {
						t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
					}
					if opening, cut := strings.CutSuffix(c.body, "…"); cut && !strings.HasPrefix(string(r.Body), opening) {
						t.Errorf("body %s, want it to start %s", r.Body, opening)
					} else if !cut && string(r.Body) != c.body {
						t.Errorf("body %s, want %s", r.Body, c.body)
					}
					if c.header[0] != "" && r.Header.Get(c.header[0]) != c.header[1] {
						t.Errorf("%s: %q, want %q", c.header[0], r.Header.Get(c.header[0]), c.header[1])
					}
					if c.status >= 400 && r.Header.Get("Content-Type") != "application/json" {
						t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
					}
					if r.Header.Get("Allow") == "" {
						t.Errorf("no Allow header; DRF sends it on every answer")
					}
				})
			}
		})
	}
}

// TestThrottledSignIn: a throttled sign-in is DRF's 429 with Retry-After.
func TestThrottledSignIn(t *testing.T) {
	p := auth.DefaultThrottlePolicy()
	p.Limit = 1
	g := newGateway(t, withThrottle(p))
	body := `{"username": "alice", "password": "wrong"}`
	for range 2 {
		g.do(http.MethodPost, "/api/users/signin", "", body)
	}
	r := g.do(http.MethodPost, "/api/users/signin", "", body)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q: %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	if !strings.Contains(string(r.Body), `"detail":"Request was throttled. Expected available in `) {
		t.Errorf("body %s", r.Body)
	}
}
