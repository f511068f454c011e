package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/rest"
)

// With --allowed-hosts, absolute links name the request's host only when it
// is one of them, and the first of them otherwise: a request sent with
// Host: evil.example cannot put that host into an answer a cache keeps.
func TestLinksNameOnlyAllowedHosts(t *testing.T) {
	g := newTestGateway(t, "--allowed-hosts=api.example.com,API2.example.com:8443")
	seedUsers(t, g.store, "linked", 3, "!unusable")
	token := g.staff(t, "linker", false)
	for host, want := range map[string]string{
		"evil.example":          "http://api.example.com/api/users?",
		"api2.example.com:8443": "http://api2.example.com:8443/api/users?",
		"api.example.com":       "http://api.example.com/api/users?",
		"api.example.com:9999":  "http://api.example.com/api/users?",
	} {
		req, _ := http.NewRequest(http.MethodGet, g.srv.URL+"/api/users?limit=1", nil)
		req.Host = host
		req.Header.Set("Authorization", "Token "+token)
		r := g.raw(t, req)
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"next":"`+want) && !strings.Contains(string(r.Body), `"next": "`+want) {
			t.Errorf("Host %s: %d %s, want next from %s", host, r.Status, r.Body, want)
		}
	}
}

// Operation names become metric labels only when the gateway knows them:
// the REST dialects' operations, and names signed-in callers send, up to
// the cap. An anonymous caller's names are counted as other, so nobody can
// fill the label slots without an account.
func TestMetricLabelsNameOnlyKnownOperations(t *testing.T) {
	g, _ := newMetricsGateway(t)
	token := g.signUp(t, "labeller", "labeller-pass")
	for i := range 5 {
		g.query(t, "", "query ZzProbe"+string(rune('A'+i))+" { __typename }", nil)
	}
	g.query(t, token, `query MyDashboard { me { id } }`, nil).mustData(t)
	restName := rest.OperationNames()[0]
	g.query(t, "", "query "+restName+" { __typename }", nil)

	families := scrape(t, g)
	for _, m := range families["gatehouse_graphql_operations_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "name" && strings.HasPrefix(l.GetValue(), "ZzProbe") {
				t.Errorf("an anonymous caller's operation name became a label: %s", l.GetValue())
			}
		}
	}
	for name, want := range map[string]float64{"other": 5, "MyDashboard": 1, restName: 1} {
		if got := value(families, "gatehouse_graphql_operations_total", map[string]string{"name": name, "type": "query"}); got != want {
			t.Errorf("operations named %s: %v, want %v", name, got, want)
		}
	}
}
