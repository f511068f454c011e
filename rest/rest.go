// Package rest serves the legacy REST APIs (the documents of the services
// Gatehouse replaces; docs/rest.md lists every route) through GraphQL: every route binds its request to the
// variables of named GraphQL operations, runs them in-process on the
// gateway's executable schema with the caller's identity, and shapes the
// data into the body the legacy service answered. The same directives,
// validation and resolvers run as for GraphQL clients, so a legacy client
// can do exactly what a GraphQL client can.
//
// A dialect is a table of routes, and what every dialect states of how its
// service spoke HTTP: how it matched a trailing slash, its documents, the
// operations that ask its permission check. The dialects, at their default
// mounts (DefaultMounts; --rest-mounts moves them):
//
//   - accounts (accounts.go), /api/users: a Django accounts service,
//     sign-up and sign-in with DRF tokens, no trailing slash.
//   - v1users (v1users*.go), /v1/users: RPC-style user admin, a trailing
//     slash optional, staff only but for reading oneself (the schema's
//     @staff, asked by its operations).
//   - jsonapi (jsonapi*.go), /users: JSON:API 1.1 users and their roles,
//     its own media type and error documents.
//   - showroom (showroom*.go), /api/v1/: the notification service's
//     clients, codes, tags, mailings, messages and statistics; Django's
//     APPEND_SLASH; its OpenAPI document at /swagger/.
//   - usermgmt (usermgmt.go), /api/users/: DRF user management with
//     filters and search, with a trailing slash.
//
// The Django REST Framework behaviour the Django ones share is in drf*.go.
// No access rule lives here: a route asks GraphQL's (see guard).
package rest

import (
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/gatehouse/gatehouse/auth"
)

// Config is what the REST layer needs from the gateway.
type Config struct {
	// Executor runs operations: graph.NewExecutor, configured as the
	// GraphQL handler is.
	Executor graphql.GraphExecutor
	// Proxies are believed about X-Forwarded-Proto and X-Forwarded-Host
	// when links are built.
	Proxies auth.TrustedProxies
	// AllowedHosts, when set, are the only hosts absolute links name: the
	// request's host when it is one of them, the first of them otherwise.
	AllowedHosts []string
	// BodyLimit is the largest request body, in bytes.
	BodyLimit int64
	Mounts    []Mount
	Logger    *slog.Logger
	// Observe, when set, hears every answered legacy request: its
	// dialect, route and status.
	Observe func(RouteStats)
}

// RouteStats describes one answered legacy request, for metrics. Route is
// the operation the route runs (ManagedUsers), or "options" and
// "method_not_allowed" for a method the path has no route for: names from
// the route tables, so no client input makes a new one.
type RouteStats struct {
	Dialect string
	Route   string
	Status  int
}

// API is the legacy REST surface: the mounted dialects.
type API struct {
	exec      graphql.GraphExecutor
	hosts     linkHosts
	bodyLimit int64
	logger    *slog.Logger
	observe   func(RouteStats)
	ops       operations
	mounts    []*mounted
}

// mounted is a dialect at its prefix.
type mounted struct {
	api     *API
	dialect *dialect
	Mount
	paths []*pathHandler
}

// pathHandler serves one path of a dialect, every method: DRF decides the
// method after authentication and permission, so chi's own 405 cannot.
type pathHandler struct {
	m       *mounted
	path    string // under the mount, as the table writes it
	pattern string // the full chi pattern
	routes  map[string]*boundRoute
	allow   string
	// open: every route of the path calls a @public field (sign-up,
	// sign-in), as DRF's AllowAny views were, so a missing method is 405
	// with no permission check first.
	open bool
}

// boundRoute is a route with its lookup and operation looked up.
type boundRoute struct {
	*route
	lookup *operation // nil: the chain has none
	op     *operation
}

// New builds the REST layer for the mounts (see ParseMounts). The route
// tables and the embedded operations are part of the program; New panics
// when they do not fit together, which the package's tests rule out.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 1 << 20
	}
	ops, err := loadOperations()
	if err != nil {
		panic("rest: " + err.Error())
	}
	a := &API{exec: cfg.Executor, hosts: linkHosts{proxies: cfg.Proxies, allowed: cfg.AllowedHosts}, bodyLimit: cfg.BodyLimit, logger: cfg.Logger, observe: cfg.Observe, ops: ops}
	for _, mt := range cfg.Mounts {
		if mt.Prefix == "" {
			continue
		}
		d := dialectNamed(mt.Dialect)
		if d == nil {
			panic("rest: unknown dialect " + mt.Dialect)
		}
		a.mounts = append(a.mounts, a.mount(d, mt))
	}
	return a
}

