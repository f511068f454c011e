package rest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// jsonapi is seed 002, a JSON:API 1.1 service of users and their roles
// (application/vnd.api+json): numbered pages with meta.pagination, role
// relationships, and JSON:API error documents for every failure. Reading
// needs a signed-in user; writing follows the GraphQL rules of the
// mutation it runs (staff or the user permission).
func jsonapi() *Dialect {
	return &Dialect{
		Name: "jsonapi",
		Seed: "002_3619bbc2b4eacd2a.txt",
		Routes: []Route{
			// Get user data: a page of users; ?id= one user, ?id=&roles their roles
			{"GET", "", op("JSONAPIUsers"), bindJSONAPIUsers, shapeJSONAPIUsers},
			// Create a user: username, password and uname required
			{"POST", "", op("CreateJSONAPIUser"), bindJSONAPIUserCreate, shapeJSONAPIUser(http.StatusCreated, "createUser")},
			{"GET", "/{id}", op("JSONAPIUser"), bindJSONAPIUser, shapeJSONAPIUser(http.StatusOK, "user")},
			// Modify a user: the attributes sent; a password is set after
			{"PATCH", "/{id}", op("UpdateJSONAPIUser", "SetJSONAPIUserPassword"), bindJSONAPIUserUpdate, shapeJSONAPIUser(http.StatusOK, "updateUser")},
			// Remove a user
			{"DELETE", "/{id}", op("DeleteJSONAPIUser"), bindJSONAPIUser, noContent},
			// A user's roles
			{"GET", "/{id}/roles", op("JSONAPIUserRoles"), bindJSONAPIUserRoles, shapeJSONAPIUserRoles},
			// The roles relationship: read, add a role, remove a role
			{"GET", "/{id}/relationships/roles", op("JSONAPIRoleLinkage"), bindJSONAPIUser, shapeRoleLinkage},
			{"POST", "/{id}/relationships/roles", op("AssignJSONAPIRoles"), bindRoleChange, shapeRoleChange(true)},
			{"DELETE", "/{id}/relationships/roles", op("UnassignJSONAPIRoles"), bindRoleChange, shapeRoleChange(false)},
		},
		Fields:      jsonapiAttributes,
		MethodRules: djangoModelPermissions,
		Negotiate:   negotiateJSONAPI,
		Render:      renderJSONAPI,
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
func bindJSONAPIUsers(req *Request) (Vars, error) {
	q := req.Query()
	if err := checkQuery(q, "page", "id", "roles"); err != nil {
		return nil, err
	}
	p := &problems{}
	page := readPageNumber(q, p)
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
		return Vars{"rolesOf": id, "withRoles": true, "offset": 0, "limit": 1}, nil
	}
	vars := Vars{"offset": page.offset(), "limit": min(page.size, jsonapiChunk), "withRoles": false}
	if hasID {
		vars["filter"] = map[string]any{"ids": []any{idString(id)}}
	}
	return vars, nil
}

// bindJSONAPIUser reads the user of the path; no query parameter of the
// specification's is processed there.
func bindJSONAPIUser(req *Request) (Vars, error) {
	if err := checkQuery(req.Query()); err != nil {
		return nil, err
	}
	return bindID(req)
}

func bindJSONAPIUserRoles(req *Request) (Vars, error) {
	if err := checkQuery(req.Query(), "page"); err != nil {
		return nil, err
	}
	p := &problems{}
	readPageNumber(req.Query(), p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return bindID(req)
}

func bindJSONAPIUserCreate(req *Request) (Vars, error) {
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
	input, password, err := userAttributes(res, true)
	if err != nil {
		return nil, err
	}
	input["password"] = *password
	return Vars{"input": input}, nil
}

func bindJSONAPIUserUpdate(req *Request) (Vars, error) {
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
		if id, ok := jsonapiID(raw); !ok || id != pathID {
			p.atPointer(http.StatusConflict, "/data/id", "id does not match the id in the URL, "+pathID+".")
		}
	}
	checkNoRelationships(p, res)
	if err := p.err(); err != nil {
		return nil, err
	}
	input, password, err := userAttributes(res, false)
	if err != nil {
		return nil, err
	}
	vars["input"] = input
	if password != nil {
		vars["password"] = *password
	}
	return vars, nil
}

// readResource reads the request document's primary data, a resource
// object.
func readResource(req *Request) (map[string]any, error) {
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
func readPrimaryData(req *Request) (any, error) {
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
// number, as 002's examples do; either must be a whole number from 1.
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
// password and uname. The password goes apart: a change sets it with a
// mutation of its own. Attributes the service does not have are refused,
// naming each; read-only ones are left as they are.
func userAttributes(res map[string]any, create bool) (map[string]any, *string, error) {
	attrs := map[string]any{}
	if raw, ok := res["attributes"]; ok {
		m, isObject := raw.(map[string]any)
		if !isObject {
			return nil, nil, jsonapiError(http.StatusBadRequest, "/data/attributes", "attributes must be an object.")
		}
		attrs = m
	}
	f := newForm(attrs)
	for name := range attrs {
		if !slices.Contains(jsonapiAttributes, name) {
			f.errs.add(name, "A user has no such attribute.")
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
	password, _ := f.text("password", textRule{required: create, keepSpace: true})
	if err := f.err(); err != nil {
		return nil, nil, err
	}
	if create && input["phoneNumber"] == nil {
		delete(input, "phoneNumber")
	}
	return input, password, nil
}

// maxRoleChange is the most identifiers one relationship change takes.
const maxRoleChange = 100

// bindRoleChange reads the roles of a relationship change, one resource
// identifier ({"type": "roles", "id": 7}, as 002 sends) or a list of them,
// and looks at the store first: an unknown role is refused before
// anything is written, and the roles the user held tell the shaper
// whether the change changed anything.
func bindRoleChange(req *Request) (Vars, error) {
	vars, err := bindJSONAPIUser(req)
	if err != nil {
		return nil, err
	}
	data, err := readPrimaryData(req)
	if err != nil {
		return nil, err
	}
	items, at := []any{data}, func(int) string { return "/data" }
	if list, ok := data.([]any); ok {
		items, at = list, func(i int) string { return "/data/" + strconv.Itoa(i) }
	}
	p := &problems{}
	if len(items) > maxRoleChange {
		p.atPointer(http.StatusBadRequest, "/data", "At most "+strconv.Itoa(maxRoleChange)+" roles at once.")
		return nil, p.err()
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
		return nil, err
	}
	known, err := req.ask("JSONAPIRolesKnown", Vars{"id": vars["id"], "roleIds": ids})
	if err != nil {
		return nil, err
	}
	var found struct {
		User  *struct{ Roles []ref } `json:"user"`
		Roles struct{ Nodes []ref }  `json:"roles"`
	}
	if err := json.Unmarshal(known, &found); err != nil {
		return nil, err
	}
	if found.User == nil {
		return nil, errNotFound
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
		return nil, err
	}
	for _, r := range found.User.Roles {
		req.heldRoles = append(req.heldRoles, r.ID)
	}
	vars["roleIds"] = ids
	return vars, nil
}

// jsonapiUser is 002's user as GraphQL gives it.
type jsonapiUser struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	FirstName   string     `json:"firstName"`
	LastName    string     `json:"lastName"`
	Uname       string     `json:"uname"`
	Email       string     `json:"email"`
	PhoneNumber *string    `json:"phoneNumber"`
	IsActive    bool       `json:"isActive"`
	IsStaff     bool       `json:"isStaff"`
	IsSuperuser bool       `json:"isSuperuser"`
	DateJoined  time.Time  `json:"dateJoined"`
	LastLogin   *time.Time `json:"lastLogin"`
	Person      *int64     `json:"person"`
	CreatedBy   *ref       `json:"createdBy"`
	ModifiedBy  *ref       `json:"modifiedBy"`
	Created     time.Time  `json:"created"`
	Modified    time.Time  `json:"modified"`
}

// resource is the user as a resource object; never a password.
func (u *jsonapiUser) resource(req *Request) object {
	attrs := object{}.
		set("username", u.Username).
		set("name", u.FirstName).
		set("surname", u.LastName).
		set("uname", u.Uname).
		set("email", u.Email).
		set("phone_number", u.PhoneNumber).
		set("is_active", u.IsActive).
		set("is_staff", u.IsStaff).
		set("is_superuser", u.IsSuperuser).
		set("date_joined", req.jsonapiTime(u.DateJoined)).
		set("last_login", req.jsonapiOptionalTime(u.LastLogin)).
		set("person", u.Person).
		set("created_by", refNumber(u.CreatedBy)).
		set("modified_by", refNumber(u.ModifiedBy)).
		set("created", req.jsonapiTime(u.Created)).
		set("modified", req.jsonapiTime(u.Modified))
	roles := object{}.set("links", object{}.
		set("related", req.link("/"+u.ID+"/roles")).
		set("self", req.link("/"+u.ID+"/relationships/roles")))
	return object{}.
		set("id", u.ID).
		set("type", "users").
		set("attributes", attrs).
		set("relationships", object{}.set("roles", roles))
}

// refNumber is a reference to another user as 002 shows it (created_by:
// 1), or null when there is none (or that user is gone).
func refNumber(r *ref) any {
	if r == nil {
		return nil
	}
	return idNumber(r.ID)
}

func shapeJSONAPIUser(status int, path ...string) Shaper {
	return func(req *Request, data json.RawMessage) (int, any, error) {
		var u jsonapiUser
		if err := pickInto(data, &u, path...); err != nil {
			return 0, nil, err
		}
		if status == http.StatusCreated {
			req.header = http.Header{"Location": {req.link("/" + u.ID)}}
		}
		return status, object{}.set("data", u.resource(req)).set("links", req.topLinks()), nil
	}
}

func shapeJSONAPIUsers(req *Request, data json.RawMessage) (int, any, error) {
	if req.vars["withRoles"] == true {
		return shapeJSONAPIUserRoles(req, data)
	}
	p := readPageNumber(req.Query(), &problems{})
	users, total, err := readUsers[jsonapiUser](req, data, p.offset(), p.size)
	if err != nil {
		return 0, nil, err
	}
	resources := make([]object, len(users))
	for i := range users {
		resources[i] = users[i].resource(req)
	}
	return http.StatusOK, req.paged(p, total, len(users), object{}.set("data", resources)), nil
}

// jsonapiRole is a role as GraphQL gives it.
type jsonapiRole struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Description  *string   `json:"description"`
	Unchangeable bool      `json:"unchangeable"`
	Created      time.Time `json:"created"`
	Modified     time.Time `json:"modified"`
}

// resource is the role as 002 shows it; its links are where the legacy
// service served roles, beside /users.
func (r *jsonapiRole) resource(req *Request) object {
	attrs := object{}.
		set("name", r.Name).
		set("description", r.Description).
		set("unchangeable", r.Unchangeable).
		set("created", req.jsonapiTime(r.Created)).
		set("modified", req.jsonapiTime(r.Modified))
	users := object{}.set("links", object{}.
		set("related", req.sibling("/roles/"+r.ID+"/users")).
		set("self", req.sibling("/roles/"+r.ID+"/relationships/users")))
	return object{}.
		set("id", r.ID).
		set("type", "roles").
		set("attributes", attrs).
		set("links", object{}.set("self", req.sibling("/roles/"+r.ID))).
		set("relationships", object{}.set("users", users))
}

// shapeJSONAPIUserRoles answers a user's roles as a collection, in id
// order, paged as users are.
func shapeJSONAPIUserRoles(req *Request, data json.RawMessage) (int, any, error) {
	var user struct{ Roles []jsonapiRole }
	if err := pickInto(data, &user, "user"); err != nil {
		return 0, nil, err
	}
	slices.SortFunc(user.Roles, func(a, b jsonapiRole) int { return compareIDs(a.ID, b.ID) })
	p := readPageNumber(req.Query(), &problems{})
	start := min(p.offset(), len(user.Roles))
	end := min(start+p.size, len(user.Roles))
	resources := make([]object, 0, end-start)
	for i := start; i < end; i++ {
		resources = append(resources, user.Roles[i].resource(req))
	}
	return http.StatusOK, req.paged(p, len(user.Roles), len(resources), object{}.set("data", resources)), nil
}

// linkage is a user's roles as resource identifiers, in id order.
func linkage(roles []ref) []object {
	slices.SortFunc(roles, func(a, b ref) int { return compareIDs(a.ID, b.ID) })
	out := make([]object, len(roles))
	for i, r := range roles {
		out[i] = object{}.set("type", "roles").set("id", r.ID)
	}
	return out
}

func compareIDs(a, b string) int { return cmp.Compare(idNumber(a), idNumber(b)) }

// shapeRoleLinkage answers the relationship itself: identifiers, and
// links to it and to the roles.
func shapeRoleLinkage(req *Request, data json.RawMessage) (int, any, error) {
	var user struct {
		ID    string
		Roles []ref
	}
	if err := pickInto(data, &user, "user"); err != nil {
		return 0, nil, err
	}
	links := object{}.
		set("self", req.self()).
		set("related", req.link("/"+user.ID+"/roles")).
		set("home", req.sibling("/home"))
	return http.StatusOK, object{}.set("data", linkage(user.Roles)).set("links", links), nil
}

// shapeRoleChange answers a relationship change: 200 with the resulting
// linkage and 002's links when it changed something, 204 when every role
// was already (or still not) the user's.
func shapeRoleChange(assign bool) Shaper {
	field := "unassignRoles"
	if assign {
		field = "assignRoles"
	}
	return func(req *Request, data json.RawMessage) (int, any, error) {
		var user struct{ Roles []ref }
		if err := pickInto(data, &user, field); err != nil {
			return 0, nil, err
		}
		changed := false
		for _, id := range req.vars["roleIds"].([]string) {
			changed = changed || slices.Contains(req.heldRoles, id) != assign
		}
		if !changed {
			return http.StatusNoContent, nil, nil
		}
		return http.StatusOK, object{}.set("data", linkage(user.Roles)).set("links", req.topLinks()), nil
	}
}
