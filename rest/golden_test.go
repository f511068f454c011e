package rest_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the answers in rest/testdata/golden from what the gateway answers now")

// TestGolden sends the requests of each file under testdata/golden, in
// order, to a fresh gateway and compares every answer with the file's,
// byte for byte: the status, the headers (all but those that change with
// every request, see unrecorded) and the body exactly as sent, since
// legacy clients see bytes: a reindented body or a trailing newline is a
// different answer. An exchange may also carry the
// seed's documented answer ("--- seed"): the status must be the seed's,
// and the body must have the seed's keys with the seed's JSON types. One
// subtest per file; -update rewrites the answers for a reviewer to read.
//
// A file is a sequence of exchanges:
//
//	# comments
//	>>> METHOD /path?query
//	Header: value          ({admin} in a value is that fixture user's
//	                        token, {signin} the last token an answer gave)
//
//	body, sent as written
//	--- seed STATUS         (optional: the seed's example answer)
//	{ documented body }
//	<<< STATUS
//	Header: value          (each value of each recorded header, by name)
//
//	body                   (the bytes sent, then one newline that ends the
//	                        answer; a body's own final newline shows as an
//	                        empty line before the next ">>> ". Tokens, new
//	                        on every run, are written <token>.)
//
// An answer without a body ends after its headers.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			t.Parallel()
			runGoldenFile(t, file)
		})
	}
}

type exchange struct {
	comment    string
	method     string
	target     string
	header     [][2]string
	body       string
	seedStatus int
	seedLine   string
	seedBody   string
	rules      shapeRules
	answer     string // expected answer, from "<<< " on
}

// shapeRules are where an answer may differ from the seed's documented
// body, each a list of keys written after the seed's status
// ("--- seed 201 nullable=person more=attributes"); "$" is the top level.
type shapeRules struct {
	// nullable: null where the seed shows a value (fields the data model
	// leaves empty: person, phone_number).
	nullable []string
	// more: objects under these keys may have members the seed leaves out
	// (002: "data.attributes object contains more internal attributes").
	more []string
	// strings: a string where the seed shows a number (002's ids, which
	// JSON:API writes as strings).
	strings []string
	// omitted: keys the seed shows that the gateway never answers (a
	// password); the answer must not have them.
	omitted []string
}

// goldenFixtures add what a seed's examples need to the fixture, by the
// file name's first part (002_… for seed 002).
var goldenFixtures = map[string]func(*gateway){"002": jsonapiFixture}

