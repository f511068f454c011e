package main

// The program as a user runs it: run(ctx, args, getenv, stdin, stdout,
// stderr) with serve, migrate and createsuperuser, on the embedded store in
// a data directory of the test's own. Covers hardening.md's "slow headers
// (Slowloris)" and "SIGTERM with requests in flight" (Transport), and "store
// unreachable at start" (Store faults).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/graph"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest/wire"
)

// logWatch is a writer for JSON logs that lets a test wait for a line.
type logWatch struct {
	mu      sync.Mutex
	partial []byte
	lines   []map[string]any
	text    bytes.Buffer
	changed chan struct{} // closed, and replaced, at every new line
}

func newLogWatch() *logWatch { return &logWatch{changed: make(chan struct{})} }

func (l *logWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.text.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		var m map[string]any
		if json.Unmarshal(l.partial[:i], &m) == nil {
			l.lines = append(l.lines, m)
		}
		l.partial = l.partial[i+1:]
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

// wait returns the first line whose msg is msg, waiting up to d for it.
func (l *logWatch) wait(t testing.TB, msg string, d time.Duration) map[string]any {
	t.Helper()
	timeout := time.After(d)
	for {
		l.mu.Lock()
		for _, line := range l.lines {
			if line["msg"] == msg {
				l.mu.Unlock()
				return line
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("no %q log line within %v; logs:\n%s", msg, d, l.String())
		}
	}
}

func (l *logWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.String()
}

func noEnv(string) string { return "" }

// running is a serve started through run.
type running struct {
	addr string
	base string
	logs *logWatch
	stop context.CancelFunc
	done chan error
}

// startServe runs serve on 127.0.0.1:0 with the data directory dir, and
// returns once /readyz answers 200.
func startServe(t *testing.T, dir string, args ...string) *running {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	r := &running{logs: newLogWatch(), stop: stop, done: make(chan error, 1)}
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--log-format", "json"}, args...)
	go func() { r.done <- run(ctx, args, noEnv, strings.NewReader(""), r.logs, io.Discard) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s of its context's end")
		}
	})

	r.addr, _ = r.logs.wait(t, "listening", 60*time.Second)["addr"].(string)
	r.base = "http://" + r.addr
	if err := waitReady(r.base, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitReady waits until a gateway at base answers /readyz with 200.
func waitReady(base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/readyz not 200 within %v (%v)", within, err)
		}
		time.Sleep(20 * time.Millisecond) // a poll with a deadline
	}
}

// graphql posts a GraphQL operation to a running serve.
func (r *running) graphql(t *testing.T, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, r.base+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	return doGraphQL(t, req)
}

// doGraphQL is testGateway.do for a server that is not a testGateway.
func doGraphQL(t testing.TB, req *http.Request) gqlResponse {
	t.Helper()
	return doGraphQLWith(t, http.DefaultClient, req)
}

const signInQuery = `mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { token user { id } } }`

// Transport: "slow headers (Slowloris) → connection closed after the header
// timeout; other clients unaffected". The read timeout is set far beyond
// the wait, so only the header timeout can close the connection within it,
// and the wait can be generous.
func TestSlowHeadersAreCutOff(t *testing.T) {
	t.Parallel() // mostly waiting: let it overlap the other waiters
	srv := startServe(t, t.TempDir(), "--read-header-timeout=300ms", "--read-timeout=1h")
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	// A header line a byte every 50ms, never finished.
	go func() {
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: gatehouse\r\nX-Slow: "); err != nil {
			return
		}
		for {
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond) // the attacker's pace
		}
	}()

	// Meanwhile another client is served.
	resp, err := http.Get(srv.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("another client: %d", resp.StatusCode)
	}

	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := conn.Read(make([]byte, 1024))
	elapsed := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the slow connection was still open after %v", elapsed)
	}
	if n > 0 {
		// Go may answer 408 before hanging up; that is a cut-off too.
		t.Logf("the server answered %d bytes before closing", n)
	}
	if elapsed < 250*time.Millisecond {
		t.Errorf("closed after %v, before the header timeout", elapsed)
	}
}

