package auth

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies is the set of peers whose X-Forwarded-For (and, elsewhere,
// X-Forwarded-Proto and -Host) the gateway believes. Anyone can send those
// headers; only a proxy we run appends truthfully to them. The zero value
// trusts nobody, so the client IP is always the connection's peer.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies reads a list of CIDRs ("10.0.0.0/8", "fd00::/8") and
// single addresses ("192.0.2.7"). Blank entries are skipped, so a list split
// from an empty setting trusts nobody. The error names the first bad entry.
func ParseTrustedProxies(entries []string) (TrustedProxies, error) {
	var t TrustedProxies
	for _, e := range entries {
		s := strings.TrimSpace(e)
		if s == "" {
			continue
		}
		p, err := parseProxyEntry(s)
		if err != nil {
			return TrustedProxies{}, fmt.Errorf("trusted proxy %q: not an IP address or CIDR", e)
		}
		t.prefixes = append(t.prefixes, p)
	}
	return t, nil
}

// parseProxyEntry reads one CIDR or address as a prefix. IPv4-mapped IPv6
// forms are turned into IPv4 ones so they match the unmapped addresses
// Trusted compares.
func parseProxyEntry(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a := p.Addr(); a.Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("mapped prefix shorter than /96")
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("zoned address")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Trusted reports whether addr belongs to a trusted proxy. IPv4-mapped IPv6
// addresses count as their IPv4 address, and zones are ignored.
func (t TrustedProxies) Trusted(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client behind r. It is the
// connection's peer unless that peer is a trusted proxy; then X-Forwarded-For
// (all its header lines, in order) is walked from the right, past trusted
// proxies, to the first untrusted address, which is the client as our
// outermost proxy saw it. Entries further left were written by the client
// and are ignored. A malformed entry stops the walk at the last good
// address; if every entry is trusted, the leftmost one is the client. The
// zero Addr means RemoteAddr was not an IP (a Unix socket, say).
func (t TrustedProxies) ClientIP(r *http.Request) netip.Addr {
	client := remoteAddr(r.RemoteAddr)
	if !t.Trusted(client) {
		return client
	}
	entries := forwardedFor(r.Header.Values("X-Forwarded-For"))
	for i := len(entries) - 1; i >= 0; i-- {
		a, ok := parseForwardedAddr(entries[i])
		if !ok {
			break
		}
		client = a
		if !t.Trusted(a) {
			break
		}
	}
	return client
}

// AddressKey names the client an address belongs to, for every limit
// counted per client address: an IPv4 address is its own key, an IPv6
// address counts as its /64. One IPv6 subscriber (a home line, a rented
// host) is routinely given a whole /64 and may send from any of its 2^64
// addresses, so a limit counted per IPv6 address would give that one
// client as many allowances as it likes; a /64 is the smallest block a
// subscriber is given. IPv4-mapped IPv6 addresses count as their IPv4
// address, and zones are ignored. ip must be valid.
func AddressKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		block, _ := ip.Prefix(64) // fails only for a length past the address's bits
		return block.String()
	}
	return ip.String()
}

// Middleware returns a middleware that stores ClientIP(r) in the request's
// context for ClientIPFrom, so that limiters and logs key on the same
// address.
func (t TrustedProxies) Middleware() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(WithClientIP(r.Context(), t.ClientIP(r))))
		})
	}
}

// TrustsPeer tells whether the other end of r's connection is a trusted
// proxy, whose X-Forwarded-* and X-Request-Id headers are believed.
func (t TrustedProxies) TrustsPeer(r *http.Request) bool {
	return t.Trusted(remoteAddr(r.RemoteAddr))
}

// remoteAddr reads http.Request.RemoteAddr ("ip:port", or a bare IP in some
// tests and adapters) as an unmapped, zoneless address.
func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// forwardedFor splits X-Forwarded-For header lines into their entries,
// keeping order: several lines mean the same as one joined by commas.
func forwardedFor(lines []string) []string {
	var entries []string
	for _, l := range lines {
		entries = append(entries, strings.Split(l, ",")...)
	}
	return entries
}

// parseForwardedAddr reads one X-Forwarded-For entry: an address, possibly
// with a port ("192.0.2.1:4711", "[2001:db8::1]:443"), as some proxies write.
// "unknown", obfuscated identifiers and blanks are not addresses.
func parseForwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}
