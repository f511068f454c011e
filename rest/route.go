package rest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse/gatehouse/auth"
)

// variables are what a GraphQL operation runs with, as a binder builds them:
// only the names the operation declares, holding strings, numbers,
// booleans, lists and input objects whose keys are the schema's.
type variables = map[string]any

// binder reads a request (path, query string, body) into the variables of
// its route's operations, failing with the dialect's own validation errors
// (fault.FieldErrors) or a finished answer (415, a JSON parse error).
type binder func(req *request) (variables, error)

// shaper turns the data of the route's operation into the dialect's
// status and body; an error (errNotFound) is answered as GraphQL errors are.
type shaper func(req *request, data json.RawMessage) (status int, body any, err error)

// route is one legacy endpoint: method, path under the dialect's mount
// (chi's syntax; {id} is always the user), the GraphQL operation it runs,
// its binder and its shaper.
type route struct {
	Method string
	Path   string
	Op     chain
	Bind   binder
	Shape  shaper
}

// carrying makes a route whose binder hands its shaper something it
// found out (v1users' ordering, jsonapi's roles held before a change),
// kept with the request it is about.
func carrying[T any](method, path string, c chain, bind func(*request) (variables, T, error), shape func(*request, json.RawMessage, T) (int, any, error)) route {
	return route{Method: method, Path: path, Op: c,
		Bind: func(req *request) (variables, error) {
			vars, state, err := bind(req)
			req.state = state
			return vars, err
		},
		Shape: func(req *request, data json.RawMessage) (int, any, error) {
			state, _ := req.state.(T)
			return shape(req, data, state)
		},
	}
}

// chain names a route's GraphQL operation: one, so that a request either
// is done whole or changes nothing (a profile change and a password go in
// one mutation, checked whole before anything is written).
//
// It may start with a lookup (lookUp("ShowroomUserRef").then(...)): an
// operation run before the binder, with the path's parameters as its
// variables, that finds the object the path names. The fields of the
// object it answers fill the variables the binder leaves unset (a user's
// id for a path that names a username; a tag's name for a PATCH that
// sends none), and when it finds nothing the route answers 404, after
// the access check, as Django's get_object does. A lookup only reads.
type chain struct {
	lookup string
	op     string
}

func op(name string) chain { return chain{op: name} }

// lookUp starts a chain with a lookup operation; then names the operation.
func lookUp(name string) chain { return chain{lookup: name} }

func (c chain) then(name string) chain {
	c.op = name
	return c
}

// names lists the chain's operations in the order they run.
func (c chain) names() []string {
	if c.lookup == "" {
		return []string{c.op}
	}
	return []string{c.lookup, c.op}
}

// dialect is one legacy API: a table of routes, read like its seed's table
// of contents, and what every dialect states of how its service spoke
// HTTP around them (slashes, documents, the permission check's
// operations). What one service did differently is a value of those, or a
// route's own binder and shaper, never a switch of the engine.
type dialect struct {
	Name string
	// Seed names the legacy API document it implements (000 to 004), as
	// docs/rest.md and the golden files name it.
	Seed   string
	Routes []route
	// Fields is the serializer's field order, which DRF keeps in error
	// bodies.
	Fields []string
	// MethodRules name, for a method a protected path lacks, the field
	// whose access rule stands for DRF's permission check of that method
	// (DjangoModelPermissions' perms_map), so that 403 comes before 405.
	MethodRules map[string]string
	// Slashes registers each path as the dialect's service matched a
	// trailing slash.
	Slashes slashes
	// Documents are the media types and bodies the dialect answers with.
	Documents documents
	// Guards are the operations that ask DRF's permission check (see
	// guard).
	Guards guards
	// Doc, when set, describes the dialect in the OpenAPI document served
	// at /swagger/ (see openapi.go).
	Doc *apiDoc
	// ViewNames are the names DRF's OPTIONS answer gives each path.
	ViewNames map[string]string
	// Reword, when set, words the field errors of a failed operation as
	// the legacy service worded them (its model names, its serializer's
	// non-field errors).
	Reword func(fields map[string][]string)
}

