package rest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/store/fault"
)

// parsers are the media types a route reads, as a DRF view's
// parser_classes: JSON everywhere (the services' setting), and for
// sign-in also forms (ObtainAuthToken's own parsers).
type parsers int

const (
	parseJSON parsers = iota
	parseJSONOrForm
	// parseJSONAPI reads JSON:API documents (jsonapi), and plain JSON too.
	parseJSONAPI
)

// readBody reads the request body once, refusing one over the limit
// before it is read whole (413; the body is never echoed).
func (r *request) readBody() ([]byte, error) {
	if r.bodyRead {
		return r.body, nil
	}
	r.bodyRead = true
	if r.HTTP.Body == nil {
		return nil, nil
	}
	if r.HTTP.ContentLength > r.limit {
		return nil, detail(http.StatusRequestEntityTooLarge, drfTooLarge)
	}
	b, err := io.ReadAll(io.LimitReader(r.HTTP.Body, r.limit+1))
	switch {
	case err != nil:
		return nil, detail(http.StatusBadRequest, "The request body could not be read.")
	case int64(len(b)) > r.limit:
		return nil, detail(http.StatusRequestEntityTooLarge, drfTooLarge)
	}
	r.body = b
	return b, nil
}

// data is DRF's request.data: an empty body is {} whatever its media type;
// otherwise the media type must be one the route parses (415), and JSON
// must parse (400, with Python's words for what failed).
func (r *request) data(p parsers) (any, error) {
	body, err := r.readBody()
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	header := r.HTTP.Header.Get("Content-Type")
	mediaType, _, _ := mime.ParseMediaType(header)
	switch {
	case mediaType == "application/json" || p == parseJSONAPI && mediaType == jsonapiMediaType:
		if msg := pyJSONError(body); msg != "" {
			return nil, detail(http.StatusBadRequest, "JSON parse error - "+msg)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			// Python accepted it (a number Go cannot hold, say): say so
			// in the same words rather than guess.
			return nil, detail(http.StatusBadRequest, "JSON parse error - "+err.Error())
		}
		return v, nil
	case p == parseJSONOrForm && (mediaType == "application/x-www-form-urlencoded" || mediaType == "multipart/form-data"):
		return r.form(body)
	}
	return nil, &answer{status: http.StatusUnsupportedMediaType, body: object{}.set("detail", `Unsupported media type "`+header+`" in request.`)}
}

// form reads a form body as Django's QueryDict: each field's last value.
func (r *request) form(body []byte) (any, error) {
	clone := r.HTTP.Clone(r.HTTP.Context())
	clone.Body = io.NopCloser(bytes.NewReader(body))
	clone.Form, clone.PostForm, clone.MultipartForm = nil, nil, nil
	var err error
	if strings.HasPrefix(clone.Header.Get("Content-Type"), "multipart/") {
		err = clone.ParseMultipartForm(r.limit)
	} else {
		err = clone.ParseForm()
	}
	if err != nil {
		return nil, detail(http.StatusBadRequest, "Multipart form parse error - Invalid boundary in multipart: None")
	}
	out := map[string]any{}
	for k, vs := range clone.PostForm {
		if len(vs) > 0 {
			out[k] = vs[len(vs)-1]
		}
	}
	return out, nil
}

// object is request.data where a serializer wants a dictionary: DRF's
// "Invalid data" and "No data provided" otherwise.
func (r *request) object(p parsers) (map[string]any, error) {
	v, err := r.data(p)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case map[string]any:
		return v, nil
	case nil:
		return nil, nonFieldError("No data provided")
	default:
		return nil, nonFieldError("Invalid data. Expected a dictionary, but got " + pyTypeName(v) + ".")
	}
}

func nonFieldError(message string) error {
	return fault.Field(drfNonFieldErrors, message)
}

// pyTypeName is the Python type json.loads gives a decoded value.
func pyTypeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case string:
		return "str"
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return "float"
		}
		return "int"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return "object"
}