// Transport: "SIGTERM with requests in flight → listener closes, in-flight
// requests finish within the grace period, exit 0". The request is held in
// flight by its body: the handler is reading it (the server sent 100
// Continue) when the context ends. Then the store is closed: a new serve on
// the same data directory starts and finds the user.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel() // mostly waiting: let it overlap the other waiters
	dir := t.TempDir()
	srv := startServe(t, dir, "--log-level=debug")
	srv.graphql(t, "", `mutation { signUp(input: {username: "henry", password: "pw-henry"}) { token } }`, nil).mustData(t)
	storeFile, _ := srv.logs.wait(t, "using the embedded store (SQLite); set MONGODB_URI for MongoDB", time.Second)["file"].(string)

	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	body, _ := json.Marshal(map[string]any{"query": signInQuery, "variables": map[string]any{"u": "henry", "p": "pw-henry"}})
	fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: gatehouse\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", len(body))
	br := bufio.NewReader(conn)
	cont, err := http.ReadResponse(br, nil)
	if err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue: %v %v", cont, err)
	}

	srv.stop() // what SIGTERM does to main's context
	srv.logs.wait(t, "shutting down", 15*time.Second)
	// The listener closes while the request is still in flight (the grace
	// period, 20s, outlasts this wait).
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 15s into the shutdown")
		}
		time.Sleep(10 * time.Millisecond) // a poll with a deadline
	}
	select {
	case err := <-srv.done:
		t.Fatalf("run returned (%v) with a request in flight", err)
	default:
	}

	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"token":"`) {
		t.Fatalf("the in-flight sign-in: %d %s", resp.StatusCode, raw)
	}

	select {
	case err := <-srv.done:
		if err != nil {
			t.Fatalf("run returned %v, want nil", err)
		}
		srv.done <- nil // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after its last request")
	}
	srv.logs.wait(t, "stopped", time.Second)

	// The embedded store was closed with the process: its write-ahead log
	// is checkpointed into the file, and the next run on the directory has
	// the user.
	if _, err := os.Stat(storeFile + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the write-ahead log of %s is still there after run returned: %v", storeFile, err)
	}
	again := startServe(t, dir)
	again.graphql(t, "", signInQuery, map[string]any{"u": "henry", "p": "pw-henry"}).mustData(t)
}

// Store faults: "store unreachable at start → clear error within the
// server-selection timeout". Two serves start side by side against the
// same dead address, one with a store timeout of 500ms and one of 4s: the
// first gives up first, whatever the load on the machine, which an
// absolute ceiling cannot promise.
func TestUnreachableStoreAtStart(t *testing.T) {
	t.Parallel() // mostly waiting: let it overlap the other waiters
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	serve := func(timeout string) <-chan error {
		done := make(chan error, 1)
		go func() {
			done <- run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--mongodb-uri", "mongodb://" + addr + "/?directConnection=true",
				"--store-timeout", timeout, "--log-format", "json"}, noEnv, strings.NewReader(""), io.Discard, io.Discard)
		}()
		return done
	}
	short, long := serve("500ms"), serve("4s")
	unavailable := func(which string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("serve with a %s store timeout started without a store", which)
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("error %v, want one that says the store is unavailable", err)
		}
	}
	select {
	case err := <-short:
		unavailable("500ms", err)
		unavailable("4s", <-long)
	case err := <-long:
		t.Errorf("the serve with a 4s store timeout gave up first (%v)", err)
		<-short
	}
}

func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "--data", dir, "--log-format", "json"}, noEnv, strings.NewReader(""), &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), `migrated database "gatehouse": collections [`) || !strings.Contains(stdout.String(), "users") {
		t.Errorf("stdout %q", stdout.String())
	}
	// Twice is fine: migrating is idempotent.
	stdout.Reset()
	if err := run(context.Background(), []string{"migrate", "--data", dir, "--log-format", "json"}, noEnv, strings.NewReader(""), &stdout, io.Discard); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}

