package rest

import (
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// queryParam is one name=value pair of a query string.
type queryParam struct{ name, value string }

// queryParams is a query string read as Django's QueryDict reads it (Python's
// parse_qsl with blank values kept): pairs split on "&", "+" is a space,
// percent escapes that do not decode are kept as written, and invalid UTF-8
// becomes U+FFFD. Unlike url.ParseQuery it never fails: DRF answers a
// request with a mangled query string, it does not refuse it.
type queryParams []queryParam

func parseQuery(raw string) queryParams {
	var q queryParams
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		q = append(q, queryParam{pyUnquotePlus(name), pyUnquotePlus(value)})
	}
	return q
}

// get returns the last value of name, as QueryDict's q[name] does.
func (q queryParams) get(name string) (string, bool) {
	for i := len(q) - 1; i >= 0; i-- {
		if q[i].name == name {
			return q[i].value, true
		}
	}
	return "", false
}

// with returns a copy with every value of name replaced by one value
// (DRF's replace_query_param).
func (q queryParams) with(name, value string) queryParams {
	out := q.without(name)
	return append(out, queryParam{name, value})
}

// without returns a copy without name (DRF's remove_query_param).
func (q queryParams) without(name string) queryParams {
	out := make(queryParams, 0, len(q)+1)
	for _, p := range q {
		if p.name != name {
			out = append(out, p)
		}
	}
	return out
}

// encode writes the pairs with their names sorted, each name's values in
// their order, as DRF's links are written (urlencode of sorted parse_qs).
func (q queryParams) encode() string {
	sorted := make(queryParams, len(q))
	copy(sorted, q)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	var b strings.Builder
	for i, p := range sorted {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.value))
	}
	return b.String()
}

// pyUnquotePlus is Python's unquote_plus with errors="replace".
func pyUnquotePlus(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return toValidUTF8(s)
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return toValidUTF8(string(b))
}

func toValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
