package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/graph"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// usermgmt is seed 004, DRF user management: every path with a trailing
// slash; users carry roles (ids) and a phone number; users created here
// have an unusable password until one is set.
func usermgmt() *dialect {
	return &dialect{
		Name: "usermgmt",
		Seed: "004_b809db8ba027fe08.txt",
		Routes: []route{
			// Index: limit, offset, search, field__lookup filters
			{"GET", "/", op("ManagedUsers"), bindManagedUserList, shapeManagedUserPage},
			// Create: username and email required
			{"POST", "/", op("CreateManagedUser"), bindManagedUserCreate, shapeManagedUser(http.StatusCreated, "createUser")},
			// Retrieve
			{"GET", "/{id}/", op("ManagedUser"), bindID, shapeManagedUser(http.StatusOK, "user")},
			// Update: username and email required
			{"PUT", "/{id}/", op("ReplaceManagedUser"), bindManagedUserReplace, shapeManagedUser(http.StatusOK, "replaceUser")},
			// Update, partially
			{"PATCH", "/{id}/", op("UpdateManagedUser"), bindManagedUserUpdate, shapeManagedUser(http.StatusOK, "updateUser")},
			// Destroy
			{"DELETE", "/{id}/", op("DeleteManagedUser"), bindID, noContent},
		},
		Fields:      []string{"id", "roles", "last_login", "username", "first_name", "last_name", "is_active", "date_joined", "phone_number", "email"},
		MethodRules: djangoModelPermissions,
		Guards:      schemaGuards,
		Slashes:     slashAsWritten,
		Documents:   drfJSON,
		ViewNames:   map[string]string{"/": "Managed User List", "/{id}/": "Managed User Instance"},
	}
}

// managedUserFilters are usermgmt's field__lookup parameters: the fields, and
// every lookup the seed lists. The exact lookup is the bare field name, as
// django-filter names it, and also field__exact, since the seed lists
// `exact` among its [field]__[lookup] lookups and its clients send it.
var (
	managedUserFilterFields = []struct{ param, graphql string }{
		{"username", "username"}, {"email", "email"}, {"phone_number", "phoneNumber"},
	}
	managedUserLookups = []struct{ suffix, graphql string }{
		{"", "exact"}, {"__exact", "exact"}, {"__iexact", "iExact"}, {"__contains", "contains"}, {"__icontains", "iContains"},
		{"__startswith", "startsWith"}, {"__istartswith", "iStartsWith"}, {"__endswith", "endsWith"},
		{"__iendswith", "iEndsWith"}, {"__in", "in"}, {"__gt", "gt"}, {"__gte", "gte"}, {"__lt", "lt"}, {"__lte", "lte"},
	}
	// managedUserSearchFields are SearchFilter's search_fields.
	managedUserSearchFields = []string{"username", "email", "firstName", "lastName", "phoneNumber"}
)

