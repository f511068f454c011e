package rest

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gatehouse/gatehouse/store/fault"
)

// run executes one operation in-process on the gateway's executor, with
// the request's context: its caller, client address and deadline, so the
// same directives, limits, loaders and error presenter apply as over
// GraphQL-over-HTTP. It answers the response's data, or its errors.
func (a *API) run(ctx context.Context, op *operation, vars variables) (json.RawMessage, gqlerror.List) {
	ctx = graphql.StartOperationTrace(ctx)
	now := graphql.Now()
	params := &graphql.RawParams{
		Query:         op.Document,
		OperationName: op.Name,
		Variables:     vars,
		ReadTime:      graphql.TraceTiming{Start: now, End: now},
	}
	opCtx, errs := a.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := a.exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs)
		return nil, resp.Errors
	}
	responses, ctx := a.exec.DispatchOperation(ctx, opCtx)
	resp := responses(ctx)
	if resp == nil {
		return nil, gqlerror.List{{Message: "no response"}}
	}
	if len(resp.Errors) > 0 {
		return resp.Data, resp.Errors
	}
	return resp.Data, nil
}

// guard answers what DRF answers before it reads the body or looks for a
// handler of the method: 401 or 403 by the access rule of the field rule
// names, then 404 when the path names an object (a user, or what the
// dialect's guards name) that does not exist. It is asked only when a
// route is about to answer 400, 405 or another failure of its own, so
// requests that succeed pay nothing for it. nil means the route's own
// answer stands.
func (p *pathHandler) guard(ctx context.Context, req *request, rule string, lookUpObject bool) *answer {
	if rule == "" {
		return nil
	}
	vars := variables{"field": rule}
	opName := p.m.dialect.Guards.field
	if lookUpObject {
		if name, ref, ok := p.objectRef(req); ok {
			opName = name
			maps.Copy(vars, ref)
		}
	}
	data, errs := p.m.api.run(ctx, p.m.api.ops[opName], vars)
	for _, e := range errs {
		if len(e.Path) > 0 && e.Path[0] == ast.PathName("allows") {
			return drfErrorAnswer(ctx, p.m.api.logger, faultOf(e), nil)
		}
	}
	if len(errs) > 0 {
		return drfErrorAnswer(ctx, p.m.api.logger, faultOf(errs[0]), nil)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err == nil {
		for name, v := range fields {
			if name != "allows" && string(v) == "null" {
				return detail(http.StatusNotFound, drfNotFound)
			}
		}
	}
	return nil
}

// objectRef is the guard operation for the object the path names and its
// variables: the dialect's own for the path, or the one for a user; false when the path names none that could exist (v1users'
// writes take no username: one is 404 whether or not it names a user). An
// object a chain's lookup found is the one the path names.
func (p *pathHandler) objectRef(req *request) (string, variables, bool) {
	raw := req.Param("id")
	if found, ok := req.found["id"].(string); ok {
		raw = found
	}
	if raw == "" {
		return "", nil, false
	}
	id, isID := parseID(raw)
	name, ok := p.m.dialect.Guards.objects[p.path]
	if !ok {
		name = p.m.dialect.Guards.user
	}
	return name, variables{"id": idString(id)}, isID
}

// serve runs a route: the lookup, the binder, the operation, the shaper. A failure of the request's
// own (a bad body, an invalid field) gives way to 401, 403 or 404 first,
// as DRF checks those before it reads the body.
func (p *pathHandler) serve(w http.ResponseWriter, req *request, rt *boundRoute) {
	ctx := req.HTTP.Context()
	finish := func(a *answer) { p.write(w, req.HTTP, a) }
	rule, onObject := rt.op.Root, strings.Contains(rt.Path, "{id}") || rt.lookup != nil
	req.ask = func(name string, vars variables) (json.RawMessage, error) {
		data, errs := p.m.api.runNamed(ctx, name, vars)
		if len(errs) > 0 {
			return nil, errs[0]
		}
		return data, nil
	}
	if rt.lookup != nil {
		if err := p.lookUp(ctx, req, rt.lookup); err != nil {
			if g := p.guard(ctx, req, rule, false); g != nil {
				finish(g)
				return
			}
			finish(p.toAnswer(req, err))
			return
		}
	}
	vars, err := rt.Bind(req)
	if err == nil {
		for k, v := range req.found {
			if _, set := vars[k]; !set {
				vars[k] = v
			}
		}
	}
	if err != nil {
		if g := p.guard(ctx, req, rule, onObject); g != nil {
			finish(g)
			return
		}
		finish(p.toAnswer(req, err))
		return
	}
	req.vars = vars
	req.again = func(vars variables) (json.RawMessage, error) {
		data, errs := p.m.api.run(ctx, rt.op, vars)
		if len(errs) > 0 {
			return nil, errs[0]
		}
		return data, nil
	}
	data, errs := p.m.api.run(ctx, rt.op, vars)
	if len(errs) > 0 {
		if fault.CodeOf(errs[0]) == fault.Invalid {
			if g := p.guard(ctx, req, rule, onObject); g != nil {
				finish(g)
				return
			}
		}
		finish(p.errorAnswer(req, true, errs[0]))
		return
	}
	status, body, err := rt.Shape(req, data)
	if err != nil {
		finish(p.toAnswer(req, err))
		return
	}
	finish(&answer{status: status, body: body, header: req.header})
}

// lookUp runs a chain's lookup with the path's parameters as its
// variables and keeps the fields of the object it answers (the first
// field of its data); nothing found is errNotFound.
func (p *pathHandler) lookUp(ctx context.Context, req *request, o *operation) error {
	vars := variables{}
	for _, name := range o.required {
		v := req.pathValue(name)
		if _, ok := parseID(v); name == "id" && !ok {
			return errNotFound
		}
		vars[name] = v
	}
	data, errs := p.m.api.run(ctx, o, vars)
	if len(errs) > 0 {
		return errs[0]
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	for _, v := range fields {
		var found map[string]any
		if err := json.Unmarshal(v, &found); err != nil || found == nil {
			return errNotFound
		}
		req.found = found
		return nil
	}
	return errNotFound
}

// toAnswer maps an error of a binder, a shaper or a dialect's documents: a
// finished answer stands, anything else is answered as an operation's
// error is.
func (p *pathHandler) toAnswer(req *request, err error) *answer {
	if a, ok := errors.AsType[*answer](err); ok {
		return a
	}
	return p.errorAnswer(req, false, err)
}

// errorAnswer maps the error of an operation (the first, as a route's
// operation calls one field) or of a step. Field errors are first
// completed as the legacy service would have given them: the first unknown
// pk as sent, and, for the route's operation (ofOperation), in the
// dialect's words (Reword); a binder's errors are its own words already.
func (p *pathHandler) errorAnswer(req *request, ofOperation bool, err error) *answer {
	ctx := req.HTTP.Context()
	f := faultOf(err)
	if f.Fields != nil {
		fields := maps.Clone(f.Fields)
		if req.pks != nil {
			req.firstUnknownPK(fields)
		}
		if reword := p.m.dialect.Reword; reword != nil && ofOperation {
			reword(fields)
		}
		completed := *f
		completed.Fields = fields
		f = &completed
	}
	return drfErrorAnswer(ctx, p.m.api.logger, f, p.m.dialect.Fields)
}

// runNamed runs an embedded operation by name.
func (a *API) runNamed(ctx context.Context, name string, vars variables) (json.RawMessage, gqlerror.List) {
	return a.run(ctx, a.ops[name], vars)
}
