package rest

// The showroom dialect's users: Django's auth.User by username, every
// field of it but the password, which is write-only (and never shown by
// any dialect).

// showroomUserData is v1users' user with its roles and direct permissions.
type showroomUserData struct {
	v1User
	Roles       []ref `json:"roles"`
	Permissions []ref `json:"permissions"`
}

// showroomUser is UserSerializer (fields '__all__') without the password.
func showroomUser(req *request, u *showroomUserData) object {
	return object{}.
		set("id", idNumber(u.ID)).
		set("last_login", req.optionalTime(u.LastLogin)).
		set("is_superuser", u.IsSuperuser).
		set("username", u.Username).
		set("first_name", u.FirstName).
		set("last_name", u.LastName).
		set("email", u.Email).
		set("is_staff", u.IsStaff).
		set("is_active", u.IsActive).
		set("date_joined", req.time(u.DateJoined)).
		set("groups", idList(u.Roles)).
		set("user_permissions", idList(u.Permissions))
}

// showroomUserInput reads the user's writable fields: username and
// password required unless partial. last_login and date_joined are the
// gateway's to keep, so they are read-only here (DRF ignores what a
// client sends for a read-only field); groups and user_permissions are
// changed through GraphQL (assignRoles, grantPermissions), so a list
// naming any is refused rather than ignored.
func showroomUserInput(req *request, partial bool) (input map[string]any, err error) {
	data, err := req.object(parseJSON)
	if err != nil {
		return nil, err
	}
	f := newForm(data)
	input = map[string]any{}
	if v, ok := f.text("username", textRule{required: !partial}); ok {
		input["username"] = *v
	}
	if v, ok := f.text("password", textRule{required: !partial, keepSpace: true}); ok {
		input["password"] = *v
	}
	for _, t := range []struct{ json, graphql string }{{"first_name", "firstName"}, {"last_name", "lastName"}, {"email", "email"}} {
		if v, ok := f.text(t.json, optionalText); ok {
			input[t.graphql] = *v
		}
	}
	for _, b := range []struct{ json, graphql string }{{"is_superuser", "isSuperuser"}, {"is_staff", "isStaff"}, {"is_active", "isActive"}} {
		if v, ok := f.boolean(b.json, false); ok {
			input[b.graphql] = *v
		}
	}
	for _, field := range []string{"groups", "user_permissions"} {
		if v, ok := f.data[field]; ok && v != nil {
			if list, isList := v.([]any); !isList || len(list) > 0 {
				f.errs.Add(field, "Read-only here: change a user's roles and permissions through GraphQL (assignRoles, grantPermissions).")
			}
		}
	}
	return input, f.err()
}

var bindShowroomUserCreate = bindInput(showroomUserInput)

// bindShowroomUserChange is PUT (username and password required) or
// PATCH; the id comes from the route's lookup of the path's username.
func bindShowroomUserChange(partial bool) binder {
	return func(req *request) (variables, error) {
		input, err := showroomUserInput(req, partial)
		if err != nil {
			return nil, err
		}
		return variables{"input": input}, nil
	}
}

func bindUsername(req *request) (variables, error) {
	return variables{"username": req.pathValue("username")}, nil
}
