package rest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// jsonapi is seed 002, a JSON:API 1.1 service of users and their roles
// (application/vnd.api+json): numbered pages with meta.pagination, role
// relationships, and JSON:API error documents for every failure. Reading
// needs a signed-in user; writing follows the GraphQL rules of the
// mutation it runs (staff or the user permission).
func jsonapi() *dialect {
	return &dialect{
		Name: "jsonapi",
		Seed: "002_3619bbc2b4eacd2a.txt",
		Routes: []route{
			// Get user data: a page of users; ?id= one user, ?id=&roles their roles
			{"GET", "", op("JSONAPIUsers"), bindJSONAPIUsers, shapeJSONAPIUsers},
			// Create a user: username, password and uname required
			{"POST", "", op("CreateJSONAPIUser"), bindJSONAPIUserCreate, shapeJSONAPIUser(http.StatusCreated, "createUser")},
			{"GET", "/{id}", op("JSONAPIUser"), bindJSONAPIUser, shapeJSONAPIUser(http.StatusOK, "user")},
			// Modify a user: the attributes sent
			{"PATCH", "/{id}", op("UpdateJSONAPIUser"), bindJSONAPIUserUpdate, shapeJSONAPIUser(http.StatusOK, "updateUser")},
			// Remove a user
			{"DELETE", "/{id}", op("DeleteJSONAPIUser"), bindJSONAPIUser, noContent},
			// A user's roles
			{"GET", "/{id}/roles", op("JSONAPIUserRoles"), bindJSONAPIUserRoles, shapeJSONAPIUserRoles},
			// The roles relationship: read, add a role, remove a role
			{"GET", "/{id}/relationships/roles", op("JSONAPIRoleLinkage"), bindJSONAPIUser, shapeRoleLinkage},
			carrying("POST", "/{id}/relationships/roles", op("AssignJSONAPIRoles"), bindRoleChange, shapeRoleChange(true)),
			carrying("DELETE", "/{id}/relationships/roles", op("UnassignJSONAPIRoles"), bindRoleChange, shapeRoleChange(false)),
		},
		Fields:      jsonapiAttributes,
		MethodRules: djangoModelPermissions,
		Guards:      schemaGuards,
		Slashes:     slashAsWritten,
		Documents:   documents{negotiate: negotiateJSONAPI, render: renderJSONAPI},
	}
}

// jsonapiChunk is the most users one operation reads: each costs more
// than a DRF dialect's (created_by and modified_by are users too), and 40
// keep a chunk under the complexity limit.
const jsonapiChunk = 40

// jsonapiAttributes are a user's attributes, in the order answers write
// them (and errors name them).
var jsonapiAttributes = []string{
	"username", "name", "surname", "uname", "password", "email", "phone_number",
	"is_active", "is_staff", "is_superuser", "date_joined", "last_login", "person",
	"created_by", "modified_by", "created", "modified",
}

// jsonapiReadOnly are the attributes the service shows but sets itself: a
// client that sends back what it read is not refused for them, and they
// are not changed.
var jsonapiReadOnly = []string{"date_joined", "last_login", "person", "created_by", "modified_by", "created", "modified"}

