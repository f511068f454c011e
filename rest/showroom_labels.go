package rest

import (
	"strings"
)

// The showroom dialect's operator codes, tags and clients.

type showroomLabel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Code string `json:"code"`
}

func showroomTag(_ *request, t *showroomLabel) object {
	return object{}.set("id", idNumber(t.ID)).set("name", t.Name)
}

func showroomCode(_ *request, c *showroomLabel) object {
	return object{}.set("id", idNumber(c.ID)).set("code", c.Code)
}

// bindShowroomLabel reads a tag's name or a code's code (required unless
// partial; a PATCH without it keeps the one its lookup found), and the
// path's id when it has one.
func bindShowroomLabel(field string, partial bool) binder {
	return func(req *request) (variables, error) {
		vars := variables{}
		if req.Param("id") != "" {
			var err error
			if vars, err = bindID(req); err != nil {
				return nil, err
			}
		}
		data, err := req.object(parseJSON)
		if err != nil {
			return nil, err
		}
		f := newForm(data)
		if v, ok := f.text(field, textRule{required: !partial}); ok {
			vars[field] = *v
		}
		return vars, f.err()
	}
}

type showroomClientData struct {
	ID                 string `json:"id"`
	PhoneNumber        string `json:"phoneNumber"`
	Timezone           string `json:"timezone"`
	MobileOperatorCode *ref   `json:"mobileOperatorCode"`
	Tag                *ref   `json:"tag"`
}

func showroomClient(_ *request, c *showroomClientData) object {
	refID := func(r *ref) any {
		if r == nil {
			return nil
		}
		return idNumber(r.ID)
	}
	return object{}.
		set("id", idNumber(c.ID)).
		set("phone_number", c.PhoneNumber).
		set("timezone", c.Timezone).
		set("mobile_operator_code", refID(c.MobileOperatorCode)).
		set("tag", refID(c.Tag))
}

// showroomClientInput reads a client's fields as ClientSerializer does:
// every one required unless partial; the code and the tag are primary
// keys. The phone number's and the time zone's length and form are the
// store's to check, all fields at once, so that a number too long does not
// hide an unknown time zone.
func showroomClientInput(req *request, partial bool) (map[string]any, error) {
	data, err := req.object(parseJSON)
	if err != nil {
		return nil, err
	}
	f := newForm(data)
	input := map[string]any{}
	for _, t := range []struct{ json, graphql string }{{"phone_number", "phoneNumber"}, {"timezone", "timezone"}} {
		if v, ok := f.text(t.json, textRule{required: !partial}); ok {
			input[t.graphql] = *v
		}
	}
	for _, t := range []struct{ json, graphql string }{{"mobile_operator_code", "mobileOperatorCodeId"}, {"tag", "tagId"}} {
		if id, ok := f.pk(req, t.json, !partial); ok {
			input[t.graphql] = id
		}
	}
	return input, f.err()
}

var bindShowroomClientCreate = bindInput(showroomClientInput)

// showroomErrors words the store's field errors as the service did: a
// taken code names the service's model, and a mailing's unknown or
// missing tags and codes are its serializer's non-field errors.
func showroomErrors(fields map[string][]string) {
	for i, msg := range fields["code"] {
		if strings.HasPrefix(msg, "operator code with this code") {
			fields["code"][i] = "mobile " + msg
		}
	}
	for _, field := range []string{"tags", "codes"} {
		for _, msg := range fields[field] {
			fields[drfNonFieldErrors] = append(fields[drfNonFieldErrors], showroomLabelError(field, msg))
		}
		delete(fields, field)
	}
}

// showroomLabelError names the list a mailing's label error is about.
func showroomLabelError(field, msg string) string {
	if field == "tags" && strings.HasSuffix(msg, "does not exist.") {
		return "Tag " + msg
	}
	if field == "codes" && strings.HasSuffix(msg, "does not exist.") {
		return "Code " + msg
	}
	return msg
}
