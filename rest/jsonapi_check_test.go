package rest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// jsonapiAnswerProblems checks an answer of the jsonapi dialect against the
// JSON:API 1.1 rules its clients rely on: 204 has no body; anything else is
// a document of the JSON:API media type (no parameter but ext or
// profile), whose structure jsonapiDocumentProblems checks; an error
// answer carries errors, one of them with the answer's status.
func jsonapiAnswerProblems(r response) []string {
	if r.Status == 204 {
		if len(r.Body) > 0 {
			return []string{"a 204 answer has a body"}
		}
		return nil
	}
	var out []string
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/vnd.api+json" {
		out = append(out, fmt.Sprintf("Content-Type is %q", r.Header.Get("Content-Type")))
	}
	for p := range params {
		if p != "ext" && p != "profile" {
			out = append(out, "Content-Type has the parameter "+p)
		}
	}
	if r.Status == 405 && r.Header.Get("Allow") == "" {
		out = append(out, "405 without Allow")
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return append(out, "the body is not JSON: "+err.Error())
	}
	out = append(out, jsonapiDocumentProblems(doc)...)
	if top, ok := doc.(map[string]any); ok {
		errs, hasErrors := top["errors"].([]any)
		switch {
		case r.Status >= 400 && !hasErrors:
			out = append(out, fmt.Sprintf("a %d answer has no errors", r.Status))
		case r.Status < 400 && hasErrors:
			out = append(out, fmt.Sprintf("a %d answer has errors", r.Status))
		case hasErrors:
			statusOK := false
			for _, e := range errs {
				if m, ok := e.(map[string]any); ok && m["status"] == strconv.Itoa(r.Status) {
					statusOK = true
				}
			}
			if !statusOK {
				out = append(out, fmt.Sprintf("no error has the answer's status %d", r.Status))
			}
		}
	}
	return out
}