// bindJSONAPIUsers reads a page (page, page_size) and ?id=: the user of
// that id as a collection of one (none when there is no such user), or,
// with roles (?id=19283&roles), that user's roles, as /users/19283/roles.
func bindJSONAPIUsers(req *request) (variables, error) {
	q := req.Query()
	if err := checkQuery(q, "page", "id", "roles"); err != nil {
		return nil, err
	}
	p := &problems{}
	page := readJSONAPIPage(q, p)
	rawID, hasID := q.get("id")
	id, idOK := parseID(rawID)
	if hasID && !idOK {
		p.atParameter("id", "id must be a user id, a whole number from 1.")
	}
	_, roles := q.get("roles")
	if roles && !hasID {
		p.atParameter("roles", "roles needs id: ?id=19283&roles lists that user's roles.")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if roles {
		return variables{"rolesOf": id, "withRoles": true, "offset": 0, "limit": 1}, nil
	}
	vars := variables{"offset": page.offset(), "limit": min(page.size, jsonapiChunk), "withRoles": false}
	if hasID {
		vars["filter"] = map[string]any{"ids": []any{idString(id)}}
	}
	return vars, nil
}

// bindJSONAPIUser reads the user of the path; no query parameter of the
// specification's is processed there.
func bindJSONAPIUser(req *request) (variables, error) {
	if err := checkQuery(req.Query()); err != nil {
		return nil, err
	}
	return bindID(req)
}

func bindJSONAPIUserRoles(req *request) (variables, error) {
	if err := checkQuery(req.Query(), "page"); err != nil {
		return nil, err
	}
	p := &problems{}
	readJSONAPIPage(req.Query(), p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return bindID(req)
}

func bindJSONAPIUserCreate(req *request) (variables, error) {
	res, err := readResource(req)
	if err != nil {
		return nil, err
	}
	p := &problems{}
	checkType(p, res, "/data", "users")
	if _, ok := res["id"]; ok {
		p.atPointer(http.StatusForbidden, "/data/id", "Client-generated ids are not supported: the service gives the new user its id.")
	}
	checkNoRelationships(p, res)
	if err := p.err(); err != nil {
		return nil, err
	}
	input, err := userAttributes(res, true)
	if err != nil {
		return nil, err
	}
	return variables{"input": input}, nil
}

func bindJSONAPIUserUpdate(req *request) (variables, error) {
	vars, err := bindJSONAPIUser(req)
	if err != nil {
		return nil, err
	}
	res, err := readResource(req)
	if err != nil {
		return nil, err
	}
	p := &problems{}
	checkType(p, res, "/data", "users")
	pathID := idString(vars["id"].(int64))
	switch raw, ok := res["id"]; {
	case !ok:
		p.atPointer(http.StatusBadRequest, "/data/id", "id is required: it must be the id in the URL, "+pathID+".")
	default:
		switch id, ok := jsonapiID(raw); {
		case !ok:
			p.atPointer(http.StatusBadRequest, "/data/id", "id must be a user id, a whole number from 1.")
		case id != pathID:
			p.atPointer(http.StatusConflict, "/data/id", "id does not match the id in the URL, "+pathID+".")
		}
	}
	checkNoRelationships(p, res)
	if err := p.err(); err != nil {
		return nil, err
	}
	input, err := userAttributes(res, false)
	if err != nil {
		return nil, err
	}
	vars["input"] = input
	return vars, nil
}

// readResource reads the request document's primary data, a resource
// object.
func readResource(req *request) (map[string]any, error) {
	data, err := readPrimaryData(req)
	if err != nil {
		return nil, err
	}
	res, ok := data.(map[string]any)
	if !ok {
		return nil, jsonapiError(http.StatusBadRequest, "/data", "data must be a resource object.")
	}
	return res, nil
}

// readPrimaryData reads a request document (JSON:API's media type or plain
// JSON) and answers its data member.
func readPrimaryData(req *request) (any, error) {
	v, err := req.data(parseJSONAPI)
	if err != nil {
		return nil, err
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, jsonapiError(http.StatusBadRequest, "", "The request body must be a JSON:API document, a JSON object.")
	}
	data, ok := doc["data"]
	if !ok {
		return nil, jsonapiError(http.StatusBadRequest, "/data", "data is required.")
	}
	return data, nil
}

// checkType: a missing type is 400, another type than the collection's 409.
func checkType(p *problems, obj map[string]any, at, want string) {
	t, ok := obj["type"]
	s, isText := t.(string)
	switch {
	case !ok:
		p.atPointer(http.StatusBadRequest, at+"/type", "type is required.")
	case !isText:
		p.atPointer(http.StatusBadRequest, at+"/type", "type must be a string.")
	case s != want:
		p.atPointer(http.StatusConflict, at+"/type", `type "`+s+`" is not "`+want+`", the type expected here.`)
	}
}

// checkNoRelationships: roles change through the relationship's own URL.
func checkNoRelationships(p *problems, res map[string]any) {
	if _, ok := res["relationships"]; ok {
		p.atPointer(http.StatusForbidden, "/data/relationships",
			"Relationships are not changed with the user: use /users/{id}/relationships/roles.")
	}
}

// jsonapiID reads a resource id: a string, as JSON:API writes ids, or a
// number, as jsonapi's examples do; either must be a whole number from 1.
func jsonapiID(v any) (string, bool) {
	var text string
	switch v := v.(type) {
	case string:
		text = v
	case json.Number:
		text = v.String()
	default:
		return "", false
	}
	id, ok := parseID(text)
	if !ok {
		return "", false
	}
	return idString(id), true
}

// userAttributes reads the attributes of a user resource into the GraphQL
// input, as the service's fields read them (DRF's rules of text and
// booleans: 12 is "12", "yes" is true); created requires username,
// password and uname. Attributes the service does not have are refused,
// naming each; read-only ones are left as they are.
func userAttributes(res map[string]any, create bool) (map[string]any, error) {
	attrs := map[string]any{}
	if raw, ok := res["attributes"]; ok {
		m, isObject := raw.(map[string]any)
		if !isObject {
			return nil, jsonapiError(http.StatusBadRequest, "/data/attributes", "attributes must be an object.")
		}
		attrs = m
	}
	f := newForm(attrs)
	for name := range attrs {
		if !slices.Contains(jsonapiAttributes, name) {
			f.errs.Add(name, "A user has no such attribute.")
		}
	}
	needed := textRule{required: create}
	input := map[string]any{}
	texts := []struct {
		attr, graphql string
		rule          textRule
	}{
		{"username", "username", needed},
		{"name", "firstName", optionalText},
		{"surname", "lastName", optionalText},
		{"uname", "uname", needed},
		{"email", "email", optionalText},
	}
	for _, t := range texts {
		if v, ok := f.text(t.attr, t.rule); ok {
			input[t.graphql] = *v
		}
	}
	if v, ok := f.text("phone_number", textRule{allowBlank: true, allowNull: true}); ok {
		if v == nil {
			input["phoneNumber"] = nil
		} else {
			input["phoneNumber"] = *v
		}
	}
	for _, b := range []struct{ attr, graphql string }{{"is_active", "isActive"}, {"is_staff", "isStaff"}, {"is_superuser", "isSuperuser"}} {
		if v, ok := f.boolean(b.attr, false); ok {
			input[b.graphql] = *v
		}
	}
	if v, ok := f.text("password", textRule{required: create, keepSpace: true}); ok {
		input["password"] = *v
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if create && input["phoneNumber"] == nil {
		delete(input, "phoneNumber")
	}
	return input, nil
}

// maxRoleChange is the most identifiers one relationship change takes.
const maxRoleChange = 100

// bindRoleChange reads the roles of a relationship change, one resource
// identifier ({"type": "roles", "id": 7}, as jsonapi sends) or a list of them,
// and looks at the store first: an unknown role is refused before
// anything is written, and the roles the user held (held) tell the shaper
// whether the change changed anything.
func bindRoleChange(req *request) (vars variables, held []string, err error) {
	vars, err = bindJSONAPIUser(req)
	if err != nil {
		return nil, nil, err
	}
	data, err := readPrimaryData(req)
	if err != nil {
		return nil, nil, err
	}
	items, at := []any{data}, func(int) string { return "/data" }
	if list, ok := data.([]any); ok {
		items, at = list, func(i int) string { return "/data/" + strconv.Itoa(i) }
	}
	p := &problems{}
	if len(items) > maxRoleChange {
		p.atPointer(http.StatusBadRequest, "/data", "At most "+strconv.Itoa(maxRoleChange)+" roles at once.")
		return nil, nil, p.err()
	}
	ids := make([]string, 0, len(items))
	for i, item := range items {
		obj, ok := item.(map[string]any)
		if !ok {
			p.atPointer(http.StatusBadRequest, at(i), `A role is named by a resource identifier, {"type": "roles", "id": "7"}.`)
			continue
		}
		checkType(p, obj, at(i), "roles")
		if id, ok := jsonapiID(obj["id"]); ok {
			ids = append(ids, id)
		} else {
			p.atPointer(http.StatusBadRequest, at(i)+"/id", "id must be a role id, a whole number from 1.")
		}
	}
	if err := p.err(); err != nil {
		return nil, nil, err
	}
	known, err := req.ask("JSONAPIRolesKnown", variables{"id": vars["id"], "roleIds": ids})
	if err != nil {
		return nil, nil, err
	}
	var found struct {
		User  *struct{ Roles []ref } `json:"user"`
		Roles struct{ Nodes []ref }  `json:"roles"`
	}
	if err := json.Unmarshal(known, &found); err != nil {
		return nil, nil, err
	}
	if found.User == nil {
		return nil, nil, errNotFound
	}
	exists := map[string]bool{}
	for _, r := range found.Roles.Nodes {
		exists[r.ID] = true
	}
	for i, id := range ids {
		if !exists[id] {
			p.atPointer(http.StatusBadRequest, at(i)+"/id", `There is no role "`+id+`".`)
		}
	}
	if err := p.err(); err != nil {
		return nil, nil, err
	}
	for _, r := range found.User.Roles {
		held = append(held, r.ID)
	}
	vars["roleIds"] = ids
	return vars, held, nil
}
