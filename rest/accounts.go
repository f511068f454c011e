package rest

import (
	"encoding/json"
	"net/http"
)

// accounts is seed 000, a Django accounts service: every path without a
// trailing slash, {id} the user's primary key. Reading needs a signed-in
// user; writing needs staff or the user permission (GraphQL's rules, which
// also let users change their own profile).
func accounts() *dialect {
	return &dialect{
		Name: "accounts",
		Seed: "000_f3362e0d4145251f.txt",
		Routes: []route{
			// 1- Signing up a user
			{"POST", "/signup", op("SignUp"), bindSignUp, shapeAccount(http.StatusCreated, "signUp", "user")},
			// 2- User sign-in: the user, its groups and permissions, and a token
			{"POST", "/signin", op("SignIn"), bindSignIn, shapeSignedIn},
			// 3- Listing users (limit, offset)
			{"GET", "", op("Accounts"), bindPage, shapeAccountPage},
			// 4- Retrieving a user
			{"GET", "/{id}", op("Account"), bindID, shapeAccount(http.StatusOK, "user")},
			// 5- Updating a user: only the fields sent
			{"PUT", "/{id}", op("UpdateAccount"), bindAccountUpdate, shapeAccount(http.StatusOK, "updateUser")},
			// 6- Deleting a user
			{"DELETE", "/{id}", op("DeleteAccount"), bindID, noContent},
			// 7- Listing a user's permissions
			{"GET", "/{id}/permissions", op("AccountPermissions"), bindID, shapePermissionIDs("user")},
			// 8- Adding permissions
			{"PUT", "/{id}/permissions", op("GrantAccountPermissions"), bindPermissionIDs, shapePermissionIDs("grantPermissions")},
			// 9- Removing permissions
			{"DELETE", "/{id}/permissions", op("RevokeAccountPermissions"), bindPermissionIDs, shapePermissionIDs("revokePermissions")},
		},
		Fields:      []string{"id", "first_name", "last_name", "email", "username", "password", "person", "permissions"},
		MethodRules: djangoModelPermissions,
		Guards:      schemaGuards,
		Slashes:     slashAsWritten,
		Documents:   drfJSON,
		ViewNames: map[string]string{
			"": "Account List", "/signup": "Sign Up", "/signin": "Sign In",
			"/{id}": "Account Detail", "/{id}/permissions": "User Permissions",
		},
	}
}

// djangoModelPermissions is DRF's IsAdminUser | DjangoModelPermissions on
// users, as GraphQL's user fields carry it: reading needs a signed-in user,
// adding, changing and deleting the permission (or staff).
var djangoModelPermissions = map[string]string{
	http.MethodGet:     "Query.users",
	http.MethodOptions: "Query.users",
	http.MethodPost:    "Mutation.createUser",
	http.MethodPut:     "Mutation.updateUser",
	http.MethodPatch:   "Mutation.updateUser",
	http.MethodDelete:  "Mutation.deleteUser",
}

// accountText are the text fields of accounts' user, as a ModelSerializer
// derives them from Django's auth.User.
var accountText = []struct {
	json, graphql string
}{{"first_name", "firstName"}, {"last_name", "lastName"}, {"email", "email"}}

