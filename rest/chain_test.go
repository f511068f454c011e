package rest_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// TestFailedWriteChangesNothing: a route that changes a profile and a
// password together answers an error for a failure in either, and then
// the stored user is as it was: nothing of the other stays written.
func TestFailedWriteChangesNothing(t *testing.T) {
	long := strings.Repeat("p", 5000)
	const jsonAPI = "application/vnd.api+json"
	cases := []struct {
		name, method, path, body, contentType string
	}{
		{"000 PUT, the password too long", "PUT", "/api/users/66", `{"first_name": "Changed", "password": "` + long + `"}`, ""},
		{"000 PUT, the email bad", "PUT", "/api/users/66", `{"email": "not-an-email", "password": "n3w-pass-word"}`, ""},
		{"001 PUT, the password too long", "PUT", "/v1/users/66", `{"username": "user066", "first_name": "Changed", "password": "` + long + `"}`, ""},
		{"001 PUT, the email bad", "PUT", "/v1/users/66", `{"username": "user066", "email": "not-an-email", "password": "n3w-pass-word"}`, ""},
		{"001 PATCH, the password too long", "PATCH", "/v1/users/66", `{"first_name": "Changed", "password": "` + long + `"}`, ""},
		{"001 PATCH, the email bad", "PATCH", "/v1/users/66", `{"email": "not-an-email", "password": "n3w-pass-word"}`, ""},
		{"002 PATCH, the password too long", "PATCH", "/users/66", `{"data": {"type": "users", "id": "66", "attributes": {"name": "Changed", "password": "` + long + `"}}}`, jsonAPI},
		{"002 PATCH, the email bad", "PATCH", "/users/66", `{"data": {"type": "users", "id": "66", "attributes": {"email": "not-an-email", "password": "n3w-pass-word"}}}`, jsonAPI},
		{"003 PUT, the password too long", "PUT", "/api/v1/users/user066/", `{"username": "user066", "first_name": "Changed", "password": "` + long + `"}`, ""},
		{"003 PUT, the email bad", "PUT", "/api/v1/users/user066/", `{"username": "user066", "email": "not-an-email", "password": "n3w-pass-word"}`, ""},
		{"003 PATCH, the password too long", "PATCH", "/api/v1/users/user066/", `{"first_name": "Changed", "password": "` + long + `"}`, ""},
		{"003 PATCH, the email bad", "PATCH", "/api/v1/users/user066/", `{"email": "not-an-email", "password": "n3w-pass-word"}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t)
			before, beforeHash := storedUser(t, g, 66)
			var header []string
			if c.contentType != "" {
				header = []string{"Content-Type", c.contentType}
			}
			r := g.do(c.method, c.path, "admin", c.body, header...)
			if r.Status != http.StatusBadRequest {
				t.Errorf("answered %d, want 400: %s", r.Status, r.Body)
			}
			after, afterHash := storedUser(t, g, 66)
			if !reflect.DeepEqual(after, before) {
				t.Errorf("the user changed:\n got %+v\nwant %+v", after, before)
			}
			if afterHash != beforeHash {
				t.Error("the password changed")
			}
		})
	}
}

func storedUser(t *testing.T, g *gateway, id store.ID) (store.User, string) {
	t.Helper()
	ctx := context.Background()
	u, err := g.store.UserByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := g.store.PasswordHash(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return *u, hash
}