// dialectNamed returns a fresh table of the named dialect.
func dialectNamed(name string) *dialect {
	switch name {
	case "accounts":
		return accounts()
	case "v1users":
		return v1users()
	case "jsonapi":
		return jsonapi()
	case "usermgmt":
		return usermgmt()
	case "showroom":
		return showroom()
	}
	return nil
}

func (a *API) mount(d *dialect, mt Mount) *mounted {
	m := &mounted{api: a, dialect: d, Mount: mt}
	for _, name := range append([]string{d.Guards.field, d.Guards.user}, slices.Collect(maps.Values(d.Guards.objects))...) {
		if a.ops[name] == nil {
			panic("rest: " + d.Name + ": no guard operation " + name)
		}
	}
	byPath := map[string]*pathHandler{}
	for i := range d.Routes {
		rt := &d.Routes[i]
		p := byPath[rt.Path]
		if p == nil {
			p = &pathHandler{m: m, path: rt.Path, pattern: joinPath(mt.Prefix, rt.Path), routes: map[string]*boundRoute{}}
			byPath[rt.Path] = p
			m.paths = append(m.paths, p)
		}
		br := &boundRoute{route: rt}
		for i, name := range rt.Op.names() {
			o := a.ops[name]
			if o == nil {
				panic("rest: " + d.Name + " " + rt.Method + " " + rt.Path + ": no operation " + name)
			}
			if i == 0 && rt.Op.lookup != "" {
				br.lookup = o
				continue
			}
			br.op = o
		}
		p.routes[rt.Method] = br
	}
	for _, p := range m.paths {
		p.allow = allowHeader(p.routes)
		p.open = true
		for _, r := range p.routes {
			p.open = p.open && r.op.public
		}
	}
	return m
}

// joinPath puts a route's path under a prefix; the prefix's own trailing
// slash does not count, the route's path says whether one follows.
func joinPath(prefix, path string) string {
	return strings.TrimSuffix(prefix, "/") + path
}

// allowHeader lists a path's methods as DRF's Allow does: in Django's
// http_method_names order, HEAD with GET, OPTIONS always.
func allowHeader(routes map[string]*boundRoute) string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if routes[m] != nil {
			out = append(out, m)
		}
	}
	if routes[http.MethodGet] != nil {
		out = append(out, http.MethodHead)
	}
	return strings.Join(append(out, http.MethodOptions), ", ")
}

// Authenticate is the gateway's token middleware (the Authenticator's
// Middleware method), given the answer to send when a token is refused.
type Authenticate func(onError func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler

// Register adds every mounted path to r behind authenticate, whose
// refusals are answered as each dialect answers them (401 with
// WWW-Authenticate: Token and the path's Allow).
func (a *API) Register(r chi.Router, authenticate Authenticate) {
	for _, m := range a.mounts {
		if m.dialect.Doc != nil {
			// The document describes no one's data, so it asks for no
			// token, as drf-yasg's schema view did not.
			r.Handle("/swagger/", http.HandlerFunc(m.serveOpenAPI))
			r.Handle("/swagger", http.HandlerFunc(appendSlash))
		}
		for _, p := range m.paths {
			m.dialect.Slashes(r, p.pattern, a.observed(p, authenticate(p.authError)(p)))
		}
	}
}

// observed reports each answer of a path, refusals of its token included.
func (a *API) observed(p *pathHandler, next http.Handler) http.Handler {
	if a.observe == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		a.observe(RouteStats{Dialect: p.m.dialect.Name, Route: p.routeName(r.Method), Status: status})
	})
}

// routeName names the route a method of the path runs, for metrics.
func (p *pathHandler) routeName(method string) string {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if rt := p.routes[method]; rt != nil {
		return rt.op.Name
	}
	if method == http.MethodOptions {
		return "options"
	}
	return "method_not_allowed"
}

// slashes registers a path's handler the way a dialect's service matched
// a trailing slash.
type slashes func(r chi.Router, pattern string, h http.Handler)

// slashAsWritten serves the path as the table writes it and no other, as
// Django with APPEND_SLASH off did.
func slashAsWritten(r chi.Router, pattern string, h http.Handler) { r.Handle(pattern, h) }

// slashOptional also serves a path without a trailing slash with one.
func slashOptional(r chi.Router, pattern string, h http.Handler) {
	r.Handle(pattern, h)
	if !strings.HasSuffix(pattern, "/") {
		r.Handle(pattern+"/", h)
	}
}

