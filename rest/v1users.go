package rest

import (
	"encoding/json"
	"net/http"
	"time"
)

// v1users is seed 001, an RPC-style user admin API. Every path also takes
// a trailing slash; {id} is a primary key when all digits and a username
// otherwise; DELETE only deactivates. On top of GraphQL's rules, everything
// but reading oneself needs a staff or superuser caller: its operations
// and guards ask the schema's @staff (operations/v1users.graphql).
func v1users() *dialect {
	return &dialect{
		Name: "v1users",
		Seed: "001_fe642fc2687675ca.txt",
		Routes: []route{
			// List: an optional filter body; a plain array, no pages
			carrying("POST", "/list", op("V1Users"), bindV1UserList, shapeV1UserList),
			// Create
			{"POST", "/create", op("CreateV1User"), bindV1UserCreate, shapeV1User(http.StatusCreated, "createUser")},
			// Retrieve by pk, and Get By Name
			{"GET", "/{id}", op("V1User"), bindV1UserRef, shapeV1User(http.StatusOK, "user")},
			// Update: username and password required
			{"PUT", "/{id}", op("ReplaceV1User"), bindV1UserReplace, shapeV1User(http.StatusOK, "replaceUser")},
			// Partial update
			{"PATCH", "/{id}", op("UpdateV1User"), bindV1UserUpdate, shapeV1User(http.StatusOK, "updateUser")},
			// Destroy: marks the user inactive
			{"DELETE", "/{id}", op("DeactivateV1User"), bindID, noContent},
		},
		Fields:      []string{"username", "password", "pk", "last_login", "is_superuser", "first_name", "last_name", "email", "is_staff", "is_active", "date_joined"},
		MethodRules: djangoModelPermissions,
		Guards:      guards{field: "V1Allowed", user: "V1AllowedOnUser"},
		Slashes:     slashOptional,
		Documents:   drfJSON,
		ViewNames:   map[string]string{"/list": "User List", "/create": "User Create", "/{id}": "User Instance"},
	}
}

// bindV1UserList reads the filter body, and tells the shaper how to order
// what GraphQL's orderBy cannot.
func bindV1UserList(req *request) (variables, func([]v1User), error) {
	data, err := req.object(parseJSON)
	if err != nil {
		return nil, nil, err
	}
	spec, err := parseFilterSpec(data, req.Zone)
	if err != nil {
		return nil, nil, err
	}
	vars := variables{"offset": 0, "limit": listChunk}
	if spec.filter != nil {
		vars["filter"] = spec.filter
	}
	if len(spec.orderBy) > 0 {
		vars["orderBy"] = spec.orderBy
	}
	return vars, spec.sortAfter, nil
}

// v1UserWritable are v1users' text fields, as its document lists them.
var v1UserText = []struct{ json, graphql string }{
	{"first_name", "firstName"}, {"last_name", "lastName"}, {"email", "email"},
}

// v1UserInput reads the body of create, PUT and PATCH: username and
// password required unless partial.
func v1UserInput(req *request, partial bool) (input map[string]any, err error) {
	data, err := req.object(parseJSON)
	if err != nil {
		return nil, err
	}
	f := newForm(data)
	input = map[string]any{}
	if v, ok := f.text("username", textRule{required: !partial}); ok {
		input["username"] = *v
	}
	if v, ok := f.text("password", textRule{required: !partial}); ok {
		input["password"] = *v
	}
	for _, t := range v1UserText {
		if v, ok := f.text(t.json, optionalText); ok {
			input[t.graphql] = *v
		}
	}
	if v, ok := f.boolean("is_active", false); ok {
		input["isActive"] = *v
	}
	if v, ok := f.boolean("is_staff", false); ok {
		input["isStaff"] = *v
	}
	return input, f.err()
}

var (
	bindV1UserCreate  = bindInput(v1UserInput)
	bindV1UserReplace = bindIDInput(v1UserInput, false)
	bindV1UserUpdate  = bindIDInput(v1UserInput, true)
)

// bindV1UserRef reads {id}: all digits is a primary key, anything else a
// username. @staff lets the caller read the user it names when that
// user's id is theirs.
func bindV1UserRef(req *request) (variables, error) {
	ref := req.Param("id")
	if id, ok := parseID(ref); ok {
		return variables{"id": id}, nil
	}
	return variables{"username": ref}, nil
}

// v1User is v1users' user as GraphQL gives it.
type v1User struct {
	Username    string     `json:"username"`
	ID          string     `json:"id"`
	LastLogin   *time.Time `json:"lastLogin"`
	IsSuperuser bool       `json:"isSuperuser"`
	FirstName   string     `json:"firstName"`
	LastName    string     `json:"lastName"`
	Email       string     `json:"email"`
	IsStaff     bool       `json:"isStaff"`
	IsActive    bool       `json:"isActive"`
	DateJoined  time.Time  `json:"dateJoined"`
}

// drf writes the user in the server's serializer order; the password is
// write-only.
func (u *v1User) drf(req *request) object {
	return object{}.
		set("username", u.Username).
		set("pk", idNumber(u.ID)).
		set("last_login", req.optionalTime(u.LastLogin)).
		set("is_superuser", u.IsSuperuser).
		set("first_name", u.FirstName).
		set("last_name", u.LastName).
		set("email", u.Email).
		set("is_staff", u.IsStaff).
		set("is_active", u.IsActive).
		set("date_joined", req.time(u.DateJoined))
}

func shapeV1User(status int, path ...string) shaper {
	return func(req *request, data json.RawMessage) (int, any, error) {
		var u v1User
		if err := pickInto(data, &u, path...); err != nil {
			return 0, nil, err
		}
		return status, u.drf(req), nil
	}
}

// shapeV1UserList answers every user the filter keeps: v1users has no
// pagination.
func shapeV1UserList(req *request, data json.RawMessage, sortAfter func([]v1User)) (int, any, error) {
	users, _, err := readUsers[v1User](req, data, 0, -1)
	if err != nil {
		return 0, nil, err
	}
	if sortAfter != nil {
		sortAfter(users)
	}
	out := make([]object, len(users))
	for i := range users {
		out[i] = users[i].drf(req)
	}
	return http.StatusOK, out, nil
}