// documents are how a dialect's service spoke HTTP around its views:
// which requests it served at all, and how it wrote every answer.
type documents struct {
	// negotiate is asked first about every request, after the token was
	// checked: a media type the dialect does not serve fails there.
	negotiate func(req *request) error
	// render turns every answer before it is written, the mechanism's
	// own failures too (401, 403, 404, 405, 400 with field errors, 413,
	// 415, 500, all DRF-shaped when made), into the dialect's documents
	// and media type.
	render func(a *answer) *answer
}

// drfJSON is Django REST Framework's way: the media type is looked at only
// when a body is read, and answers are JSON as made.
var drfJSON = documents{
	negotiate: func(*request) error { return nil },
	render:    func(a *answer) *answer { return a },
}

// guards name the operations a dialect asks the access rule with before
// a failure of its own (see pathHandler.guard), each given $field, the
// root field whose rule stands for DRF's permission check. The rule itself
// is the schema's: a dialect whose service had a stricter one (v1users)
// names operations that ask it.
type guards struct {
	// field asks the rule alone.
	field string
	// user asks it for the user the path's {id} names ($id), and whether
	// that user exists.
	user string
	// objects name, for a path whose {id} is not a user, the operation
	// that asks it for the object the path names ($id), and whether that
	// object exists.
	objects map[string]string
}

// schemaGuards ask the schema's rules as they are (guard.graphql).
var schemaGuards = guards{field: "Allowed", user: "AllowedOnUser"}

// request is a legacy request as binders and shapers see it.
type request struct {
	HTTP *http.Request
	// Zone is the time zone the dialect writes datetimes in.
	Zone *time.Location
	// prefix is the dialect's mount, for links to its other paths.
	prefix string
	hosts  linkHosts
	limit  int64

	body     []byte
	bodyRead bool
	query    queryParams
	parsed   bool
	pks      map[string]sentPKs

	// vars are the route's variables once bound, and again runs the
	// route's operation with others (a list read page by page).
	vars  variables
	again func(variables) (json.RawMessage, error)
	// found are the fields of the object a chain's lookup found.
	found variables
	// state is what the route's binder left its shaper (see carrying).
	state any

	// ask runs another named operation for a binder that must look at the
	// store before the route writes (jsonapi: do the roles exist, which does
	// the user hold); its errors are the operation's first.
	ask func(name string, vars variables) (json.RawMessage, error)
	// header is what a shaper adds to its answer's headers (jsonapi's Location).
	header http.Header
}

// Param is a path parameter ({id}).
func (r *request) Param(name string) string { return chi.URLParam(r.HTTP, name) }

// pathValue is a path parameter as the client meant it: percent escapes
// decoded (a username may hold "@"); one that does not decode is kept as
// written.
func (r *request) pathValue(name string) string {
	raw := r.Param(name)
	if v, err := url.PathUnescape(raw); err == nil {
		return v
	}
	return raw
}

// Query is the query string, read as Django reads it.
func (r *request) Query() queryParams {
	if !r.parsed {
		r.query, r.parsed = parseQuery(r.HTTP.URL.RawQuery), true
	}
	return r.query
}

// Caller is the authenticated caller, nil for an anonymous request.
func (r *request) Caller() *auth.Caller { return auth.CallerFrom(r.HTTP.Context()) }

// time writes an instant the GraphQL layer gave as DRF renders it in the
// dialect's zone.
func (r *request) time(t time.Time) string { return drfTime(t, r.Zone) }

// page is a LimitOffsetPagination body for this request.
func (r *request) page(p limitOffset, count int, results any) object {
	return pageBody(r.HTTP, r.hosts, p, count, results)
}

// parseID reads a path id as Django's <int:pk> or a pk lookup would: all
// digits, positive, within an int64.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}