// bindManagedUserList reads the page, the filters and the search. Only the
// declared parameters are read, each into a fixed key of the GraphQL
// filter, and every value is a string: ?username[$ne]=x is an unknown
// parameter, so it is ignored, and no value is ever an operator.
func bindManagedUserList(req *request) (variables, error) {
	q := req.Query()
	errs := fault.FieldErrors{}
	filter := map[string]any{}
	// also holds the conditions a field's lookups map has no room for: a
	// second exact value (username=a&username__exact=b), and the search.
	var also []any
	// The filter holds at most graph.MaxFilterValues values: each lookup,
	// each item of an __in list, and five for each search term (one per
	// field searched). The parameter that passes the bound is named.
	values := 0
	tooMany := fmt.Sprintf("The filters and search of a request may hold at most %d values together.", graph.MaxFilterValues)
	count := func(param string, n int) {
		if values <= graph.MaxFilterValues && values+n > graph.MaxFilterValues {
			errs.Add(param, tooMany)
		}
		values += n
	}
	for _, field := range managedUserFilterFields {
		lookups := map[string]any{}
		for _, l := range managedUserLookups {
			param := field.param + l.suffix
			raw, ok := q.get(param)
			if !ok {
				continue
			}
			if l.graphql == "in" {
				if items, ok := csvFilterValue(raw, param, errs); ok {
					lookups["in"] = items
					count(param, len(items))
				}
				continue
			}
			v, ok := charFilterValue(raw, param, errs)
			if !ok {
				continue
			}
			count(param, 1)
			if _, taken := lookups[l.graphql]; taken {
				also = append(also, map[string]any{field.graphql: map[string]any{l.graphql: v}})
				continue
			}
			lookups[l.graphql] = v
		}
		if len(lookups) > 0 {
			filter[field.graphql] = lookups
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if search, _ := q.get("search"); search != "" {
		terms, err := searchTerms(search)
		if err != nil {
			return nil, err
		}
		if values+len(terms)*len(managedUserSearchFields) > graph.MaxFilterValues {
			return nil, fault.Field("search", tooMany)
		}
		also = append(also, terms...)
	}
	if len(also) > 0 {
		filter["and"] = also
	}
	p := readLimitOffset(q)
	vars := variables{"offset": p.graphQLOffset(), "limit": min(p.limit, listChunk)}
	if len(filter) > 0 {
		vars["filter"] = filter
	}
	return vars, nil
}

// charFilterValue is a CharFilter's form field: stripped, an empty value
// filters nothing, a NUL is refused.
func charFilterValue(raw, param string, errs fault.FieldErrors) (string, bool) {
	v := strings.TrimFunc(raw, pyIsSpace)
	if v == "" {
		return "", false
	}
	if strings.ContainsRune(v, 0) {
		errs.Add(param, "Null characters are not allowed.")
		return "", false
	}
	return v, true
}

// csvFilterValue is an `in` lookup's comma-separated list; an empty value
// filters nothing.
func csvFilterValue(raw, param string, errs fault.FieldErrors) ([]any, bool) {
	if raw == "" {
		return nil, false
	}
	parts := strings.Split(raw, ",")
	items := make([]any, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimFunc(p, pyIsSpace)
		if strings.ContainsRune(p, 0) {
			errs.Add(param, "Null characters are not allowed.")
			return nil, false
		}
		items = append(items, p)
	}
	return items, true
}

// searchTerms is DRF's SearchFilter: NULs dropped, commas are spaces,
// every term must appear (case-insensitively) in one of the search fields.
// The terms are the store's search words, within its bounds: past them the
// answer is 400 naming search.
func searchTerms(search string) ([]any, error) {
	search = strings.ReplaceAll(strings.ReplaceAll(search, "\x00", ""), ",", " ")
	words, err := store.SearchWords(search)
	if err != nil {
		return nil, err
	}
	terms := make([]any, 0, len(words))
	for _, term := range words {
		anyField := make([]any, len(managedUserSearchFields))
		for i, f := range managedUserSearchFields {
			anyField[i] = map[string]any{f: map[string]any{"iContains": term}}
		}
		terms = append(terms, map[string]any{"or": anyField})
	}
	return terms, nil
}

// managedUserInput reads usermgmt's writable fields; username and email are
// required unless partial (PATCH).
func managedUserInput(req *request, partial bool) (map[string]any, error) {
	data, err := req.object(parseJSON)
	if err != nil {
		return nil, err
	}
	f := newForm(data)
	input := map[string]any{}
	if v, ok := f.text("username", textRule{required: !partial}); ok {
		input["username"] = *v
	}
	for _, t := range []struct{ json, graphql string }{{"first_name", "firstName"}, {"last_name", "lastName"}} {
		if v, ok := f.text(t.json, optionalText); ok {
			input[t.graphql] = *v
		}
	}
	if v, ok := f.boolean("is_active", false); ok {
		input["isActive"] = *v
	}
	if v, ok := f.text("phone_number", textRule{allowBlank: true, allowNull: true}); ok {
		if v == nil {
			input["phoneNumber"] = nil
		} else {
			input["phoneNumber"] = *v
		}
	}
	if v, ok := f.text("email", textRule{required: !partial}); ok {
		input["email"] = *v
	}
	return input, f.err()
}

var (
	bindManagedUserCreate  = bindInput(managedUserInput)
	bindManagedUserReplace = bindIDInput(managedUserInput, false)
	bindManagedUserUpdate  = bindIDInput(managedUserInput, true)
)

// managedUser is usermgmt's user as GraphQL gives it.
type managedUser struct {
	ID          string     `json:"id"`
	Roles       []ref      `json:"roles"`
	LastLogin   *time.Time `json:"lastLogin"`
	Username    string     `json:"username"`
	FirstName   string     `json:"firstName"`
	LastName    string     `json:"lastName"`
	IsActive    bool       `json:"isActive"`
	DateJoined  time.Time  `json:"dateJoined"`
	PhoneNumber *string    `json:"phoneNumber"`
	Email       string     `json:"email"`
}

func (u *managedUser) drf(req *request) object {
	return object{}.
		set("id", idNumber(u.ID)).
		set("roles", idList(u.Roles)).
		set("last_login", req.optionalTime(u.LastLogin)).
		set("username", u.Username).
		set("first_name", u.FirstName).
		set("last_name", u.LastName).
		set("is_active", u.IsActive).
		set("date_joined", req.time(u.DateJoined)).
		set("phone_number", u.PhoneNumber).
		set("email", u.Email)
}

func shapeManagedUser(status int, path ...string) shaper {
	return func(req *request, data json.RawMessage) (int, any, error) {
		var u managedUser
		if err := pickInto(data, &u, path...); err != nil {
			return 0, nil, err
		}
		return status, u.drf(req), nil
	}
}

func shapeManagedUserPage(req *request, data json.RawMessage) (int, any, error) {
	p := readLimitOffset(req.Query())
	users, total, err := readUsers[managedUser](req, data, p.graphQLOffset(), p.limit)
	if err != nil {
		return 0, nil, err
	}
	results := make([]object, len(users))
	for i := range users {
		results[i] = users[i].drf(req)
	}
	return http.StatusOK, req.page(p, total, results), nil
}