// A data directory the FerretDB-era gateway wrote is imported at the first
// start of this version (here, by migrate): its users keep their ids and
// password hashes, and sign in as before.
func TestFerretDBDataDirectoryIsImported(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	srv, err := wire.Start(ctx, dir) // writes <dir>/gatehouse.sqlite, as that version did
	if err != nil {
		t.Fatal(err)
	}
	old, err := store.Open(ctx, store.Config{MongoURI: srv.URI(), Database: "gatehouse"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	hasher := auth.NewHasher(1)
	hash, err := hasher.Hash(ctx, "veteran-pw")
	if err != nil {
		t.Fatal(err)
	}
	u, err := old.CreateUser(ctx, store.NewUser{Username: "veteran", PasswordHash: hash, Email: "v@example.com", IsActive: true})
	_ = old.Close(ctx)
	_ = srv.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if err := run(ctx, []string{"migrate", "--data", dir, "--log-format", "json"}, noEnv, strings.NewReader(""), io.Discard, &logs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "imported the data of the FerretDB-era embedded store") {
		t.Errorf("no import logged: %s", logs.String())
	}
	s := openDataDir(t, dir)
	got, gotHash, err := s.UserCredentials(ctx, "veteran")
	if err != nil || got.ID != u.ID || got.Email != "v@example.com" || !got.DateJoined.Equal(u.DateJoined) {
		t.Fatalf("after the import: %+v %v", got, err)
	}
	if ok, _, err := hasher.Verify(ctx, gotHash, "veteran-pw"); err != nil || !ok {
		t.Errorf("the imported hash does not check: %v %v", ok, err)
	}
	// The next user continues the imported counter.
	next, err := s.CreateUser(ctx, store.NewUser{Username: "newcomer", IsActive: true})
	if err != nil || next.ID != u.ID+1 {
		t.Errorf("next user: %+v %v", next, err)
	}
}

// openDataDir opens the store in an embedded data directory, as serve would.
func openDataDir(t *testing.T, dir string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DataDir: dir, Database: "gatehouse"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	return s
}

func TestCreateSuperuser(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	createsuperuser := func(username, envPassword string, stdin io.Reader) (string, error) {
		var stdout bytes.Buffer
		env := func(k string) string {
			if k == "GATEHOUSE_SUPERUSER_PASSWORD" {
				return envPassword
			}
			return ""
		}
		err := run(ctx, []string{"createsuperuser", "--username", username, "--email", username + "@example.com", "--data", dir, "--log-format", "json"},
			env, stdin, &stdout, io.Discard)
		return stdout.String(), err
	}

	out, err := createsuperuser("admin", "env-password", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if out != "Superuser \"admin\" created (id 1).\n" {
		t.Errorf("stdout %q", out)
	}
	// The same username again is refused, by name.
	if _, err := createsuperuser("admin", "other-password", strings.NewReader("")); err == nil || !strings.Contains(err.Error(), `"admin"`) {
		t.Errorf("a second admin: %v", err)
	}
	// With no variable, the password is the first line of a stdin that is
	// not a terminal.
	if _, err := createsuperuser("root", "", strings.NewReader("stdin-password\nsecond line\n")); err != nil {
		t.Fatal(err)
	}
	// With neither, nothing is created.
	if _, err := createsuperuser("nobody", "", strings.NewReader("")); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_SUPERUSER_PASSWORD") {
		t.Errorf("no password anywhere: %v", err)
	}

	s := openDataDir(t, dir)
	hasher := auth.NewHasher(1)
	for username, password := range map[string]string{"admin": "env-password", "root": "stdin-password"} {
		u, hash, err := s.UserCredentials(ctx, username)
		if err != nil {
			t.Fatalf("%s: %v", username, err)
		}
		if !u.IsActive || !u.IsStaff || !u.IsSuperuser || u.Email != username+"@example.com" {
			t.Errorf("%s: %+v", username, u)
		}
		if ok, _, err := hasher.Verify(ctx, hash, password); !ok || err != nil {
			t.Errorf("%s: the password does not verify (%v)", username, err)
		}
		if ok, _, _ := hasher.Verify(ctx, hash, password+"\n"); ok {
			t.Errorf("%s: the password kept its newline", username)
		}
	}
	if _, err := s.UserByUsername(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("nobody: %v", err)
	}
}

// A superuser made by createsuperuser signs in through serve.
func TestCreatedSuperuserSignsIn(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		if k == "GATEHOUSE_SUPERUSER_PASSWORD" {
			return "s3cret-admin"
		}
		return ""
	}
	if err := run(context.Background(), []string{"createsuperuser", "--username", "admin", "--data", dir, "--log-format", "json"},
		env, strings.NewReader(""), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, dir)
	token := dig(srv.graphql(t, "", signInQuery, map[string]any{"u": "admin", "p": "s3cret-admin"}).mustData(t), "signIn", "token").(string)
	me := srv.graphql(t, token, `{ me { username isStaff isSuperuser } }`, nil).mustData(t)
	if fmt.Sprint(me["me"]) != "map[isStaff:true isSuperuser:true username:admin]" {
		t.Errorf("me %v", me)
	}
}

// Configuration: "every flag has an environment variable; a flag given on
// the command line wins over the variable" (README), for every flag serve
// defines, whatever flags are added later.
func TestFlagsAndEnvironment(t *testing.T) {
	parse := func(env map[string]string, args ...string) config {
		t.Helper()
		cfg := config{}
		if err := parseFlags("serve", args, func(k string) string { return env[k] }, io.Discard, cfg.serveFlags); err != nil {
			t.Fatalf("env %v, args %v: %v", env, args, err)
		}
		return cfg
	}
	defaults := parse(nil)

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	(&config{}).serveFlags(fs, envBinder{getenv: noEnv, errs: new([]error)})
	twin := regexp.MustCompile(`\[([A-Z][A-Z0-9_]*)\]$`)
	fs.VisitAll(func(f *flag.Flag) {
		m := twin.FindStringSubmatch(f.Usage)
		if m == nil {
			t.Errorf("--%s names no environment variable in its usage: %q", f.Name, f.Usage)
			return
		}
		env := m[1]
		// Two values, each unlike the default where the type allows.
		a, b := "a-value", "b-value"
		var value any // nil for a list (a flag.Func)
		if g, ok := f.Value.(flag.Getter); ok {
			value = g.Get()
		}
		switch v := value.(type) {
		case bool:
			a, b = strconv.FormatBool(!v), strconv.FormatBool(v)
		case int, int64:
			a, b = "7", "9"
		case time.Duration:
			a, b = "7s", "9s"
		case graph.Introspection:
			a, b = "staff", "false"
		case string:
		default: // a list
			a, b = "https://a.example", "https://b.example"
		}
		fromEnv := parse(map[string]string{env: a})
		fromFlag := parse(nil, "--"+f.Name+"="+b)
		both := parse(map[string]string{env: a}, "--"+f.Name+"="+b)
		if reflect.DeepEqual(fromEnv, defaults) {
			t.Errorf("%s=%s changes nothing", env, a)
		}
		if !reflect.DeepEqual(both, fromFlag) || reflect.DeepEqual(both, fromEnv) {
			t.Errorf("--%s=%s does not win over %s=%s", f.Name, b, env, a)
		}
	})

	// A few by name, to see the values land where they should.
	cfg := parse(map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:9999", "MONGODB_URI": "mongodb://db.example", "GATEHOUSE_CORS_ORIGINS": "https://a.example, https://b.example",
		"GATEHOUSE_INTROSPECTION": "false", "GATEHOUSE_READ_HEADER_TIMEOUT": "2s", "GATEHOUSE_TOKEN_CACHE_TTL": "0"}, "--addr", ":7000")
	if cfg.Addr != ":7000" || cfg.MongoURI != "mongodb://db.example" || fmt.Sprint(cfg.CORS) != "[https://a.example https://b.example]" ||
		cfg.Introspect != graph.IntrospectionOff || cfg.ReadHeaderTimeout != 2*time.Second || cfg.TokenCacheTTL != 0 {
		t.Errorf("%+v", cfg)
	}
	// With neither, the README's defaults.
	if d := defaults; d.Addr != ":8080" || d.Database != "gatehouse" || d.DataDir != "./data" || d.Introspect != graph.IntrospectionOn || !d.Explorer || d.BodyLimit != 1<<20 ||
		d.ReadHeaderTimeout != 5*time.Second || d.ShutdownTimeout != 20*time.Second || d.TokenCacheTTL != 5*time.Second || len(d.CORS) != 0 {
		t.Errorf("defaults: %+v", d)
	}
	// A variable that does not parse is an error naming it.
	err := parseFlags("serve", nil, func(k string) string {
		if k == "GATEHOUSE_BODY_LIMIT" {
			return "lots"
		}
		return ""
	}, io.Discard, (&config{}).serveFlags)
	if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_BODY_LIMIT") {
		t.Errorf("a bad variable: %v", err)
	}
}

