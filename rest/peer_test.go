package rest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store/storetest"
)

// TestDRFPeer sends the requests of the accounts and usermgmt golden files
// (000 and 004) to the real Django REST Framework service (testdata/drf,
// the legacy service those dialects replace) and to the gateway, and
// reports where the two differ in status, Allow, keys and JSON types; with
// -update it records the peer's answers and the differences under
// testdata/peer. A difference
// that deliberateDifferences does not name fails it, and so does a named
// exchange that no longer differs.
//
// The test starts the peer itself (testdata/drf/serve.sh on a free port,
// with a temporary data directory) when its Debian packages are installed
// (testdata/drf/install.sh), and skips otherwise, unless
// GATEHOUSE_REQUIRE_DRF_PEER=1, as in CI, makes a missing peer a failure.
// A peer already up is used instead when named:
//
//	GATEHOUSE_DRF_PEER=http://127.0.0.1:28731 GATEHOUSE_DRF_PEER_DATA=/tmp/drfdata \
//	    go test -run TestDRFPeer ./rest/
//
// GATEHOUSE_DRF_PEER_DIR is the peer's directory (default testdata/drf).
// The peer's database is reseeded with the golden files' fixture (same
// usernames, ids and tokens) before each file.
func TestDRFPeer(t *testing.T) {
	if storetest.Engine() == storetest.MongoDB {
		// The gateway answers alike on both engines (TestGolden holds it
		// to the same files on each), so one comparison with the peer,
		// which takes half a minute, says all.
		t.Skip("compared with the peer on the SQLite engine")
	}
	dir := os.Getenv("GATEHOUSE_DRF_PEER_DIR")
	if dir == "" {
		dir = "testdata/drf"
	}
	peer, data := os.Getenv("GATEHOUSE_DRF_PEER"), os.Getenv("GATEHOUSE_DRF_PEER_DATA")
	if peer == "" || data == "" {
		peer, data = startPeer(t, dir)
	}
	tokens := map[string]string{}
	for i, name := range []string{"admin", "staff", "alice", "editor", "inactive"} {
		tokens[name] = fmt.Sprintf("%040x", 0xabc000+i)
	}
	seedPeer(t, dir, data, tokens)
	snapshot, err := os.ReadFile(filepath.Join(data, "db.sqlite3"))
	if err != nil {
		t.Fatal(err)
	}
	checkDocumented(t, deliberateDifferences)
	files, _ := filepath.Glob("testdata/golden/00[04]_*.txt")
	if err := os.MkdirAll("testdata/peer", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(data, "db.sqlite3"), snapshot, 0o644); err != nil {
				t.Fatal(err)
			}
			text, _ := os.ReadFile(file)
			header, exchanges := parseGolden(t, string(text))
			g := newGateway(t)
			var record strings.Builder
			record.WriteString(header)
			record.WriteString("# The DRF peer's answers to this file's requests; \"# differs\" lines say\n" +
				"# where the gateway's differ (dates and tokens aside).\n")
			peerSignin, gwSignin := "", ""
			for i, x := range exchanges {
				pr := sendTo(t, peer, x, func(name string) string {
					if name == "signin" {
						return peerSignin
					}
					return tokens[name]
				})
				gr := g.send(x, gwSignin)
				if tok := tokenIn(pr.Body); tok != "" {
					peerSignin = tok
				}
				if tok := tokenIn(gr.Body); tok != "" {
					gwSignin = tok
				}
				record.WriteString(x.request())
				record.WriteString(strings.Replace(formatAnswer(pr), "<<< ", "<<< peer ", 1))
				if !strings.HasPrefix(x.target, "/api/users") {
					record.WriteString("# not compared: the peer serves 000 and 004 only\n")
					continue
				}
				key := fmt.Sprintf("%s %d", strings.TrimSuffix(filepath.Base(file), ".txt"), i+1)
				why, deliberate := deliberateDifferences[key]
				diffs := differences(pr, gr)
				for _, d := range diffs {
					t.Logf("exchange %d (%s %s): %s", i+1, x.method, x.target, d)
					record.WriteString("# differs: " + d + "\n")
				}
				switch {
				case len(diffs) > 0 && deliberate:
					record.WriteString("# deliberately: " + why + " (docs/rest.md)\n")
				case len(diffs) > 0:
					t.Errorf("exchange %d (%s %s) differs from the peer, and docs/rest.md does not say why", i+1, x.method, x.target)
				case deliberate:
					t.Errorf("exchange %d (%s %s) agrees with the peer now: drop %q from deliberateDifferences", i+1, x.method, x.target, key)
				}
			}
			if !*update {
				return
			}
			out := filepath.Join("testdata/peer", filepath.Base(file))
			if err := os.WriteFile(out, []byte(record.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// deliberateDifferences are the exchanges (golden file, exchange number)
// where the gateway answers otherwise than the peer on purpose, each with
// the title of the docs/rest.md bullet that says why.
var deliberateDifferences = map[string]string{
	"000_1_signup 2":       "Field errors in two rounds",
	"000_1_signup 5":       "Ids",
	"000_2_signin 4":       "Permission ids",
	"000_5_update 10":      "Self-service",
	"000_7_permissions 6":  "Who holds what is private",
	"000_8_errors 2":       "Bearer tokens",
	"000_8_errors 6":       "Bearer tokens",
	"000_8_errors 20":      "OPTIONS",
	"000_10_inactive 6":    "Tokens stay revoked",
	"000_11_bounds 3":      "Page size",
	"004_bounds 2":         "Bounds of a list's query",
	"004_bounds 3":         "Bounds of a list's query",
	"004_bounds 5":         "Bounds of a list's query",
	"004_bounds 7":         "Bounds of a list's query",
	"004_bounds 8":         "Bounds of a list's query",
	"004_bounds 14":        "Page size",
	"004_bounds 15":        "Page size",
	"004_create_400 3":     "Email uniqueness",
	"004_errors 1":         "Bearer tokens",
	"004_inactive 5":       "Tokens stay revoked",
	"004_index 11":         "Page size",
	"004_index_exact 1":    "`field__exact`",
	"004_index_exact 3":    "`field__exact`",
	"004_index_exact 4":    "`field__exact`",
	"004_index_exact 5":    "`field__exact`",
	"004_partial_update 5": "Self-service",
	"004_update 6":         "Staff decide staff",
}

// checkDocumented fails for a reason docs/rest.md has no bullet for.
func checkDocumented(t *testing.T, reasons map[string]string) {
	doc, err := os.ReadFile("../docs/rest.md")
	if err != nil {
		t.Fatal(err)
	}
	for key, title := range reasons {
		if !strings.Contains(string(doc), "\n- **"+title) {
			t.Errorf("%s: docs/rest.md has no bullet %q", key, title)
		}
	}
}

// peerPython is the interpreter the peer runs on: Debian's, where its
// packages are, unless PYTHON names another (as serve.sh reads it).
func peerPython() string {
	if py := os.Getenv("PYTHON"); py != "" {
		return py
	}
	return "/usr/bin/python3"
}

// startPeer starts the peer in dir on a free port with a new data
// directory, waits until it answers, and stops it when the test ends. It
// returns the peer's address and data directory. Without the peer's
// packages it skips the test, or fails it when GATEHOUSE_REQUIRE_DRF_PEER
// is 1.
func startPeer(t *testing.T, dir string) (base, data string) {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		if os.Getenv("GATEHOUSE_REQUIRE_DRF_PEER") == "1" {
			t.Fatalf("GATEHOUSE_REQUIRE_DRF_PEER=1, but %s", why)
		}
		t.Skipf("%s; run %s/install.sh as root, or name a running peer with GATEHOUSE_DRF_PEER and GATEHOUSE_DRF_PEER_DATA", why, dir)
	}
	check := exec.Command(peerPython(), "-c", "import django, rest_framework, django_filters, gunicorn")
	if out, err := check.CombinedOutput(); err != nil {
		missing(strings.TrimSpace(fmt.Sprintf("the DRF peer's packages are missing: %v %s", err, out)))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	data = t.TempDir()
	log, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	output := func() string {
		b, _ := os.ReadFile(log.Name())
		return string(b)
	}
	cmd := exec.Command(filepath.Join(dir, "serve.sh"), strconv.Itoa(port), data)
	// Python's bytecode caches stay out of the repository's tree.
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		missing(fmt.Sprintf("the DRF peer does not start: %v", err))
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// serve.sh becomes gunicorn's master, which stops its workers on
	// SIGTERM.
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	// A first start migrates a new database before gunicorn listens: allow
	// a loaded machine a generous while.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if resp, err := http.Get(base + "/api/users"); err == nil {
			resp.Body.Close()
			return base, data
		}
		select {
		case err := <-exited:
			t.Fatalf("the DRF peer exited before answering: %v\n%s", err, output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the DRF peer did not answer on %s within 2 minutes\n%s", base, output())
		}
	}
}

// seedPeer makes the peer's users those of the golden fixture, with the
// given tokens.
func seedPeer(t *testing.T, dir, data string, tokens map[string]string) {
	script := `
from django.contrib.auth.models import User, Permission
from rest_framework.authtoken.models import Token
from users.models import Person
User.objects.all().delete()
# SQLite's AUTOINCREMENT remembers the ids earlier runs handed out: start
# afresh, so that users and persons are 1 to 66 and the next user is 67,
# as on the gateway.
from django.db import connection
connection.cursor().execute("UPDATE sqlite_sequence SET seq = 0 WHERE name IN ('auth_user', 'users_person')")
special = {
  1: dict(username="admin", email="admin@example.com", is_staff=True, is_superuser=True),
  2: dict(username="staff", email="staff@example.com", first_name="Stella", last_name="Staff", is_staff=True),
  3: dict(username="alice", email="alice@example.com", first_name="Alice", last_name="Liddell"),
  4: dict(username="editor", email="editor@example.com"),
  5: dict(username="inactive", email="inactive@example.com", is_active=False),
  8: dict(username="mike", email="hello@world.com"),
}
for i in range(1, 67):
    spec = dict(special.get(i, dict(username="user%03d" % i, email="user%03d@example.com" % i)))
    u = User(id=i, **spec)
    u.set_password("` + testPassword + `")
    u.save()
Person.objects.filter(user_id=8).update(phone_number="1234567890")
User.objects.get(username="editor").user_permissions.add(Permission.objects.get(codename="change_user", content_type__app_label="auth"))
`
	for name, key := range tokens {
		script += fmt.Sprintf("Token.objects.create(key=%q, user=User.objects.get(username=%q))\n", key, name)
	}
	cmd := exec.Command(peerPython(), "manage.py", "shell", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DRF_DATA="+data, "DJANGO_SETTINGS_MODULE=origin.settings", "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("seed the peer: %v\n%s", err, out)
	}
}

func sendTo(t *testing.T, base string, x exchange, token func(string) string) response {
	var body io.Reader
	if x.body != "" {
		body = strings.NewReader(x.body)
	}
	req, err := http.NewRequest(x.method, base+x.target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "testserver"
	for _, h := range x.header {
		req.Header.Set(h[0], placeholder.ReplaceAllStringFunc(h[1], func(m string) string { return token(m[1 : len(m)-1]) }))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

var dateLike = regexp.MustCompile(`\d{4}-\d\d-\d\dT[0-9:.]+Z`)

// differences names what a legacy client would see differ: the status,
// Allow, and the body's keys and types (values of ids, dates and tokens
// differ between two databases and are not compared), and the exact text
// of error bodies.
func differences(peer, gw response) []string {
	var out []string
	if peer.Status != gw.Status {
		return []string{fmt.Sprintf("status: peer %d %s, gateway %d %s", peer.Status, short(compact(peer.Body)), gw.Status, short(compact(gw.Body)))}
	}
	if a, b := peer.Header.Get("Allow"), gw.Header.Get("Allow"); a != b {
		out = append(out, fmt.Sprintf("Allow: peer %q, gateway %q", a, b))
	}
	var p, g any
	pErr, gErr := json.Unmarshal(peer.Body, &p), json.Unmarshal(gw.Body, &g)
	switch {
	case len(peer.Body) == 0 && len(gw.Body) == 0:
	case pErr != nil || gErr != nil:
		out = append(out, fmt.Sprintf("body: peer %q, gateway %q", peer.Body, gw.Body))
	case peer.Status >= 400 && peer.Status == gw.Status:
		if !bytes.Equal(compact(peer.Body), compact(gw.Body)) {
			out = append(out, fmt.Sprintf("error body: peer %s, gateway %s", compact(peer.Body), compact(gw.Body)))
		}
	default:
		for _, s := range shapeDiff("$", p, g) {
			out = append(out, s)
		}
	}
	return out
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func shapeDiff(path string, p, g any) []string {
	if jsonType(p) != jsonType(g) {
		return []string{fmt.Sprintf("%s: peer %s %s, gateway %s %s", path, jsonType(p), short(p), jsonType(g), short(g))}
	}
	var out []string
	switch pv := p.(type) {
	case map[string]any:
		gv := g.(map[string]any)
		keys := map[string]bool{}
		for k := range pv {
			keys[k] = true
		}
		for k := range gv {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			pi, pok := pv[k]
			gi, gok := gv[k]
			switch {
			case !pok:
				out = append(out, fmt.Sprintf("%s.%s: only the gateway has it", path, k))
			case !gok:
				out = append(out, fmt.Sprintf("%s.%s: only the peer has it", path, k))
			default:
				out = append(out, shapeDiff(path+"."+k, pi, gi)...)
			}
		}
	case []any:
		gv := g.([]any)
		if len(pv) != len(gv) {
			out = append(out, fmt.Sprintf("%s: peer %d items, gateway %d", path, len(pv), len(gv)))
		}
		for i := 0; i < min(len(pv), len(gv)); i++ {
			out = append(out, shapeDiff(fmt.Sprintf("%s[%d]", path, i), pv[i], gv[i])...)
		}
	case string:
		gs := g.(string)
		if pv != gs && !(dateLike.MatchString(pv) && dateLike.MatchString(gs)) && !strings.HasPrefix(path, "$.token") {
			out = append(out, fmt.Sprintf("%s: peer %q, gateway %q", path, pv, gs))
		}
	case float64:
		if pv != g.(float64) {
			out = append(out, fmt.Sprintf("%s: peer %v, gateway %v", path, pv, g))
		}
	case bool:
		if pv != g.(bool) {
			out = append(out, fmt.Sprintf("%s: peer %v, gateway %v", path, pv, g))
		}
	}
	return out
}

func short(v any) string {
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	if len(b) > 60 {
		b = append(b[:60], "…"...)
	}
	return string(b)
}
