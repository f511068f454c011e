package auth

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		trusted []string
		not     []string
		errHas  string
	}{
		{name: "nothing trusts nobody", entries: nil, not: []string{"10.0.0.1", "127.0.0.1"}},
		{name: "blank entries are skipped", entries: []string{"", "  "}, not: []string{"10.0.0.1"}},
		{
			name:    "CIDRs and single addresses",
			entries: []string{"10.0.0.0/8", " 192.0.2.7 ", "fd00::/8", "2001:db8::1"},
			trusted: []string{"10.1.2.3", "192.0.2.7", "fd12::5", "2001:db8::1", "::ffff:10.9.9.9", "fd00::1%eth0"},
			not:     []string{"11.0.0.1", "192.0.2.8", "2001:db8::2", "fe00::1"},
		},
		{name: "unmasked CIDR is masked", entries: []string{"10.1.2.3/16"}, trusted: []string{"10.1.200.200"}, not: []string{"10.2.0.1"}},
		{name: "IPv4-mapped CIDR", entries: []string{"::ffff:10.0.0.0/104"}, trusted: []string{"10.3.4.5", "::ffff:10.3.4.5"}, not: []string{"11.0.0.1"}},
		{name: "the whole IPv4-mapped range", entries: []string{"::ffff:0.0.0.0/96"}, trusted: []string{"10.3.4.5", "192.0.2.1"}, not: []string{"2001:db8::1"}},
		{name: "IPv4-mapped CIDR shorter than the mapped range", entries: []string{"::ffff:0.0.0.0/95"}, errHas: `"::ffff:0.0.0.0/95"`},
		{name: "IPv4-mapped address", entries: []string{"::ffff:192.0.2.1"}, trusted: []string{"192.0.2.1"}},
		{name: "hostname", entries: []string{"10.0.0.0/8", "proxy.internal"}, errHas: `"proxy.internal"`},
		{name: "bad prefix length", entries: []string{"10.0.0.0/33"}, errHas: `"10.0.0.0/33"`},
		{name: "address with port", entries: []string{"10.0.0.1:80"}, errHas: `"10.0.0.1:80"`},
		{name: "zoned address", entries: []string{"fe80::1%eth0"}, errHas: `"fe80::1%eth0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := ParseTrustedProxies(tt.entries)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error = %v; want one naming %s", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.trusted {
				if !tp.Trusted(netip.MustParseAddr(s)) {
					t.Errorf("Trusted(%s) = false; want true", s)
				}
			}
			for _, s := range tt.not {
				if tp.Trusted(netip.MustParseAddr(s)) {
					t.Errorf("Trusted(%s) = true; want false", s)
				}
			}
		})
	}
	var zero TrustedProxies
	if zero.Trusted(netip.Addr{}) || zero.Trusted(netip.MustParseAddr("127.0.0.1")) {
		t.Error("the zero TrustedProxies trusts someone")
	}
}

func TestClientIP(t *testing.T) {
	tp, err := ParseTrustedProxies([]string{"10.0.0.0/8", "2001:db8:1::/48"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string // "" for the zero Addr
	}{
		{"untrusted peer, no header", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"untrusted peer forging the header", "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"untrusted peer forging a trusted address", "203.0.113.5:4000", []string{"10.0.0.1"}, "203.0.113.5"},
		{"trusted proxy, no header", "10.0.0.2:4000", nil, "10.0.0.2"},
		{"trusted proxy, one client", "10.0.0.2:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-written entries left of the real one are ignored", "10.0.0.2:4000", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies is skipped", "10.0.0.2:4000", []string{"198.51.100.1, 10.0.0.9, 10.0.0.8"}, "198.51.100.1"},
		{"several header lines read as one list", "10.0.0.2:4000", []string{"1.1.1.1, 198.51.100.1", "10.0.0.9"}, "198.51.100.1"},
		{"malformed rightmost entry falls back to the peer", "10.0.0.2:4000", []string{"198.51.100.1, garbage"}, "10.0.0.2"},
		{"malformed entry after a trusted hop falls back to that hop", "10.0.0.2:4000", []string{"unknown, 10.0.0.9"}, "10.0.0.9"},
		{"malformed entry left of the client does not matter", "10.0.0.2:4000", []string{"garbage, 198.51.100.1"}, "198.51.100.1"},
		{"blank header entry stops the walk", "10.0.0.2:4000", []string{"198.51.100.1,"}, "10.0.0.2"},
		{"all entries trusted: the leftmost", "10.0.0.2:4000", []string{"10.0.0.7, 10.0.0.9"}, "10.0.0.7"},
		{"entry with a port", "10.0.0.2:4000", []string{"198.51.100.1:5555"}, "198.51.100.1"},
		{"IPv6 entry with a port", "10.0.0.2:4000", []string{"[2001:db8:9::1]:443"}, "2001:db8:9::1"},
		{"IPv6 trusted peer", "[2001:db8:1::5]:4000", []string{"2001:db8:9::1"}, "2001:db8:9::1"},
		{"IPv4-mapped trusted peer", "[::ffff:10.0.0.2]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv4-mapped client is unmapped", "10.0.0.2:4000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"bare address as RemoteAddr", "198.51.100.3", nil, "198.51.100.3"},
		{"unix socket peer", "@", []string{"198.51.100.1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got := tp.ClientIP(r); got != want {
				t.Errorf("ClientIP = %v; want %v", got, want)
			}
		})
	}
}

func TestClientIPMiddleware(t *testing.T) {
	tp, err := ParseTrustedProxies([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	var got netip.Addr
	h := tp.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = ClientIPFrom(r.Context())
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.2:1234"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if want := netip.MustParseAddr("198.51.100.1"); got != want {
		t.Errorf("ClientIPFrom in the handler = %v; want %v", got, want)
	}
}

// TrustsPeer judges the connection's other end, never a forwarded address.
func TestTrustsPeer(t *testing.T) {
	tp, err := ParseTrustedProxies([]string{"10.0.0.0/8", "2001:db8:1::/48"})
	if err != nil {
		t.Fatal(err)
	}
	for remote, want := range map[string]bool{
		"10.0.0.2:1234":          true,
		"[::ffff:10.0.0.2]:1234": true,
		"[2001:db8:1::5]:443":    true,
		"10.0.0.2":               true,
		"198.51.100.1:1234":      false,
		"@":                      false,
		"[2001:db8:2::5]:443":    false,
		"not an address at all":  false,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "10.0.0.3")
		if got := tp.TrustsPeer(r); got != want {
			t.Errorf("TrustsPeer with RemoteAddr %q = %v; want %v", remote, got, want)
		}
	}
}

// An IPv6 client counts as its /64, the block one subscriber is given; an
// IPv4 client as its address, whether it arrives mapped or not.
func TestAddressKey(t *testing.T) {
	tests := []struct{ addr, key string }{
		{"203.0.113.9", "203.0.113.9"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	}
	for _, tt := range tests {
		if got := AddressKey(netip.MustParseAddr(tt.addr)); got != tt.key {
			t.Errorf("AddressKey(%s) = %q, want %q", tt.addr, got, tt.key)
		}
	}
}
