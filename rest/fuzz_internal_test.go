package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/gatehouse/gatehouse/graph"
)

// binderTargets are the binders that read client input into variables.
var binderTargets = []struct {
	name string
	bind binder
}{
	{"sign-up", bindSignUp},
	{"sign-in", bindSignIn},
	{"000 page", bindPage},
	{"000 update", bindAccountUpdate},
	{"000 permissions", bindPermissionIDs},
	{"004 list", bindManagedUserList},
	{"004 create", bindManagedUserCreate},
	{"004 replace", bindManagedUserReplace},
	{"004 update", bindManagedUserUpdate},
	{"001 list", stateless(bindV1UserList)},
	{"001 create", bindV1UserCreate},
	{"001 replace", bindV1UserReplace},
	{"001 update", bindV1UserUpdate},
	{"001 by pk or name", bindV1UserRef},
	{"002 list", bindJSONAPIUsers},
	{"002 create", bindJSONAPIUserCreate},
	{"002 update", bindJSONAPIUserUpdate},
	{"002 user", bindJSONAPIUser},
	{"002 roles", bindJSONAPIUserRoles},
	{"002 role change", stateless(bindRoleChange)},
	{"003 page", bindShowroomPage},
	{"003 tag", bindShowroomLabel("name", false)},
	{"003 code, partial", bindShowroomLabel("code", true)},
	{"003 client create", bindShowroomClientCreate},
	{"003 client update", bindIDInput(showroomClientInput, true)},
	{"003 mailing list", bindShowroomMailingList},
	{"003 mailing create", bindShowroomMailingCreate},
	{"003 mailing replace", bindIDInput(showroomMailingInput, false)},
	{"003 statistic", bindShowroomStatistic},
	{"003 user create", bindShowroomUserCreate},
	{"003 user update", bindShowroomUserChange(true)},
}

// stateless drops what a carrying binder hands its shaper.
func stateless[T any](bind func(*request) (variables, T, error)) binder {
	return func(req *request) (variables, error) {
		vars, _, err := bind(req)
		return vars, err
	}
}

// FuzzBinders feeds every binder arbitrary query strings, bodies and path
// ids: none may panic, and whatever it binds holds only keys the schema
// declares (variable names, input fields): no "$" key, so no operator the
// client wrote, can ever reach a variables map, and from there the store.
func FuzzBinders(f *testing.F) {
	for _, seed := range []struct{ query, body, id string }{
		{"username[$ne]=x&ordering=-password", `{"username": {"$ne": null}, "password": {"$ne": null}}`, "66"},
		{"username__in=a,b&search=a,b c&limit=5&offset=x", `{"expressions": [{"type": "exact", "field": "username", "value": "x"}]}`, "mike"},
		{"email__gt=%24gt&phone_number__lte=1", `{"expressions": [{"type": "or", "sub_expressions": [{"type": "is_null", "field": "last_login"}, {"type": "compare", "field": "date_joined", "operator": "<", "value": "2025-01-01"}]}], "order_by": [{"field": "is_staff", "nulls_first": true}]}`, "1"},
		{"", `{"permissions": [1, "2", {"$gt": 0}]}`, "0"},
		{"", `{"$where": "1", "username": "a", "email": "b", "is_active": "yes", "phone_number": null}`, "$ne"},
		{"", `[{"$ne": 1}]`, ""},
		{"id=1&roles&page=2&page_size=5&fields[users]=x", `{"data": {"type": "users", "id": 1, "attributes": {"username": "a", "$set": 1, "password": "p", "uname": {"$ne": ""}}}}`, "1"},
		{"", `{"data": [{"type": "roles", "id": 7}, {"type": "roles", "id": {"$gt": 0}}]}`, "19283"},
		{"tag[$ne]=x&code=%24gt&page=2&limit=3", `{"tags": [{"$ne": 1}], "codes": ["916"], "start_notification_date": "2030-01-01 10:00", "tag": {"$gt": 0}, "name": {"$ne": ""}}`, "5"},
	} {
		f.Add(seed.query, seed.body, seed.id)
	}
	allowed := schemaNames(f)
	f.Fuzz(func(t *testing.T, query, body, id string) {
		for _, target := range binderTargets {
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
			r.URL.RawQuery = query
			r.Header.Set("Content-Type", "application/json")
			rc := chi.NewRouteContext()
			rc.URLParams.Add("id", id)
			r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rc))
			req := &request{HTTP: r, limit: 1 << 20}
			// A binder that asks the store (002's role change) learns
			// nothing here: the fuzz is about what binders read.
			req.ask = func(string, variables) (json.RawMessage, error) { return nil, errNotFound }
			vars, err := target.bind(req)
			if err != nil {
				continue
			}
			checkKeys(t, target.name, vars, allowed)
		}
	})
}

// checkKeys walks bound variables: every key of every object must be a
// name the schema declares.
func checkKeys(t *testing.T, where string, v any, allowed map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			if strings.HasPrefix(k, "$") || !allowed[k] {
				t.Fatalf("%s bound the key %q", where, k)
			}
			checkKeys(t, where, item, allowed)
		}
	case []any:
		for _, item := range v {
			checkKeys(t, where, item, allowed)
		}
	case string, bool, int, int64, nil, []string:
	default:
		t.Fatalf("%s bound a %T", where, v)
	}
}

// schemaNames are the names a variables map may hold: the embedded
// operations' variables and the input objects' fields.
func schemaNames(tb testing.TB) map[string]bool {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	names := map[string]bool{}
	for _, def := range schema.Types {
		if def.Kind == ast.InputObject {
			for _, f := range def.Fields {
				names[f.Name] = true
			}
		}
	}
	ops, err := loadOperations()
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range ops {
		doc, err := parseOperationVariables(o)
		if err != nil {
			tb.Fatal(err)
		}
		for _, v := range doc {
			names[v] = true
		}
	}
	return names
}

// parseOperationVariables lists the variables an operation declares.
func parseOperationVariables(o *operation) ([]string, error) {
	doc, err := parser.ParseQuery(&ast.Source{Input: o.Document})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, v := range doc.Operations.ForName(o.Name).VariableDefinitions {
		names = append(names, v.Variable)
	}
	return names, nil
}