var (
	// memberName is JSON:API 1.1's member name: letters, digits, and -, _
	// or space inside (not first or last); "@" members and extension
	// members ("ns:member") are the specification's own kinds.
	memberName   = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9_ -]*[a-zA-Z0-9])?$`)
	topLevelKeys = []string{"data", "errors", "meta", "jsonapi", "links", "included"}
	errorKeys    = []string{"id", "links", "status", "code", "title", "detail", "source", "meta"}
)

// jsonapiDocumentProblems lists where a document breaks JSON:API 1.1's
// document structure: the top level, resource objects and identifiers,
// attributes and relationships (one namespace of fields), links, meta,
// compound documents, error objects. None means the document conforms.
func jsonapiDocumentProblems(doc any) []string {
	c := &docCheck{}
	top, ok := doc.(map[string]any)
	if !ok {
		return []string{"the top level is not an object"}
	}
	_, hasData := top["data"]
	_, hasErrors := top["errors"]
	_, hasMeta := top["meta"]
	_, hasIncluded := top["included"]
	switch {
	case !hasData && !hasErrors && !hasMeta:
		c.fail("", "the top level has none of data, errors, meta")
	case hasData && hasErrors:
		c.fail("", "data and errors together")
	case hasIncluded && !hasData:
		c.fail("", "included without data")
	}
	for k := range top {
		if !slices.Contains(topLevelKeys, k) {
			c.fail("/"+k, "not a top-level member")
		}
	}
	if v, ok := top["jsonapi"]; ok {
		j, isObject := v.(map[string]any)
		if version, has := j["version"]; !isObject || has && !regexp.MustCompile(`^1\.\d+$`).MatchString(fmt.Sprint(version)) {
			c.fail("/jsonapi", "not a JSON:API object of a 1.x version")
		}
	}
	c.meta("/meta", top)
	c.links("/links", top["links"], true)
	if hasData {
		switch d := top["data"].(type) {
		case nil:
		case []any:
			for i, item := range d {
				c.resourceOrIdentifier(fmt.Sprintf("/data/%d", i), item)
			}
		default:
			c.resourceOrIdentifier("/data", d)
		}
	}
	if hasIncluded {
		list, isList := top["included"].([]any)
		if !isList {
			c.fail("/included", "not a list")
		}
		for i, item := range list {
			c.resource(fmt.Sprintf("/included/%d", i), item.(map[string]any))
		}
	}
	if hasErrors {
		c.errors(top["errors"])
	}
	return c.problems
}

type docCheck struct {
	problems []string
	seen     map[string]string // type and id → where the resource was
}

func (c *docCheck) fail(where, what string) {
	if where == "" {
		where = "/"
	}
	c.problems = append(c.problems, where+": "+what)
}

func (c *docCheck) meta(where string, parent map[string]any) {
	if v, ok := parent["meta"]; ok {
		if _, isObject := v.(map[string]any); !isObject {
			c.fail(where, "meta is not an object")
		}
	}
}

// links checks a links object: each link a URL, a link object with an
// href, or (1.1) null.
func (c *docCheck) links(where string, v any, optional bool) {
	if v == nil && optional {
		return
	}
	links, ok := v.(map[string]any)
	if !ok {
		c.fail(where, "links is not an object")
		return
	}
	for name, link := range links {
		switch l := link.(type) {
		case nil:
		case string:
			if _, err := url.Parse(l); err != nil || l == "" {
				c.fail(where+"/"+name, "not a URL: "+l)
			}
		case map[string]any:
			if _, ok := l["href"].(string); !ok {
				c.fail(where+"/"+name, "a link object without href")
			}
		default:
			c.fail(where+"/"+name, "not a link")
		}
	}
}

func (c *docCheck) identity(where string, obj map[string]any) {
	typ, okType := obj["type"].(string)
	id, okID := obj["id"].(string)
	if !okType || typ == "" {
		c.fail(where+"/type", "type is not a non-empty string")
	}
	if !okID || id == "" {
		c.fail(where+"/id", fmt.Sprintf("id is not a non-empty string: %v", obj["id"]))
	}
	if okType && okID {
		if c.seen == nil {
			c.seen = map[string]string{}
		}
		key := typ + "/" + id
		if at, dup := c.seen[key]; dup {
			c.fail(where, key+" again (first at "+at+")")
		}
		c.seen[key] = where
	}
}

// resourceOrIdentifier is an item of primary data: a resource identifier
// (type and id alone, a relationship document) or a resource object.
func (c *docCheck) resourceOrIdentifier(where string, v any) {
	obj, ok := v.(map[string]any)
	if !ok {
		c.fail(where, "not an object")
		return
	}
	c.resource(where, obj)
}

func (c *docCheck) resource(where string, obj map[string]any) {
	c.identity(where, obj)
	for k := range obj {
		if !slices.Contains([]string{"type", "id", "attributes", "relationships", "links", "meta"}, k) {
			c.fail(where+"/"+k, "not a member of a resource object")
		}
	}
	fields := map[string]bool{}
	if v, ok := obj["attributes"]; ok {
		attrs, isObject := v.(map[string]any)
		if !isObject {
			c.fail(where+"/attributes", "not an object")
		}
		for name := range attrs {
			fields[name] = true
			c.fieldName(where+"/attributes/"+name, name)
		}
	}
	if v, ok := obj["relationships"]; ok {
		rels, isObject := v.(map[string]any)
		if !isObject {
			c.fail(where+"/relationships", "not an object")
		}
		for name, rel := range rels {
			at := where + "/relationships/" + name
			c.fieldName(at, name)
			if fields[name] {
				c.fail(at, "both an attribute and a relationship")
			}
			c.relationship(at, rel)
		}
	}
	if v, ok := obj["links"]; ok {
		c.links(where+"/links", v, false)
	}
	c.meta(where+"/meta", obj)
}

func (c *docCheck) fieldName(where, name string) {
	if name == "id" || name == "type" || name == "relationships" || name == "links" || !memberName.MatchString(name) {
		c.fail(where, "not a valid field name")
	}
}

func (c *docCheck) relationship(where string, v any) {
	rel, ok := v.(map[string]any)
	if !ok {
		c.fail(where, "not an object")
		return
	}
	links, hasLinks := rel["links"]
	data, hasData := rel["data"]
	_, hasMeta := rel["meta"]
	if !hasLinks && !hasData && !hasMeta {
		c.fail(where, "none of links, data, meta")
	}
	if hasLinks {
		c.links(where+"/links", links, false)
		if l, ok := links.(map[string]any); ok && l["self"] == nil && l["related"] == nil {
			c.fail(where+"/links", "neither self nor related")
		}
	}
	if hasData {
		var items []any
		switch d := data.(type) {
		case nil:
		case []any:
			items = d
		default:
			items = []any{d}
		}
		for i, item := range items {
			obj, ok := item.(map[string]any)
			if !ok {
				c.fail(fmt.Sprintf("%s/data/%d", where, i), "not a resource identifier")
				continue
			}
			for k := range obj {
				if !slices.Contains([]string{"type", "id", "meta"}, k) {
					c.fail(fmt.Sprintf("%s/data/%d/%s", where, i, k), "not a member of a resource identifier")
				}
			}
		}
	}
}

func (c *docCheck) errors(v any) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		c.fail("/errors", "not a non-empty list")
		return
	}
	for i, item := range list {
		where := fmt.Sprintf("/errors/%d", i)
		e, ok := item.(map[string]any)
		if !ok {
			c.fail(where, "not an object")
			continue
		}
		for k, val := range e {
			if !slices.Contains(errorKeys, k) {
				c.fail(where+"/"+k, "not a member of an error object")
			}
			if slices.Contains([]string{"id", "status", "code", "title", "detail"}, k) {
				if _, isText := val.(string); !isText {
					c.fail(where+"/"+k, "not a string")
				}
			}
		}
		if s, ok := e["status"].(string); ok && !regexp.MustCompile(`^[1-5]\d\d$`).MatchString(s) {
			c.fail(where+"/status", "not an HTTP status: "+s)
		}
		if src, ok := e["source"]; ok {
			source, isObject := src.(map[string]any)
			if !isObject {
				c.fail(where+"/source", "not an object")
				continue
			}
			if p, has := source["pointer"]; has {
				if s, isText := p.(string); !isText || s != "" && !strings.HasPrefix(s, "/") {
					c.fail(where+"/source/pointer", "not a JSON Pointer")
				}
			}
			if p, has := source["parameter"]; has {
				if _, isText := p.(string); !isText {
					c.fail(where+"/source/parameter", "not a string")
				}
			}
		}
		if l, ok := e["links"]; ok {
			c.links(where+"/links", l, false)
		}
		c.meta(where+"/meta", e)
	}
}
