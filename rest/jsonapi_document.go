package rest

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// JSON:API 1.1 documents (the jsonapi dialect): the media type and its negotiation,
// error documents, links, and how the dialect writes times.

const jsonapiMediaType = "application/vnd.api+json"

// apiError is a JSON:API error object.
type apiError struct {
	Status string     `json:"status"`
	Title  string     `json:"title"`
	Detail string     `json:"detail,omitempty"`
	Source *apiSource `json:"source,omitempty"`
}

// apiSource names the member (a JSON Pointer into the request document)
// or the query parameter at fault.
type apiSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

// errorDocument is a JSON:API document of errors, answered as it is.
type errorDocument struct {
	Errors []apiError `json:"errors"`
}

func (d errorDocument) Error() string { return "rest: JSON:API errors" }

func newAPIError(status int, detail string, source *apiSource) apiError {
	return apiError{Status: strconv.Itoa(status), Title: http.StatusText(status), Detail: detail, Source: source}
}

// problems collects a request's errors, so that one answer names them all.
type problems struct {
	status int
	errs   []apiError
}

func (p *problems) add(status int, detail string, source *apiSource) {
	if p.status == 0 {
		p.status = status
	}
	p.errs = append(p.errs, newAPIError(status, detail, source))
}

// atPointer is a problem with a member of the request document; "" is
// the request as a whole.
func (p *problems) atPointer(status int, pointer, detail string) {
	var source *apiSource
	if pointer != "" {
		source = &apiSource{Pointer: pointer}
	}
	p.add(status, detail, source)
}

func (p *problems) atParameter(name, detail string) {
	p.add(http.StatusBadRequest, detail, &apiSource{Parameter: name})
}

// err is the answer naming every problem, with the first one's status;
// nil when there is none.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return &answer{status: p.status, body: errorDocument{p.errs}}
}

func jsonapiError(status int, pointer, detail string) error {
	p := &problems{}
	p.atPointer(status, pointer, detail)
	return p.err()
}

// renderJSONAPI writes every answer as a JSON:API document of its media
// type: the mechanism's failures, made in DRF's shapes ({"detail": …} or
// {"field": ["message"]}), become error objects, a field's pointing at
// its attribute.
func renderJSONAPI(a *answer) *answer {
	if a.body == nil {
		return a
	}
	out := &answer{status: a.status, body: a.body, header: a.header.Clone()}
	if out.header == nil {
		out.header = http.Header{}
	}
	out.header.Set("Content-Type", jsonapiMediaType)
	if _, ok := a.body.(errorDocument); ok || a.status < 400 {
		return out
	}
	var errs []apiError
	if fields, ok := a.body.(object); ok {
		for _, m := range fields {
			var source *apiSource
			if m.key != "detail" {
				source = &apiSource{Pointer: jsonapiPointer(m.key)}
			}
			switch v := m.value.(type) {
			case string:
				errs = append(errs, newAPIError(a.status, v, source))
			case []string:
				for _, msg := range v {
					errs = append(errs, newAPIError(a.status, msg, source))
				}
			}
		}
	}
	if len(errs) == 0 {
		errs = []apiError{newAPIError(a.status, "", nil)}
	}
	out.body = errorDocument{errs}
	return out
}

// jsonapiPointer points at the member a field error is about: the GraphQL
// layer names fields as the data model does (first_name), the document
// as jsonapi does (name).
func jsonapiPointer(field string) string {
	switch field {
	case drfNonFieldErrors, "roles":
		return "/data"
	}
	return "/data/attributes/" + jsonapiAttributeOf(field)
}

// jsonapiAttributeOf is jsonapi's name of a data-model field.
func jsonapiAttributeOf(field string) string {
	switch field {
	case "first_name":
		return "name"
	case "last_name":
		return "surname"
	}
	return field
}

// negotiateJSONAPI applies the media-type rules of JSON:API 1.1: a request
// whose Content-Type is the JSON:API media type with a parameter other
// than profile is 415 (no extension is supported, so ext counts); one
// whose Accept names the JSON:API media type only with such parameters is
// 406. Plain application/json, */* or no Accept are served.
func negotiateJSONAPI(req *request) error {
	if ct := req.HTTP.Header.Get("Content-Type"); ct != "" {
		if mt, params, err := mime.ParseMediaType(ct); err == nil && mt == jsonapiMediaType && !onlyProfile(params) {
			return jsonapiError(http.StatusUnsupportedMediaType, "",
				`The media type `+jsonapiMediaType+` takes no parameter but "profile"; "`+ct+`" is not served.`)
		}
	}
	seen, plain := false, false
	for _, header := range req.HTTP.Header.Values("Accept") {
		for part := range strings.SplitSeq(header, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != jsonapiMediaType {
				continue
			}
			delete(params, "q") // an accept-param, not the media type's
			seen, plain = true, plain || onlyProfile(params)
		}
	}
	if seen && !plain {
		return jsonapiError(http.StatusNotAcceptable, "",
			`Accept names `+jsonapiMediaType+` only with parameters other than "profile"; send it without them.`)
	}
	return nil
}

func onlyProfile(params map[string]string) bool {
	for k := range params {
		if k != "profile" {
			return false
		}
	}
	return true
}

// jsonapiTime writes an instant as the legacy service did (PHP's date
// format "c"): seconds and the zone's offset, 2016-12-13T12:08:02+00:00.
func (r *request) jsonapiTime(t time.Time) string {
	zone := r.Zone
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone).Format("2006-01-02T15:04:05-07:00")
}

func (r *request) jsonapiOptionalTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return r.jsonapiTime(*t)
}

// link is an absolute URL of one of the dialect's paths ("/19283/roles"),
// built as the DRF dialects build theirs (the client's scheme and host,
// X-Forwarded-* believed only from trusted proxies).
func (r *request) link(path string) string {
	return originURL(r.HTTP, r.hosts) + joinPath(r.prefix, path)
}

// sibling is an absolute URL beside the dialect's mount: the legacy
// service served /home and /roles next to /users, so with the default
// mount these are http://host/home and http://host/roles/7.
func (r *request) sibling(path string) string {
	parent := strings.TrimSuffix(r.prefix, "/")
	if i := strings.LastIndexByte(parent, '/'); i >= 0 {
		parent = parent[:i]
	}
	return originURL(r.HTTP, r.hosts) + parent + path
}

// self is the URL the client asked for, with the query as sent.
func (r *request) self() string {
	return absoluteURL(r.HTTP, r.hosts, r.Query())
}

// topLinks are a document's links: self and the service's home.
func (r *request) topLinks() object {
	return object{}.set("self", r.self()).set("home", r.sibling("/home"))
}
