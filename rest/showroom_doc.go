package rest

import "net/http"

// showroomDoc documents the showroom dialect's routes for its OpenAPI
// document, with the seed's models (drf-yasg's names and fields); one
// entry per route of the table in showroom.go.
func showroomDoc() *apiDoc {
	routes := map[string]routeDoc{}
	add := func(method, path string, rd routeDoc) { routes[docKey(method, path)] = rd }
	// crud documents a collection's six routes under path.
	crud := func(path, tag, noun, read, write string, query ...queryDoc) {
		one := path + "{id}/"
		add("GET", path, routeDoc{ID: tag + "_list", Tag: tag, Summary: "List " + noun + "s, a page at a time.", Query: append(query, pageQuery...), Status: http.StatusOK, Answer: pageNumberOf(read)})
		add("POST", path, routeDoc{ID: tag + "_create", Tag: tag, Summary: "Create a " + noun + ".", Body: write, Status: http.StatusCreated, Answer: write})
		add("GET", one, routeDoc{ID: tag + "_read", Tag: tag, Summary: "Read a " + noun + ".", Status: http.StatusOK, Answer: read})
		add("PUT", one, routeDoc{ID: tag + "_update", Tag: tag, Summary: "Replace a " + noun + ": every field required.", Body: write, Status: http.StatusOK, Answer: write})
		add("PATCH", one, routeDoc{ID: tag + "_partial_update", Tag: tag, Summary: "Change the fields sent of a " + noun + ".", Body: write, Status: http.StatusOK, Answer: write})
		add("DELETE", one, routeDoc{ID: tag + "_delete", Tag: tag, Summary: "Delete a " + noun + ".", Status: http.StatusNoContent})
	}
	crud("/clients/", "clients", "client", "Client", "Client")
	crud("/codes/", "codes", "mobile operator code (its clients are deleted with it)", "MobileOperatorCode", "MobileOperatorCode")
	crud("/tags/", "tags", "tag (its clients are deleted with it)", "Tag", "Tag")
	mailingFilter := []queryDoc{{"tag", "string", "Keeps mailings that target this tag name."}, {"code", "string", "Keeps mailings that target this operator code."}}
	crud("/mailing/", "mailing", "mailing", "MallingList", "MallingListCreateUpdate", mailingFilter...)
	crud("/malling/", "malling", "mailing (the path the service's code used)", "MallingList", "MallingListCreateUpdate", mailingFilter...)
	add("GET", "/messages/", routeDoc{ID: "messages_list", Tag: "messages", Summary: "List messages, a page at a time.", Query: pageQuery, Status: http.StatusOK, Answer: pageNumberOf("Message")})
	add("GET", "/statistic/", routeDoc{ID: "statistic_list", Tag: "statistic", Summary: "Every mailing with its messages counted by status.", Status: http.StatusOK, Answer: listOf("Statistic")})
	add("GET", "/statistic/{id}/", routeDoc{ID: "statistic_read", Tag: "statistic", Summary: "One mailing's statistics and a page of its messages.", Query: pageQuery, Status: http.StatusOK, Answer: "StatisticDetail"})
	users, user := "/users/", "/users/{username}/"
	add("GET", users, routeDoc{ID: "users_list", Tag: "users", Summary: "List users, a page at a time.", Query: pageQuery, Status: http.StatusOK, Answer: pageNumberOf("User")})
	add("POST", users, routeDoc{ID: "users_create", Tag: "users", Summary: "Create a user; the password is hashed, never shown.", Body: "UserWrite", Status: http.StatusCreated, Answer: "User"})
	add("GET", user, routeDoc{ID: "users_read", Tag: "users", Summary: "Read a user by username.", Status: http.StatusOK, Answer: "User"})
	add("PUT", user, routeDoc{ID: "users_update", Tag: "users", Summary: "Replace a user: username and password required.", Body: "UserWrite", Status: http.StatusOK, Answer: "User"})
	add("PATCH", user, routeDoc{ID: "users_partial_update", Tag: "users", Summary: "Change the fields sent of a user.", Body: "UserWrite", Status: http.StatusOK, Answer: "User"})
	add("DELETE", user, routeDoc{ID: "users_delete", Tag: "users", Summary: "Delete a user.", Status: http.StatusNoContent})
	return &apiDoc{
		Title:       "Showroom API",
		Description: "Test description",
		Version:     "v1",
		Routes:      routes,
		Definitions: showroomDefinitions(),
	}
}

// Schema helpers for the definitions.
func str(title string, maxLength int) map[string]any {
	s := map[string]any{"type": "string", "title": title, "minLength": 1}
	if maxLength > 0 {
		s["maxLength"] = maxLength
	}
	return s
}

func integer(title string) map[string]any { return map[string]any{"type": "integer", "title": title} }

func readOnlyID() map[string]any {
	return map[string]any{"type": "integer", "title": "ID", "readOnly": true}
}

