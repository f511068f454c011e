package rest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/rest"
)

func TestParseMounts(t *testing.T) {
	cases := []struct {
		mounts, zones string
		want          string // dialect=prefix@zone, in seed order
		err           string
	}{
		{"", "", "accounts=/api/users@UTC v1users=/v1/users@UTC jsonapi=/users@UTC showroom=/api/v1/@UTC usermgmt=/api/users/@UTC", ""},
		{"accounts=off", "", "accounts=@UTC v1users=/v1/users@UTC jsonapi=/users@UTC showroom=/api/v1/@UTC usermgmt=/api/users/@UTC", ""},
		{" v1users = /legacy/v1/users , usermgmt=/manage/users/", "usermgmt=Europe/Moscow,showroom=Europe/Moscow", "accounts=/api/users@UTC v1users=/legacy/v1/users@UTC jsonapi=/users@UTC showroom=/api/v1/@Europe/Moscow usermgmt=/manage/users/@Europe/Moscow", ""},
		{"jsonapi=/legacy/users", "jsonapi=Europe/Moscow", "accounts=/api/users@UTC v1users=/v1/users@UTC jsonapi=/legacy/users@Europe/Moscow showroom=/api/v1/@UTC usermgmt=/api/users/@UTC", ""},
		{"showroom2=/api/v2/", "", "", `unknown dialect "showroom2"`},
		{"accounts", "", "", "write dialect=value"},
		{"accounts=api/users", "", "", "a prefix is a path starting with /"},
		{"accounts=/api/{x}", "", "", "a prefix is a path"},
		{"accounts=/a,accounts=/b", "", "", "named twice"},
		{"", "usermgmt=Mars/Olympus", "", "unknown time zone"},
	}
	for _, c := range cases {
		mounts, err := rest.ParseMounts(c.mounts, c.zones)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseMounts(%q, %q): error %v, want %q", c.mounts, c.zones, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseMounts(%q, %q): %v", c.mounts, c.zones, err)
			continue
		}
		var got []string
		for _, m := range mounts {
			zone := "UTC"
			if m.Zone != nil {
				zone = m.Zone.String()
			}
			got = append(got, m.Dialect+"="+m.Prefix+"@"+zone)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("ParseMounts(%q, %q) = %v, want %s", c.mounts, c.zones, got, c.want)
		}
	}
}

// TestMounts: a dialect switched off is not served (its paths are the
// router's 404, or the other dialect's), a moved one is served at its
// new prefix, and a time zone changes how its datetimes are written.
func TestMounts(t *testing.T) {
	g := newGateway(t, withMounts("accounts=off,v1users=/legacy/users", "usermgmt=Europe/Moscow,v1users=America/New_York"))
	cases := []struct {
		method, path string
		status       int
		fragment     string
	}{
		{"GET", "/api/users/66", http.StatusNotFound, ""},
		{"POST", "/api/users/signin", http.StatusNotFound, ""},
		{"GET", "/api/users/66/", http.StatusOK, `"date_joined":"2025-11-05T17:21:05.963000+03:00"`},
		{"GET", "/v1/users/66", http.StatusNotFound, ""},
		{"GET", "/legacy/users/66", http.StatusOK, `"date_joined":"2025-11-05T09:21:05.963000-05:00"`},
		{"GET", "/legacy/users/66/", http.StatusOK, `"pk":66`},
	}
	for _, c := range cases {
		r := g.do(c.method, c.path, "admin", "")
		if r.Status != c.status || !strings.Contains(string(r.Body), c.fragment) {
			t.Errorf("%s %s: %d %s; want %d holding %s", c.method, c.path, r.Status, r.Body, c.status, c.fragment)
		}
	}
}

// TestLinks: next and previous are absolute, built from the request;
// X-Forwarded-Proto and X-Forwarded-Host count only from a trusted proxy.
func TestLinks(t *testing.T) {
	forwarded := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "users.example.com, inner.local"}
	cases := []struct {
		name    string
		proxies []string
		want    string
	}{
		{"no proxy trusted", nil, `"next":"http://testserver/api/users/?limit=5&offset=5"`},
		{"another proxy trusted", []string{"10.0.0.0/8"}, `"next":"http://testserver/api/users/?limit=5&offset=5"`},
		{"the peer trusted", []string{"127.0.0.1", "::1"}, `"next":"https://users.example.com/api/users/?limit=5&offset=5"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newGateway(t, withTrustedProxies(c.proxies...))
			r := g.do("GET", "/api/users/?limit=5", "staff", "", forwarded...)
			if !strings.Contains(string(r.Body), c.want) {
				t.Errorf("%s, want %s", r.Body, c.want)
			}
		})
	}
}
