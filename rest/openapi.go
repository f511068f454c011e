package rest

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// A dialect may describe itself in an OpenAPI (Swagger 2.0) document, as
// the showroom service did at /swagger/?format=openapi (drf-yasg). The
// document is generated from the dialect's route table and the
// documentation kept beside it (apiDoc), so it cannot drift from what is
// served: a test fails when a route has no documentation or documentation
// names a route the table lacks.

// apiDoc documents a dialect.
type apiDoc struct {
	Title, Description, Version string
	// Routes document each route, keyed "METHOD /path" as the table
	// writes the path.
	Routes map[string]routeDoc
	// Definitions are the schemas the routes name.
	Definitions map[string]any
}

// routeDoc documents one route.
type routeDoc struct {
	// ID is the operationId (drf-yasg's: clients_list).
	ID      string
	Tag     string
	Summary string
	// Query are the query parameters.
	Query []queryDoc
	// Body names the definition the request body holds; "" for none.
	Body string
	// Status is the success answer's status; Answer its schema (nil for
	// no body).
	Status int
	Answer any
}

// queryDoc is one query parameter.
type queryDoc struct {
	Name, Type, Description string
}

// docKey is how apiDoc.Routes names a route.
func docKey(method, path string) string { return method + " " + path }

// schemaRef points at a definition.
func schemaRef(name string) map[string]any {
	return map[string]any{"$ref": "#/definitions/" + name}
}

// listOf is a JSON array of a definition.
func listOf(name string) map[string]any {
	return map[string]any{"type": "array", "items": schemaRef(name)}
}

// pageNumberOf is PageNumberPagination's answer around a definition.
func pageNumberOf(name string) map[string]any {
	link := map[string]any{"type": "string", "format": "uri", "x-nullable": true}
	return map[string]any{
		"type":     "object",
		"required": []string{"count", "results"},
		"properties": map[string]any{
			"count":    map[string]any{"type": "integer"},
			"next":     link,
			"previous": link,
			"results":  listOf(name),
		},
	}
}

// pageQuery are PageNumberPagination's parameters.
var pageQuery = []queryDoc{
	{"page", "integer", "A page number within the paginated result set."},
	{"limit", "integer", "Number of results to return per page."},
}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

// openAPI builds the document of a mounted dialect, for the host and
// scheme the client used (as drf-yasg did).
func (m *mounted) openAPI(r *http.Request) object {
	doc := m.dialect.Doc
	paths := map[string]map[string]any{}
	var order []string
	for _, rt := range m.dialect.Routes {
		rd := doc.Routes[docKey(rt.Method, rt.Path)]
		item := paths[rt.Path]
		if item == nil {
			item = map[string]any{}
			if params := pathParameters(rt.Path); len(params) > 0 {
				item["parameters"] = params
			}
			paths[rt.Path] = item
			order = append(order, rt.Path)
		}
		item[strings.ToLower(rt.Method)] = operationObject(rt, rd)
	}
	pathsObject := object{}
	for _, p := range order {
		pathsObject = pathsObject.set(p, paths[p])
	}
	base := strings.TrimSuffix(m.Prefix, "/")
	if base == "" {
		base = "/"
	}
	scheme, host := origin(r, m.api.hosts)
	return object{}.
		set("swagger", "2.0").
		set("info", object{}.set("title", doc.Title).set("description", doc.Description).set("version", doc.Version)).
		set("host", host).
		set("schemes", []string{scheme}).
		set("basePath", base).
		set("consumes", []string{"application/json"}).
		set("produces", []string{"application/json"}).
		set("securityDefinitions", map[string]any{"Token": map[string]any{
			"type": "apiKey", "in": "header", "name": "Authorization",
			"description": "Authorization: Token <key> (a 40-character hex key; Bearer <key> works too)",
		}}).
		set("security", []any{map[string]any{"Token": []string{}}}).
		set("paths", pathsObject).
		set("definitions", withErrorDefinitions(doc.Definitions))
}

// pathParameters documents the path's parameters: {id} an integer,
// anything else (a username) a string.
func pathParameters(path string) []any {
	var out []any
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		p := map[string]any{"name": m[1], "in": "path", "required": true, "type": "string"}
		if m[1] == "id" {
			p["type"] = "integer"
			p["description"] = "A unique integer value identifying the object."
		} else {
			p["pattern"] = `^[\w.@+-]+$`
			p["description"] = "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."
		}
		out = append(out, p)
	}
	return out
}

func operationObject(rt route, rd routeDoc) map[string]any {
	op := map[string]any{"operationId": rd.ID, "tags": []string{rd.Tag}, "summary": rd.Summary}
	var params []any
	for _, q := range rd.Query {
		params = append(params, map[string]any{"name": q.Name, "in": "query", "required": false, "type": q.Type, "description": q.Description})
	}
	if rd.Body != "" {
		params = append(params, map[string]any{"name": "data", "in": "body", "required": true, "schema": schemaRef(rd.Body)})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	ok := map[string]any{"description": http.StatusText(rd.Status)}
	if rd.Answer != nil {
		if name, isName := rd.Answer.(string); isName {
			ok["schema"] = schemaRef(name)
		} else {
			ok["schema"] = rd.Answer
		}
	}
	responses := map[string]any{
		itoa(rd.Status): ok,
		"401":           errorResponse("Not signed in, or the token was refused.", "Detail"),
		"403":           errorResponse("The caller may not do this.", "Detail"),
	}
	if strings.Contains(rt.Path, "{") || slices.ContainsFunc(rd.Query, func(q queryDoc) bool { return q.Name == "page" }) {
		responses["404"] = errorResponse("No such object, or an invalid page.", "Detail")
	}
	if rd.Body != "" {
		responses["400"] = errorResponse("The fields at fault, each with its messages.", "FieldErrors")
	}
	op["responses"] = responses
	return op
}

func errorResponse(description, definition string) map[string]any {
	return map[string]any{"description": description, "schema": schemaRef(definition)}
}

// withErrorDefinitions adds the error bodies every DRF dialect answers.
func withErrorDefinitions(defs map[string]any) map[string]any {
	out := map[string]any{
		"Detail": map[string]any{"type": "object", "required": []string{"detail"}, "properties": map[string]any{
			"detail": map[string]any{"type": "string"},
		}},
		"FieldErrors": map[string]any{"type": "object", "additionalProperties": map[string]any{
			"type": "array", "items": map[string]any{"type": "string"},
		}},
	}
	for k, v := range defs {
		out[k] = v
	}
	return out
}

func itoa(n int) string { return idString(int64(n)) }
