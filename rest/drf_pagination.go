package rest

import (
	"math"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/gatehouse/gatehouse/auth"
)

// Page sizes of the DRF dialects' LimitOffsetPagination. The seeds do not
// say; 10 is what the DRF peer runs with (PAGE_SIZE), and 100 is the most
// the GraphQL layer answers in one page, so a larger limit is served (and
// linked) as 100.
const (
	drfDefaultLimit = 10
	drfMaxLimit     = 100
)

// limitOffset is a page as DRF's LimitOffsetPagination reads it from the
// query string: a limit that is not a positive integer, or an offset that is
// not a non-negative one, is not an error; the default applies. The offset
// is a Python int, of any size: one past every list reads nothing, and its
// links say it exactly, as DRF's do.
type limitOffset struct {
	limit  int
	offset *big.Int
}

func readLimitOffset(q queryParams) limitOffset {
	p := limitOffset{limit: drfDefaultLimit, offset: new(big.Int)}
	if s, ok := q.get("limit"); ok {
		if n, ok := pyBigInt(s); ok && n.Sign() > 0 {
			p.limit = clampTo(n, drfMaxLimit)
		}
	}
	if s, ok := q.get("offset"); ok {
		if n, ok := pyBigInt(s); ok && n.Sign() >= 0 {
			p.offset = n
		}
	}
	return p
}

// graphQLOffset is the offset as GraphQL's 32-bit Int can carry it; an
// offset past that is past every list anyway.
func (p limitOffset) graphQLOffset() int {
	return clampTo(p.offset, math.MaxInt32)
}

// clampTo is n, or most when n is larger.
func clampTo(n *big.Int, most int) int {
	if n.Cmp(big.NewInt(int64(most))) > 0 {
		return most
	}
	return int(n.Int64())
}

// pageBody is LimitOffsetPagination's answer: count, absolute next and
// previous links (null at the ends), and the results.
func pageBody(r *http.Request, hosts linkHosts, p limitOffset, count int, results any) object {
	return object{}.
		set("count", count).
		set("next", nextLink(r, hosts, p, count)).
		set("previous", previousLink(r, hosts, p)).
		set("results", results)
}

func nextLink(r *http.Request, hosts linkHosts, p limitOffset, count int) any {
	next := new(big.Int).Add(p.offset, big.NewInt(int64(p.limit)))
	if next.Cmp(big.NewInt(int64(count))) >= 0 {
		return nil
	}
	q := parseQuery(r.URL.RawQuery).
		with("limit", strconv.Itoa(p.limit)).
		with("offset", next.String())
	return absoluteURL(r, hosts, q)
}

// previousLink is DRF's: an offset past the end still links back, and the
// first page's link has no offset.
func previousLink(r *http.Request, hosts linkHosts, p limitOffset) any {
	if p.offset.Sign() <= 0 {
		return nil
	}
	q := parseQuery(r.URL.RawQuery).with("limit", strconv.Itoa(p.limit))
	if previous := new(big.Int).Sub(p.offset, big.NewInt(int64(p.limit))); previous.Sign() <= 0 {
		q = q.without("offset")
	} else {
		q = q.with("offset", previous.String())
	}
	return absoluteURL(r, hosts, q)
}

// absoluteURL is Django's build_absolute_uri with the query replaced:
// the scheme and host the client used, which X-Forwarded-Proto and
// X-Forwarded-Host tell only when a trusted proxy sends them.
func absoluteURL(r *http.Request, hosts linkHosts, q queryParams) string {
	u := originURL(r, hosts) + r.URL.EscapedPath()
	if enc := q.encode(); enc != "" {
		u += "?" + enc
	}
	return u
}

// linkHosts decides the host absolute links name.
type linkHosts struct {
	// proxies are believed about X-Forwarded-Proto and X-Forwarded-Host.
	proxies auth.TrustedProxies
	// allowed, when not empty, are the only hosts links may name.
	allowed []string
}

// origin is the scheme and host the client used. With allowed hosts, a
// host that is not one of them (anyone can send any Host header, and a
// cache would keep the answer for everyone) gives way to the first of them.
func origin(r *http.Request, hosts linkHosts) (scheme, host string) {
	scheme, host = "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if hosts.proxies.TrustsPeer(r) {
		if v := firstForwarded(r.Header.Get("X-Forwarded-Proto")); v == "http" || v == "https" {
			scheme = v
		}
		if v := firstForwarded(r.Header.Get("X-Forwarded-Host")); v != "" && validHost(v) {
			host = v
		}
	}
	if len(hosts.allowed) > 0 && !slices.ContainsFunc(hosts.allowed, func(a string) bool { return strings.EqualFold(a, host) }) {
		host = strings.ToLower(hosts.allowed[0])
	}
	return scheme, host
}

