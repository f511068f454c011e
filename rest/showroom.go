package rest

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
)

// showroom is seed 003, the "Showroom API v1" notification service (Django
// 3.2, DRF 3.12): operator codes, tags, clients, mailings, their messages
// and statistics, and Django's users looked up by username. Every path
// ends with a slash, and the same path without it is redirected there;
// lists are page-numbered (page, limit). Reading needs a signed-in user,
// writing the matching permission, as GraphQL's rules say.
func showroom() *dialect {
	return &dialect{
		Name: "showroom",
		Seed: "003_3008f51ef30f822f.txt",
		Routes: slices.Concat(
			[]route{
				// clients
				{"GET", "/clients/", op("ShowroomClients"), bindShowroomPage, shapeShowroomPage("clients", showroomClient)},
				{"POST", "/clients/", op("CreateShowroomClient"), bindShowroomClientCreate, shapeShowroomOne(http.StatusCreated, showroomClient, "createClient")},
				{"GET", "/clients/{id}/", op("ShowroomClient"), bindID, shapeShowroomOne(http.StatusOK, showroomClient, "client")},
				{"PUT", "/clients/{id}/", op("UpdateShowroomClient"), bindIDInput(showroomClientInput, false), shapeShowroomOne(http.StatusOK, showroomClient, "updateClient")},
				{"PATCH", "/clients/{id}/", op("UpdateShowroomClient"), bindIDInput(showroomClientInput, true), shapeShowroomOne(http.StatusOK, showroomClient, "updateClient")},
				{"DELETE", "/clients/{id}/", op("DeleteShowroomClient"), bindID, noContent},
				// codes
				{"GET", "/codes/", op("ShowroomCodes"), bindShowroomPage, shapeShowroomPage("operatorCodes", showroomCode)},
				{"POST", "/codes/", op("CreateShowroomCode"), bindShowroomLabel("code", false), shapeShowroomOne(http.StatusCreated, showroomCode, "createOperatorCode")},
				{"GET", "/codes/{id}/", op("ShowroomCode"), bindID, shapeShowroomOne(http.StatusOK, showroomCode, "operatorCode")},
				{"PUT", "/codes/{id}/", op("UpdateShowroomCode"), bindShowroomLabel("code", false), shapeShowroomOne(http.StatusOK, showroomCode, "updateOperatorCode")},
				{"PATCH", "/codes/{id}/", lookUp("ShowroomCodeNow").then("UpdateShowroomCode"), bindShowroomLabel("code", true), shapeShowroomOne(http.StatusOK, showroomCode, "updateOperatorCode")},
				{"DELETE", "/codes/{id}/", op("DeleteShowroomCode"), bindID, noContent},
				// tags
				{"GET", "/tags/", op("ShowroomTags"), bindShowroomPage, shapeShowroomPage("tags", showroomTag)},
				{"POST", "/tags/", op("CreateShowroomTag"), bindShowroomLabel("name", false), shapeShowroomOne(http.StatusCreated, showroomTag, "createTag")},
				{"GET", "/tags/{id}/", op("ShowroomTag"), bindID, shapeShowroomOne(http.StatusOK, showroomTag, "tag")},
				{"PUT", "/tags/{id}/", op("UpdateShowroomTag"), bindShowroomLabel("name", false), shapeShowroomOne(http.StatusOK, showroomTag, "updateTag")},
				{"PATCH", "/tags/{id}/", lookUp("ShowroomTagNow").then("UpdateShowroomTag"), bindShowroomLabel("name", true), shapeShowroomOne(http.StatusOK, showroomTag, "updateTag")},
				{"DELETE", "/tags/{id}/", op("DeleteShowroomTag"), bindID, noContent},
			},
			// mailing, also at the path the service's code used
			showroomMailingRoutes("/mailing/"),
			showroomMailingRoutes("/malling/"),
			[]route{
				// messages
				{"GET", "/messages/", op("ShowroomMessages"), bindShowroomPage, shapeShowroomPage("messages", showroomMessage)},
				// statistic: JSON where the service rendered a PDF
				{"GET", "/statistic/", op("ShowroomStatistics"), bindNothing, shapeShowroomStatistics},
				{"GET", "/statistic/{id}/", op("ShowroomStatistic"), bindShowroomStatistic, shapeShowroomStatistic},
				// users, by username
				{"GET", "/users/", op("ShowroomUsers"), bindShowroomPage, shapeShowroomPage("users", showroomUser)},
				{"POST", "/users/", op("CreateShowroomUser"), bindShowroomUserCreate, shapeShowroomOne(http.StatusCreated, showroomUser, "createUser")},
				{"GET", "/users/{username}/", op("ShowroomUser"), bindUsername, shapeShowroomOne(http.StatusOK, showroomUser, "user")},
				{"PUT", "/users/{username}/", lookUp("ShowroomUserRef").then("ReplaceShowroomUser"), bindShowroomUserChange(false), shapeShowroomOne(http.StatusOK, showroomUser, "replaceUser")},
				{"PATCH", "/users/{username}/", lookUp("ShowroomUserRef").then("UpdateShowroomUser"), bindShowroomUserChange(true), shapeShowroomOne(http.StatusOK, showroomUser, "updateUser")},
				{"DELETE", "/users/{username}/", lookUp("ShowroomUserRef").then("DeleteShowroomUser"), bindNothing, noContent},
			},
		),
		Fields: []string{
			"id", "phone_number", "timezone", "mobile_operator_code", "tag", "code", "name",
			"tags", "codes", "start_notification_date", "end_notification_date", "text",
			"password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
			"is_staff", "is_active", "date_joined", "groups", "user_permissions",
		},
		MethodRules: signedIn,
		Slashes:     slashAppended,
		Documents:   drfJSON,
		Guards: guards{field: schemaGuards.field, user: schemaGuards.user, objects: map[string]string{
			"/clients/{id}/": "AllowedOnClient", "/codes/{id}/": "AllowedOnCode", "/tags/{id}/": "AllowedOnTag",
			"/mailing/{id}/": "AllowedOnMailing", "/malling/{id}/": "AllowedOnMailing", "/statistic/{id}/": "AllowedOnMailing",
		}},
		ViewNames: map[string]string{
			"/clients/": "Client List", "/clients/{id}/": "Client Instance",
			"/codes/": "Mobile Operator Code List", "/codes/{id}/": "Mobile Operator Code Instance",
			"/tags/": "Tag List", "/tags/{id}/": "Tag Instance",
			"/mailing/": "Malling List List", "/mailing/{id}/": "Malling List Instance",
			"/malling/": "Malling List List", "/malling/{id}/": "Malling List Instance",
			"/messages/":  "Message List List",
			"/statistic/": "Statistic List", "/statistic/{id}/": "Statistic Instance",
			"/users/": "User List", "/users/{username}/": "User Instance",
		},
		Reword: showroomErrors,
		Doc:    showroomDoc(),
	}
}