func dateTime(title string, nullable bool) map[string]any {
	s := map[string]any{"type": "string", "format": "date-time", "title": title}
	if nullable {
		s["x-nullable"] = true
	}
	return s
}

func boolean(title string) map[string]any { return map[string]any{"type": "boolean", "title": title} }

func model(required []string, properties map[string]any) map[string]any {
	return map[string]any{"type": "object", "required": required, "properties": properties}
}

func showroomDefinitions() map[string]any {
	strings := map[string]any{"type": "array", "items": map[string]any{"type": "string", "minLength": 1}}
	ids := func(title string) map[string]any {
		return map[string]any{"type": "array", "title": title, "readOnly": true, "uniqueItems": true, "items": map[string]any{"type": "integer"}}
	}
	mailing := map[string]any{
		"id":                      readOnlyID(),
		"start_notification_date": dateTime("Start", false),
		"end_notification_date":   dateTime("End", false),
		"text":                    str("Text", 500),
	}
	writtenMailing := map[string]any{"tags": strings, "codes": strings}
	for k, v := range mailing {
		writtenMailing[k] = v
	}
	userFields := func(withPassword bool) map[string]any {
		u := map[string]any{
			"id":               readOnlyID(),
			"last_login":       map[string]any{"type": "string", "format": "date-time", "title": "Last login", "readOnly": true, "x-nullable": true},
			"is_superuser":     boolean("Superuser status"),
			"username":         map[string]any{"type": "string", "title": "Username", "pattern": `^[\w.@+-]+$`, "maxLength": 150, "minLength": 1},
			"first_name":       map[string]any{"type": "string", "title": "First name", "maxLength": 150},
			"last_name":        map[string]any{"type": "string", "title": "Last name", "maxLength": 150},
			"email":            map[string]any{"type": "string", "format": "email", "title": "Email address", "maxLength": 254},
			"is_staff":         boolean("Staff status"),
			"is_active":        boolean("Active"),
			"date_joined":      map[string]any{"type": "string", "format": "date-time", "title": "Date joined", "readOnly": true},
			"groups":           ids("Groups (read-only here)"),
			"user_permissions": ids("User permissions (read-only here)"),
		}
		if withPassword {
			u["password"] = map[string]any{"type": "string", "title": "Password", "minLength": 1, "maxLength": 4096}
		}
		return u
	}
	counts := model([]string{"New", "Send", "Error"}, map[string]any{
		"New": integer("Not sent yet"), "Send": integer("Sent"), "Error": integer("Failed or expired"),
	})
	statistic := map[string]any{"total": integer("Messages"), "statuses": counts}
	for k, v := range mailing {
		statistic[k] = v
	}
	detail := map[string]any{"messages": pageNumberOf("StatisticMessage")}
	for k, v := range statistic {
		detail[k] = v
	}
	return map[string]any{
		"Client": model([]string{"phone_number", "timezone", "mobile_operator_code", "tag"}, map[string]any{
			"id":                   readOnlyID(),
			"phone_number":         map[string]any{"type": "string", "title": "Phone number", "pattern": "^7[0-9]{10}$", "maxLength": 11, "minLength": 1},
			"timezone":             str("Timezone", 50),
			"mobile_operator_code": integer("Mobile operator code"),
			"tag":                  integer("Tag"),
		}),
		"MobileOperatorCode":      model([]string{"code"}, map[string]any{"id": readOnlyID(), "code": str("Mobile operator code", 50)}),
		"Tag":                     model([]string{"name"}, map[string]any{"id": readOnlyID(), "name": str("Tag", 50)}),
		"MallingList":             model([]string{"start_notification_date", "end_notification_date", "text"}, mailing),
		"MallingListCreateUpdate": model([]string{"tags", "codes", "start_notification_date", "end_notification_date", "text"}, writtenMailing),
		"Message": model([]string{"status", "mailing_list", "client"}, map[string]any{
			"id":           readOnlyID(),
			"send_date":    dateTime("Send date", true),
			"status":       map[string]any{"type": "string", "enum": []string{"New", "Send", "Error"}},
			"mailing_list": integer("Mailing"),
			"client":       integer("Client"),
		}),
		"User":            model([]string{"username"}, userFields(false)),
		"UserWrite":       model([]string{"username", "password"}, userFields(true)),
		"Statistic":       model([]string{"id", "total", "statuses"}, statistic),
		"StatisticDetail": model([]string{"id", "total", "statuses", "messages"}, detail),
		"StatisticMessage": model([]string{"id", "client", "status"}, map[string]any{
			"id": integer("ID"), "client": map[string]any{"type": "integer", "x-nullable": true},
			"status": map[string]any{"type": "string", "enum": []string{"New", "Send", "Error"}}, "send_date": dateTime("Send date", true),
		}),
	}
}