// originURL is the origin as a URL prefix, "http://testserver".
func originURL(r *http.Request, hosts linkHosts) string {
	scheme, host := origin(r, hosts)
	return scheme + "://" + host
}

// firstForwarded is the first entry of a forwarded header: what the client
// asked the outermost proxy for.
func firstForwarded(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.ToLower(strings.TrimSpace(first))
}

// validHost keeps a forwarded host to host[:port] characters, so a proxy's
// header cannot put anything else into a link.
func validHost(h string) bool {
	for _, c := range h {
		if !(c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c))) {
			return false
		}
	}
	return true
}

// pyMaxDigits is the most digits Python's int(str) reads; past them it
// raises ValueError, as for any text that is not a number.
const pyMaxDigits = 4300

// pyBigInt reads an integer as Python's int(str) does, of any size it
// reads: surrounding whitespace, a sign, and single underscores between
// digits are allowed.
func pyBigInt(s string) (*big.Int, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	sign := ""
	if s != "" && (s[0] == '+' || s[0] == '-') {
		sign, s = s[:1], s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return nil, false
	}
	digits := strings.ReplaceAll(s, "_", "")
	if len(digits) > pyMaxDigits || strings.IndexFunc(digits, func(c rune) bool { return c < '0' || c > '9' }) >= 0 {
		return nil, false
	}
	return new(big.Int).SetString(sign+digits, 10)
}

// pyInt is pyBigInt for a number that fits an int.
func pyInt(s string) (int, bool) {
	n, ok := pyBigInt(s)
	if !ok || !n.IsInt64() {
		return 0, false
	}
	return int(n.Int64()), true
}

// Page sizes of the showroom dialect's PageNumberPagination: the service's
// default of 5, and GraphQL's largest page as the most.
const (
	drfDefaultPageSize = 5
	drfMaxPageSize     = 100
)

// errInvalidPage is PageNumberPagination's answer to a page that is not a
// number or not in range.
var errInvalidPage = detail(http.StatusNotFound, "Invalid page.")

// pageNumber is a page as DRF's PageNumberPagination reads it, with
// page_size_query_param "limit": a size that is not a positive integer is
// the default; the page must be a whole number from 1 ("last" is the last
// page), which is checked against the count once it is known.
type pageNumber struct {
	page, size int
	last       bool
}

func readPageNumber(q queryParams) (pageNumber, error) {
	p := pageNumber{page: 1, size: drfDefaultPageSize}
	if s, ok := q.get("limit"); ok {
		if n, ok := pyBigInt(s); ok && n.Sign() > 0 {
			p.size = clampTo(n, drfMaxPageSize)
		}
	}
	if s, ok := q.get("page"); ok {
		if s == "last" {
			p.last = true
			return p, nil
		}
		n, ok := pyInt(s)
		if !ok || n < 1 {
			return p, errInvalidPage
		}
		p.page = n
	}
	return p, nil
}

// offset is where the page starts, as GraphQL's 32-bit Int can carry it.
func (p pageNumber) offset() int {
	if p.page-1 > math.MaxInt32/p.size {
		return math.MaxInt32
	}
	return min((p.page-1)*p.size, math.MaxInt32)
}

// pages is Django's Paginator.num_pages: at least one, even when empty.
func (p pageNumber) pages(count int) int {
	return max(1, (count+p.size-1)/p.size)
}

// pageNumberBody is PageNumberPagination's answer: count, absolute next
// and previous links (null at the ends; the first page's link has no
// page), and the results.
func pageNumberBody(r *http.Request, hosts linkHosts, p pageNumber, count int, results any) object {
	var next, previous any
	if p.page < p.pages(count) {
		next = absoluteURL(r, hosts, parseQuery(r.URL.RawQuery).with("page", strconv.Itoa(p.page+1)))
	}
	switch {
	case p.page == 2:
		previous = absoluteURL(r, hosts, parseQuery(r.URL.RawQuery).without("page"))
	case p.page > 2:
		previous = absoluteURL(r, hosts, parseQuery(r.URL.RawQuery).with("page", strconv.Itoa(p.page-1)))
	}
	return object{}.
		set("count", count).
		set("next", next).
		set("previous", previous).
		set("results", results)
}
