package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/cmd/gatehouse/explorer"
)

// The explorer is served at /playground, where / sends a browser; its
// assets come from the binary. --playground=false serves neither.
func TestExplorerRoute(t *testing.T) {
	g := newTestGateway(t)
	req, _ := http.NewRequest(http.MethodGet, g.srv.URL+"/", nil)
	redirect, err := g.srv.Client().Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	redirect.Body.Close()
	if redirect.StatusCode != http.StatusFound || redirect.Header.Get("Location") != "/playground" {
		t.Errorf("/: %d to %q", redirect.StatusCode, redirect.Header.Get("Location"))
	}
	resp := g.send(t, http.MethodGet, "/playground", http.Header{}, "", "")
	page := string(resp.Body)
	if resp.Status != http.StatusOK || !strings.Contains(page, "GraphiQL") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("/playground: %d, policy %q", resp.Status, resp.Header.Get("Content-Security-Policy"))
	}
	script := regexp.MustCompile(`src="(/playground/assets/[^"]+/graphiql\.min\.js)"`).FindStringSubmatch(page)
	if script == nil {
		t.Fatal("the page loads no graphiql.min.js of the gateway's")
	}
	asset := g.send(t, http.MethodGet, script[1], http.Header{}, "", "")
	if asset.Status != http.StatusOK || len(asset.Body) < 500_000 {
		t.Errorf("%s: %d, %d bytes", script[1], asset.Status, len(asset.Body))
	}
	// A cache keeps one copy per origin (CORS) and per encoding.
	if vary := strings.Join(asset.Header.Values("Vary"), ", "); !strings.Contains(vary, "Origin") || !strings.Contains(vary, "Accept-Encoding") {
		t.Errorf("%s: Vary %q", script[1], vary)
	}
	if resp := g.send(t, http.MethodGet, "/playground/nothing", http.Header{}, "", ""); resp.Status != http.StatusNotFound {
		t.Errorf("/playground/nothing: %d", resp.Status)
	}

	off := newTestGateway(t, "--playground=false")
	for _, path := range []string{"/", "/playground", script[1], "/playground/licenses"} {
		if resp := off.send(t, http.MethodGet, path, http.Header{}, "", ""); resp.Status != http.StatusNotFound {
			t.Errorf("--playground=false, %s: %d", path, resp.Status)
		}
	}
	off.query(t, "", `{ __typename }`, nil).mustData(t)
}

// The page may open a websocket to the host the browser asked for: the
// request's, or a trusted proxy's X-Forwarded-Host, never an untrusted
// one's.
func TestExplorerPolicyNamesTheRequestedHost(t *testing.T) {
	forwarded := http.Header{"X-Forwarded-Host": {"api.example.com"}}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "ws://127.0.0.1:"},
		{[]string{"--trusted-proxies=127.0.0.1"}, "ws://api.example.com wss://api.example.com"},
	} {
		g := newTestGateway(t, c.args...)
		resp := g.send(t, http.MethodGet, "/playground", forwarded.Clone(), "", "")
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "connect-src 'self' "+c.want) {
			t.Errorf("%v: %q, want %q", c.args, csp, c.want)
		}
		if c.args == nil && strings.Contains(csp, "api.example.com") {
			t.Errorf("an untrusted X-Forwarded-Host is in the policy: %q", csp)
		}
	}
}

// The operation the explorer opens with works for an anonymous visitor,
// whoever may introspect.
func TestExplorerWelcomeWorksSignedOut(t *testing.T) {
	for _, arg := range []string{"--introspection=true", "--introspection=staff", "--introspection=false"} {
		d := newTestGateway(t, arg).query(t, "", explorer.Welcome, nil).mustData(t)
		if d["canSignUp"] != true || d["canSignIn"] != true {
			t.Errorf("%s: %v", arg, d)
		}
	}
}