// showroomMailingRoutes are the mailing collection's routes under path.
func showroomMailingRoutes(path string) []route {
	one := path + "{id}/"
	return []route{
		{"GET", path, op("ShowroomMailings"), bindShowroomMailingList, shapeShowroomPage("mailings", showroomMailing)},
		{"POST", path, op("CreateShowroomMailing"), bindShowroomMailingCreate, shapeShowroomOne(http.StatusCreated, showroomMailingWritten, "createMailing")},
		{"GET", one, op("ShowroomMailing"), bindID, shapeShowroomOne(http.StatusOK, showroomMailing, "mailing")},
		{"PUT", one, op("UpdateShowroomMailing"), bindIDInput(showroomMailingInput, false), shapeShowroomOne(http.StatusOK, showroomMailingWritten, "updateMailing")},
		{"PATCH", one, op("UpdateShowroomMailing"), bindIDInput(showroomMailingInput, true), shapeShowroomOne(http.StatusOK, showroomMailingWritten, "updateMailing")},
		{"DELETE", one, op("DeleteShowroomMailing"), bindID, noContent},
	}
}

// bindNothing is the binder of a route that reads nothing from the
// request.
func bindNothing(*request) (variables, error) { return variables{}, nil }

// signedIn is the rule of a method a showroom path lacks: a signed-in
// caller learns that the method is not allowed (405), an anonymous one
// that it must sign in (401).
var signedIn = map[string]string{
	http.MethodGet: "Query.tags", http.MethodOptions: "Query.tags", http.MethodPost: "Query.tags",
	http.MethodPut: "Query.tags", http.MethodPatch: "Query.tags", http.MethodDelete: "Query.tags",
}

// bindShowroomPage reads PageNumberPagination's page and limit; a page
// that is not a whole number from 1 is 404, one past the end is found so
// once the count is known (shapeShowroomPage).
func bindShowroomPage(req *request) (variables, error) {
	p, err := readPageNumber(req.Query())
	if err != nil {
		return nil, err
	}
	return variables{"offset": p.offset(), "limit": min(p.size, listChunk)}, nil
}

// shapeShowroomPage answers a page of the connection field of the route's
// operation, each node written by drf.
func shapeShowroomPage[T any](field string, drf func(*request, *T) object) shaper {
	return func(req *request, data json.RawMessage) (int, any, error) {
		p, err := readPageNumber(req.Query())
		if err != nil {
			return 0, nil, err
		}
		if p.last {
			// The last page is known once the count is: read it now.
			var first nodePage[T]
			if err := pickInto(data, &first, field); err != nil || first.TotalCount == nil {
				return 0, nil, errInvalidPage
			}
			p.page = p.pages(*first.TotalCount)
			vars := maps.Clone(req.vars)
			vars["offset"], vars["limit"] = p.offset(), min(p.size, listChunk)
			req.vars = vars
			if data, err = req.again(vars); err != nil {
				return 0, nil, err
			}
		}
		nodes, total, err := readNodes[T](req, data, field, p.offset(), p.size)
		if err != nil {
			return 0, nil, err
		}
		if p.page > p.pages(total) {
			return 0, nil, errInvalidPage
		}
		results := make([]object, len(nodes))
		for i := range nodes {
			results[i] = drf(req, &nodes[i])
		}
		return http.StatusOK, pageNumberBody(req.HTTP, req.hosts, p, total, results), nil
	}
}

// shapeShowroomOne answers the object at path, written by drf.
func shapeShowroomOne[T any](status int, drf func(*request, *T) object, path ...string) shaper {
	return func(req *request, data json.RawMessage) (int, any, error) {
		var v T
		if err := pickInto(data, &v, path...); err != nil {
			return 0, nil, err
		}
		return status, drf(req, &v), nil
	}
}