// slashAppended answers a path with a trailing slash also without it,
// with a 301 to it. Django's CommonMiddleware redirected before any view
// ran, so no token is asked for.
func slashAppended(r chi.Router, pattern string, h http.Handler) {
	r.Handle(pattern, h)
	if strings.HasSuffix(pattern, "/") {
		r.Handle(strings.TrimSuffix(pattern, "/"), http.HandlerFunc(appendSlash))
	}
}

// appendSlash is Django's APPEND_SLASH: 301 to the path with a slash, the
// query string kept, no body.
func appendSlash(w http.ResponseWriter, r *http.Request) {
	target := r.URL.EscapedPath() + "/"
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", target)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusMovedPermanently)
}

// serveOpenAPI answers the dialect's OpenAPI document, with or without
// ?format=openapi.
func (m *mounted) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	allow := "GET, HEAD, OPTIONS"
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeAnswer(w, r, allow, methodNotAllowed(r.Method))
		return
	}
	writeAnswer(w, r, allow, &answer{status: http.StatusOK, body: m.openAPI(r)})
}

func (p *pathHandler) authError(w http.ResponseWriter, r *http.Request, err error) {
	p.write(w, r, authErrorAnswer(r.Context(), p.m.api.logger, err))
}

// write sends an answer as the dialect's documents render it.
func (p *pathHandler) write(w http.ResponseWriter, r *http.Request, a *answer) {
	writeAnswer(w, r, p.allow, p.m.dialect.Documents.render(a))
}

// RouteInfo describes a mounted route, for docs/rest.md and its test.
type RouteInfo struct {
	Dialect    string
	Method     string
	Path       string // the full path, as chi's pattern
	Operations []string
	// Root is the field the route's operation calls ("Mutation.updateUser"),
	// whose access rule the route follows.
	Root string
}

// Routes lists every mounted route, in table order.
func (a *API) Routes() []RouteInfo {
	var out []RouteInfo
	for _, m := range a.mounts {
		for _, rt := range m.dialect.Routes {
			out = append(out, RouteInfo{Dialect: m.dialect.Name, Method: rt.Method, Path: joinPath(m.Prefix, rt.Path), Operations: rt.Op.names(), Root: a.ops[rt.Op.op].Root})
		}
	}
	return out
}

// ServeHTTP dispatches by method after the path matched: DRF checks
// authentication, then permission, then the method.
func (p *pathHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			p.m.api.logger.ErrorContext(r.Context(), "rest: panic", "request_id", middleware.GetReqID(r.Context()), "panic", v)
			p.write(w, r, detail(http.StatusInternalServerError, drfServerError))
		}
	}()
	req := &request{HTTP: r, Zone: p.m.Zone, prefix: p.m.Prefix, hosts: p.m.api.hosts, limit: p.m.api.bodyLimit}
	if err := p.m.dialect.Documents.negotiate(req); err != nil {
		p.write(w, r, p.toAnswer(req, err))
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if rt := p.routes[method]; rt != nil {
		p.serve(w, req, rt)
		return
	}
	if a := p.beforeMethod(req); a != nil {
		p.write(w, r, a)
		return
	}
	if method == http.MethodOptions {
		p.write(w, r, p.options())
		return
	}
	p.write(w, r, methodNotAllowed(r.Method))
}

// beforeMethod is what DRF checks before it looks for the method's
// handler: the permission the method needs.
func (p *pathHandler) beforeMethod(req *request) *answer {
	if p.open {
		return nil
	}
	return p.guard(req.HTTP.Context(), req, p.m.dialect.MethodRules[req.HTTP.Method], false)
}

// options is DRF's SimpleMetadata answer for the path; a dialect that
// names no views (not a DRF service) answers with its Allow header alone.
func (p *pathHandler) options() *answer {
	if p.m.dialect.ViewNames == nil {
		return &answer{status: http.StatusNoContent}
	}
	parses := []string{"application/json"}
	if r := p.routes[http.MethodPost]; r != nil && r.op.Root == "Mutation.signIn" {
		// ObtainAuthToken's parser_classes, in its order.
		parses = []string{"application/x-www-form-urlencoded", "multipart/form-data", "application/json"}
	}
	return &answer{status: http.StatusOK, body: object{}.
		set("name", p.m.dialect.ViewNames[p.path]).
		set("description", "").
		set("renders", []string{"application/json"}).
		set("parses", parses)}
}
