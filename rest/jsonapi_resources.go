package rest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// jsonapi's resources (users, roles, role linkage) and the shapers that answer
// them.

// jsonapiUser is jsonapi's user as GraphQL gives it.
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
func (u *jsonapiUser) resource(req *request) object {
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

// refNumber is a reference to another user as jsonapi shows it (created_by:
// 1), or null when there is none (or that user is gone).
func refNumber(r *ref) any {
	if r == nil {
		return nil
	}
	return idNumber(r.ID)
}

func shapeJSONAPIUser(status int, path ...string) shaper {
	return func(req *request, data json.RawMessage) (int, any, error) {
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

func shapeJSONAPIUsers(req *request, data json.RawMessage) (int, any, error) {
	if req.vars["withRoles"] == true {
		return shapeJSONAPIUserRoles(req, data)
	}
	p := readJSONAPIPage(req.Query(), &problems{})
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

// resource is the role as jsonapi shows it; its links are where the legacy
// service served roles, beside /users.
func (r *jsonapiRole) resource(req *request) object {
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
func shapeJSONAPIUserRoles(req *request, data json.RawMessage) (int, any, error) {
	var user struct{ Roles []jsonapiRole }
	if err := pickInto(data, &user, "user"); err != nil {
		return 0, nil, err
	}
	slices.SortFunc(user.Roles, func(a, b jsonapiRole) int { return compareIDs(a.ID, b.ID) })
	p := readJSONAPIPage(req.Query(), &problems{})
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
func shapeRoleLinkage(req *request, data json.RawMessage) (int, any, error) {
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
// linkage and jsonapi's links when it changed something, 204 when every role
// was already (or still not) the user's.
func shapeRoleChange(assign bool) func(req *request, data json.RawMessage, held []string) (int, any, error) {
	field := "unassignRoles"
	if assign {
		field = "assignRoles"
	}
	return func(req *request, data json.RawMessage, held []string) (int, any, error) {
		var user struct{ Roles []ref }
		if err := pickInto(data, &user, field); err != nil {
			return 0, nil, err
		}
		changed := false
		for _, id := range req.vars["roleIds"].([]string) {
			changed = changed || slices.Contains(held, id) != assign
		}
		if !changed {
			return http.StatusNoContent, nil, nil
		}
		return http.StatusOK, object{}.set("data", linkage(user.Roles)).set("links", req.topLinks()), nil
	}
}