func bindSignUp(req *request) (variables, error) {
	data, err := req.object(parseJSON)
	if err != nil {
		return nil, err
	}
	f := newForm(data)
	input := map[string]any{}
	if v, ok := f.text("username", requiredText); ok {
		input["username"] = *v
	}
	if v, ok := f.text("password", requiredText); ok {
		input["password"] = *v
	}
	for _, t := range accountText {
		if v, ok := f.text(t.json, optionalText); ok {
			input[t.graphql] = *v
		}
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return variables{"input": input}, nil
}

// bindSignIn reads DRF's AuthTokenSerializer: the password is taken as
// sent (no trimming), and forms are read as well as JSON.
func bindSignIn(req *request) (variables, error) {
	data, err := req.object(parseJSONOrForm)
	if err != nil {
		return nil, err
	}
	f := newForm(data)
	username, _ := f.text("username", requiredText)
	password, _ := f.text("password", textRule{required: true, keepSpace: true})
	if err := f.err(); err != nil {
		return nil, err
	}
	return variables{"username": *username, "password": *password}, nil
}

func bindPage(req *request) (variables, error) {
	p := readLimitOffset(req.Query())
	return variables{"offset": p.graphQLOffset(), "limit": min(p.limit, listChunk)}, nil
}

// bindID reads the user id of the path; one that cannot be an id is 404,
// as Django's lookup finds nothing.
func bindID(req *request) (variables, error) {
	id, ok := parseID(req.Param("id"))
	if !ok {
		return nil, errNotFound
	}
	return variables{"id": id}, nil
}

// bindAccountUpdate is accounts' PUT: a partial update of the fields sent,
// the password among them.
func bindAccountUpdate(req *request) (variables, error) {
	vars, err := bindID(req)
	if err != nil {
		return nil, err
	}
	data, err := req.object(parseJSON)
	if err != nil {
		return nil, err
	}
	f := newForm(data)
	input := map[string]any{}
	if v, ok := f.text("username", textRule{}); ok {
		input["username"] = *v
	}
	for _, t := range accountText {
		if v, ok := f.text(t.json, optionalText); ok {
			input[t.graphql] = *v
		}
	}
	if v, ok := f.text("password", textRule{}); ok {
		input["password"] = *v
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	vars["input"] = input
	return vars, nil
}

// bindPermissionIDs reads {"permissions": [1, 2, 3]}.
func bindPermissionIDs(req *request) (variables, error) {
	vars, err := bindID(req)
	if err != nil {
		return nil, err
	}
	data, err := req.object(parseJSON)
	if err != nil {
		return nil, err
	}
	f := newForm(data)
	ids, raw, _ := f.pkList("permissions")
	if err := f.err(); err != nil {
		return nil, err
	}
	req.rememberPKs("permissions", ids, raw)
	vars["permissions"] = ids
	return vars, nil
}

// account is accounts' user as GraphQL gives it.
type account struct {
	ID        string `json:"id"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
	Username  string `json:"username"`
	Person    *int64 `json:"person"`
	// Only sign-in asks for these.
	Roles       []ref `json:"roles"`
	Permissions []ref `json:"permissions"`
}

// drf writes the user as accounts' serializer does (the password is
// write-only, and the gateway never has it to show anyway).
func (u *account) drf() object {
	return object{}.
		set("id", idNumber(u.ID)).
		set("first_name", u.FirstName).
		set("last_name", u.LastName).
		set("email", u.Email).
		set("username", u.Username).
		set("person", u.Person)
}

func shapeAccount(status int, path ...string) shaper {
	return func(_ *request, data json.RawMessage) (int, any, error) {
		var u account
		if err := pickInto(data, &u, path...); err != nil {
			return 0, nil, err
		}
		return status, u.drf(), nil
	}
}

// shapeSignedIn is the sample's answer: the user, its groups (roles) and
// direct permissions as ids, and the token.
func shapeSignedIn(_ *request, data json.RawMessage) (int, any, error) {
	var signedIn struct {
		Token string  `json:"token"`
		User  account `json:"user"`
	}
	if err := pickInto(data, &signedIn, "signIn"); err != nil {
		return 0, nil, err
	}
	body := signedIn.User.drf().
		set("groups", idList(signedIn.User.Roles)).
		set("permissions", idList(signedIn.User.Permissions)).
		set("token", signedIn.Token)
	return http.StatusOK, body, nil
}

func shapeAccountPage(req *request, data json.RawMessage) (int, any, error) {
	p := readLimitOffset(req.Query())
	users, total, err := readUsers[account](req, data, p.graphQLOffset(), p.limit)
	if err != nil {
		return 0, nil, err
	}
	results := make([]object, len(users))
	for i := range users {
		results[i] = users[i].drf()
	}
	return http.StatusOK, req.page(p, total, results), nil
}

// shapePermissionIDs answers the user's direct permissions as ids, as the
// service answered listing, adding and removing alike.
func shapePermissionIDs(path ...string) shaper {
	return func(_ *request, data json.RawMessage) (int, any, error) {
		var u struct {
			Permissions []ref `json:"permissions"`
		}
		if err := pickInto(data, &u, path...); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, object{}.set("permissions", idList(u.Permissions)), nil
	}
}