func runGoldenFile(t *testing.T, file string) {
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	header, exchanges := parseGolden(t, string(text))
	g := newGateway(t)
	seed, _, _ := strings.Cut(filepath.Base(file), "_")
	if fixture := goldenFixtures[seed]; fixture != nil {
		fixture(g)
	}
	signin := ""
	var rewritten strings.Builder
	rewritten.WriteString(header)
	for i, x := range exchanges {
		r := g.send(x, signin)
		if tok := tokenIn(r.Body); tok != "" {
			signin = tok
		}
		got := formatAnswer(r)
		if x.seedStatus != 0 {
			if r.Status != x.seedStatus {
				t.Errorf("exchange %d (%s %s): status %d, the seed documents %d", i+1, x.method, x.target, r.Status, x.seedStatus)
			}
			if x.seedBody != "" {
				checkShape(t, fmt.Sprintf("exchange %d (%s %s)", i+1, x.method, x.target), x.seedBody, r.Body, x.rules)
			}
		}
		if seed == "002" && strings.HasPrefix(x.target, "/users") && x.method != "HEAD" {
			for _, problem := range jsonapiAnswerProblems(r) {
				t.Errorf("exchange %d (%s %s): not a JSON:API answer: %s", i+1, x.method, x.target, problem)
			}
		}
		if !*update && got != x.answer {
			t.Errorf("exchange %d (%s %s): %s\n--- want\n%s--- got\n%s", i+1, x.method, x.target, firstDifference(x.answer, got), x.answer, got)
		}
		rewritten.WriteString(x.request())
		rewritten.WriteString(got)
	}
	if *update {
		if err := os.WriteFile(file, []byte(rewritten.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func parseGolden(t *testing.T, text string) (header string, out []exchange) {
	parts := strings.Split(text, "\n>>> ")
	// Splitting took the newline that ends every answer but the last: give
	// it back, so that an answer is compared with exactly the file's bytes.
	for i := range parts[:len(parts)-1] {
		parts[i] += "\n"
	}
	if strings.HasPrefix(text, ">>> ") {
		parts[0] = strings.TrimPrefix(parts[0], ">>> ")
		parts = append([]string{""}, parts...)
	}
	header = parts[0]
	for _, p := range parts[1:] {
		var x exchange
		req, answer, ok := strings.Cut(p, "\n<<< ")
		if !ok {
			answer = ""
		} else {
			answer = "<<< " + answer
		}
		x.answer = answer
		req, seed, hasSeed := strings.Cut(req, "\n--- seed ")
		if hasSeed {
			line, body, _ := strings.Cut(seed, "\n")
			fields := strings.Fields(line)
			n, err := strconv.Atoi(fields[0])
			if err != nil {
				t.Fatalf("bad seed line %q", line)
			}
			x.seedStatus, x.seedBody, x.seedLine = n, strings.TrimSpace(body), strings.TrimSpace(line)
			for _, rule := range fields[1:] {
				name, keys, _ := strings.Cut(rule, "=")
				list := map[string]*[]string{"nullable": &x.rules.nullable, "more": &x.rules.more,
					"strings": &x.rules.strings, "omitted": &x.rules.omitted}[name]
				if list == nil {
					t.Fatalf("bad seed line %q: unknown rule %q", line, name)
				}
				*list = strings.Split(keys, ",")
			}
		}
		line, rest, _ := strings.Cut(req, "\n")
		method, target, _ := strings.Cut(strings.TrimSpace(line), " ")
		x.method, x.target = method, target
		head, body, _ := strings.Cut(rest, "\n\n")
		for _, h := range strings.Split(head, "\n") {
			if h = strings.TrimRight(h, " "); h == "" {
				continue
			}
			k, v, _ := strings.Cut(h, ":")
			x.header = append(x.header, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
		x.body = strings.TrimRight(body, "\n")
		out = append(out, x)
	}
	return header, out
}

// request writes the exchange's request part back, as the file had it.
func (x exchange) request() string {
	var b strings.Builder
	fmt.Fprintf(&b, ">>> %s %s\n", x.method, x.target)
	for _, h := range x.header {
		fmt.Fprintf(&b, "%s: %s\n", h[0], h[1])
	}
	if x.body != "" {
		b.WriteString("\n" + x.body + "\n")
	}
	if x.seedStatus != 0 {
		fmt.Fprintf(&b, "--- seed %s\n", x.seedLine)
		if x.seedBody != "" {
			b.WriteString(x.seedBody + "\n")
		}
	}
	return b.String()
}

var placeholder = regexp.MustCompile(`\{([a-z]+)\}`)

func (g *gateway) send(x exchange, signin string) response {
	g.t.Helper()
	var hdr []string
	hasType := false
	for _, h := range x.header {
		v := placeholder.ReplaceAllStringFunc(h[1], func(m string) string {
			name := m[1 : len(m)-1]
			if name == "signin" {
				return signin
			}
			return g.tokens[name]
		})
		hdr = append(hdr, h[0], v)
		hasType = hasType || strings.EqualFold(h[0], "Content-Type")
	}
	if !hasType {
		// The file says which media type a body has; none means none.
		hdr = append(hdr, "Content-Type", "")
	}
	return g.do(x.method, x.target, "", x.body, hdr...)
}

// unrecorded are the answer headers the files leave out, with the one
// value left out ("" for any): Date and X-Request-Id change with every
// request, and the gateway's CORS middleware, not a dialect, adds Vary:
// Origin to every answer. A Vary a dialect set would be recorded.
var unrecorded = map[string]string{"Date": "", "X-Request-Id": "", "Vary": "Origin"}

// tokenPattern finds a token in a body; its first group is what comes
// before the token's 40 digits, kept as sent when the digits are replaced.
var tokenPattern = regexp.MustCompile(`("token": ?")[0-9a-f]{40}"`)

func tokenIn(body []byte) string {
	m := tokenPattern.Find(body)
	if m == nil {
		return ""
	}
	return string(m[len(m)-41 : len(m)-1])
}

// formatAnswer writes an answer as the files hold it: the status, the
// recorded headers by name, and the body's bytes as sent but for tokens
// (new on every run), written as <token>.
func formatAnswer(r response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<<< %d\n", r.Status)
	for _, name := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[name] {
			if skip, ok := unrecorded[name]; ok && (skip == "" || skip == v) {
				continue
			}
			fmt.Fprintf(&b, "%s: %s\n", name, v)
		}
	}
	if len(r.Body) > 0 {
		b.WriteString("\n" + tokenPattern.ReplaceAllString(string(r.Body), `${1}<token>"`) + "\n")
	}
	return b.String()
}

// firstDifference says where two answers first differ, quoting the bytes
// there, so that a newline or a space that the printed answers hide shows.
func firstDifference(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	quote := func(s string) string { return strconv.Quote(s[i:min(len(s), i+40)]) }
	return fmt.Sprintf("differs at byte %d: want %s, got %s", i, quote(want), quote(got))
}

// checkShape compares an answer with a seed's documented body: the same
// keys, each value of the same JSON type (a documented null stands for any
// value; a list's items are compared with the documented first item).
func checkShape(t *testing.T, where, documented string, got []byte, rules shapeRules) {
	t.Helper()
	var want, have any
	if err := json.Unmarshal([]byte(documented), &want); err != nil {
		t.Fatalf("%s: the seed body is not JSON: %v", where, err)
	}
	if err := json.Unmarshal(got, &have); err != nil {
		t.Errorf("%s: the answer is not JSON: %s", where, got)
		return
	}
	for _, problem := range shapeProblems("$", want, have, rules) {
		t.Errorf("%s: %s", where, problem)
	}
}

func shapeProblems(path string, want, have any, rules shapeRules) []string {
	if want == nil {
		return nil
	}
	key := path[strings.LastIndexByte(path, '.')+1:]
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i] // a list's items go by the list's key
	}
	if have == nil && slices.Contains(rules.nullable, key) {
		return nil
	}
	if _, isText := have.(string); isText && jsonType(want) == "a number" && slices.Contains(rules.strings, key) {
		return nil
	}
	if jsonType(want) != jsonType(have) {
		return []string{fmt.Sprintf("%s is %s, the seed shows %s", path, jsonType(have), jsonType(want))}
	}
	var out []string
	switch w := want.(type) {
	case map[string]any:
		h := have.(map[string]any)
		var keys []string
		for k := range w {
			keys = append(keys, k)
		}
		for k := range h {
			if _, ok := w[k]; !ok && !slices.Contains(rules.more, key) {
				out = append(out, fmt.Sprintf("%s.%s is not in the seed", path, k))
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			hv, ok := h[k]
			switch {
			case slices.Contains(rules.omitted, k):
				if ok {
					out = append(out, fmt.Sprintf("%s.%s is answered; the gateway never answers it", path, k))
				}
				continue
			case !ok:
				out = append(out, fmt.Sprintf("%s.%s is missing", path, k))
				continue
			}
			out = append(out, shapeProblems(path+"."+k, w[k], hv, rules)...)
		}
	case []any:
		h := have.([]any)
		if len(w) > 0 {
			for i := range h {
				out = append(out, shapeProblems(fmt.Sprintf("%s[%d]", path, i), w[0], h[i], rules)...)
			}
		}
	}
	return out
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "?"
}