// The README's configuration table is true of the code: each row's flag
// exists, with that variable and that default.
func TestREADMEConfigurationTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	(&config{}).serveFlags(fs, envBinder{getenv: noEnv, errs: new([]error)})
	row := regexp.MustCompile("(?m)^\\| `--([a-z-]+)` \\| `([A-Z_]+)` \\| ([^|]*) \\|")
	rows := row.FindAllStringSubmatch(string(readme), -1)
	if len(rows) < 20 {
		t.Fatalf("found %d rows of the configuration table", len(rows))
	}
	for _, r := range rows {
		name, env, def := r[1], r[2], strings.TrimSpace(r[3])
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("README documents --%s, which serve does not have", name)
			continue
		}
		if !strings.HasSuffix(f.Usage, "["+env+"]") {
			t.Errorf("--%s: README says %s, the usage says %q", name, env, f.Usage)
		}
		if strings.HasPrefix(def, "`") && !sameDefault(strings.Trim(def, "`"), f.DefValue) {
			t.Errorf("--%s: README's default %s, the code's %q", name, def, f.DefValue)
		}
	}
}

// sameDefault compares a default as the README writes it with the flag's
// (60s and 1m0s are one duration).
func sameDefault(readme, code string) bool {
	if readme == code {
		return true
	}
	a, errA := time.ParseDuration(readme)
	b, errB := time.ParseDuration(code)
	return errA == nil && errB == nil && a == b
}
