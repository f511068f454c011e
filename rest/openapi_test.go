package rest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/rest"
)

// TestOpenAPIDocument: /swagger/?format=openapi answers the showroom
// dialect's Swagger 2.0 document, with no token needed, its base path the
// mount's, every route of the table under paths, and the token scheme.
func TestOpenAPIDocument(t *testing.T) {
	for _, c := range []struct {
		mounts, base string
	}{{"", "/api/v1"}, {"showroom=/showroom/v1/", "/showroom/v1"}} {
		g := newGateway(t, withMounts(c.mounts, ""))
		mounts, err := rest.ParseMounts(c.mounts, "")
		if err != nil {
			t.Fatal(err)
		}
		routes := rest.New(rest.Config{Mounts: mounts}).Routes()
		for _, path := range []string{"/swagger/?format=openapi", "/swagger/"} {
			r := g.do(http.MethodGet, path, "", "")
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", path, r.Status, r.Body)
			}
			doc := r.object(t)
			if doc["swagger"] != "2.0" || doc["basePath"] != c.base || doc["host"] != "testserver" {
				t.Errorf("%s (%s): swagger %v, basePath %v, host %v", path, c.mounts, doc["swagger"], doc["basePath"], doc["host"])
			}
			paths, _ := doc["paths"].(map[string]any)
			for _, rt := range routes {
				if rt.Dialect != "showroom" {
					continue
				}
				item, _ := paths[rt.Path[len(c.base):]].(map[string]any)
				if item[strings.ToLower(rt.Method)] == nil {
					t.Errorf("%s %s is not in the document", rt.Method, rt.Path)
				}
			}
			token, _ := doc["securityDefinitions"].(map[string]any)["Token"].(map[string]any)
			if token["type"] != "apiKey" || token["in"] != "header" || token["name"] != "Authorization" {
				t.Errorf("security definition %v", token)
			}
		}
	}
	g := newGateway(t, withMounts("showroom=off", ""))
	if r := g.do(http.MethodGet, "/swagger/?format=openapi", "", ""); r.Status != http.StatusNotFound {
		t.Errorf("showroom off: /swagger/ answered %d", r.Status)
	}
}
