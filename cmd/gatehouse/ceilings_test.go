package main

// The price model, proven by measurement: every operation the generator
// writes (opgen_test.go) is sent to a real gateway over real HTTP, one at
// a time, on a seeded store, and measured: whether it was refused, its
// wall and CPU time, the bytes it allocated, the store operations it made
// and their time, and the size of its answer. What the model accepts must
// stay under the accepted ceilings, and what it refuses must be refused
// quickly and without reading the store.
//
//	GATEHOUSE_TEST_ENGINES=sqlite go test -run TestGeneratedOperationsStayUnderCeilings ./cmd/gatehouse/
//	GATEHOUSE_TEST_ENGINES=sqlite go test -run '^$' -bench WorstAcceptedOperations -benchtime 1x -timeout 60m ./cmd/gatehouse/
//
// The test runs on a small store (ciUsers); the benchmark on fullUsers and
// prints the ten worst accepted operations.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/graph"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// The ceilings. An accepted operation may take up to a tenth of a second
// of one core, so that a gateway on two cores answers at least twenty of
// the worst a second and a client's ordinary request waits behind at most
// a few of them, plus hashCPU for each password hash it computes (argon2id
// with OWASP's parameters is slow on purpose, and --hash-concurrency bounds
// how many run at once whoever asks); it may allocate up to 64 MB, so that
// eight clients sending the worst at once stay within a 512 MB process;
// and answer up to 1 MB, the size of the largest request body, so that no
// request multiplies into an answer far larger than itself. A refusal must
// cost less than 5 ms, plus 1 ms for each 4 KiB of the request (reading,
// decoding and parsing a request of the largest size, a megabyte of
// variables or fifteen thousand tokens, costs 6 to 18 ms before any rule
// can look at it, the more while the rest of the suite runs beside), and
// no store read, so that refusing is always much
// cheaper than asking. Refusals are judged by their CPU time: on a machine
// shared with other work, their wall time measures that work as much as
// the refusal (it is reported beside).
const (
	ceilingCPU     = 100 * time.Millisecond
	hashCPU        = 75 * time.Millisecond
	ceilingAlloc   = 64 << 20
	ceilingAnswer  = 1 << 20
	ceilingRefusal = 5 * time.Millisecond
	// refusalPerByte is the refusal ceiling's allowance for the size of
	// the request: 1 ms for each 4 KiB.
	refusalPerByte = time.Millisecond / (4 << 10)
)

// refusalCeiling is the most a refusal of op may cost.
func refusalCeiling(op genOp) time.Duration {
	return ceilingRefusal + time.Duration(len(op.Query)+len(op.RawVars))*refusalPerByte
}

// cpuCeiling is the most an accepted op may cost: the ceiling, and the
// password hashes it computes.
func cpuCeiling(op genOp) time.Duration {
	hashes := 0
	for call, n := range map[string]int{"signIn(": 1, "signUp(": 1, "setPassword(": 1, "changePassword(": 2} {
		hashes += n * strings.Count(op.Query, call)
	}
	if strings.Contains(op.Query, "password") || bytes.Contains(op.RawVars, []byte("password")) {
		for _, call := range []string{"createUser(", "updateUser(", "replaceUser("} {
			hashes += strings.Count(op.Query, call)
		}
	}
	return ceilingCPU + time.Duration(hashes)*hashCPU
}

// Store sizes: the test's, small enough for CI, and the benchmark's.
const (
	ciUsers   = 2_000
	fullUsers = 100_000
)

// opTimeout bounds one generated operation. One that takes longer has
// broken the CPU ceiling fifty times over; waiting for it to finish would
// only slow the run.
const opTimeout = 5 * time.Second

// opFigures are the measures of one operation.
type opFigures struct {
	Op genOp
	// Refused is true when the request was refused as a whole: its answer
	// has no data entry, as GraphQL answers a request error (parse,
	// validation, a limit passed, variables refused, a bad request).
	// Anything that ran, errors and all, was accepted.
	Refused  bool
	Code     string
	Status   int
	TimedOut bool
	Wall     time.Duration
	CPU      time.Duration
	Alloc    uint64
	// StoreOps are the operations sent to the store, StoreTime the time
	// the store was busy with them.
	StoreOps  int
	StoreTime time.Duration
	Answer    int
}

// breaches names each ceiling the operation broke.
func (f opFigures) breaches() []string {
	var out []string
	if f.TimedOut {
		out = append(out, fmt.Sprintf("no answer within %v", opTimeout))
	}
	if f.Refused {
		if ceiling := refusalCeiling(f.Op); f.CPU >= ceiling {
			out = append(out, fmt.Sprintf("refused (%s) in %v of CPU, ceiling %v", f.Code, f.CPU.Round(time.Microsecond), ceiling.Round(time.Microsecond)))
		}
		if f.StoreOps > 0 {
			out = append(out, fmt.Sprintf("refused (%s) after %d store operations, ceiling 0", f.Code, f.StoreOps))
		}
		return out
	}
	if ceiling := cpuCeiling(f.Op); f.CPU > ceiling {
		out = append(out, fmt.Sprintf("%v of CPU, ceiling %v", f.CPU.Round(time.Millisecond), ceiling))
	}
	if f.Alloc > ceilingAlloc {
		out = append(out, fmt.Sprintf("%.1f MB allocated, ceiling %d MB", mb(f.Alloc), ceilingAlloc>>20))
	}
	if f.Answer > ceilingAnswer {
		out = append(out, fmt.Sprintf("answered %.2f MB, ceiling %d MB", mb(uint64(f.Answer)), ceilingAnswer>>20))
	}
	return out
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

func (f opFigures) String() string {
	verdict := "accepted"
	if f.Refused {
		verdict = "refused " + f.Code
	} else if f.Code != "" {
		verdict = "accepted, first error " + f.Code
	}
	return fmt.Sprintf("%s: cpu %v, wall %v, %.2f MB allocated, %d store ops in %v, answer %d bytes",
		verdict, f.CPU.Round(time.Microsecond), f.Wall.Round(time.Microsecond), mb(f.Alloc), f.StoreOps,
		f.StoreTime.Round(time.Microsecond), f.Answer)
}

// ---------------------------------------------------------------------------
// The seeded store, once per size and engine in a run of the test binary.
// ---------------------------------------------------------------------------

// storeRecorder counts the store operations sent, and the time the store
// was busy: while at least one operation was in flight (operations of one
// request overlap, and those queued for a connection wait together, so
// their times summed would say more than the store did). The store is
// seeded once and shared, so the recorder is its observer for good, and
// reset before each measured operation.
type storeRecorder struct {
	mu       sync.Mutex
	ops      int
	inFlight int
	since    time.Time
	busy     time.Duration
}

func (r *storeRecorder) observer() *docdb.Observer {
	return &docdb.Observer{
		Started: func(context.Context, docdb.Op) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.ops++
			if r.inFlight++; r.inFlight == 1 {
				r.since = time.Now()
			}
		},
		Finished: func(context.Context, docdb.Op, time.Duration, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.inFlight--; r.inFlight == 0 {
				r.busy += time.Since(r.since)
			}
		},
	}
}

func (r *storeRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops, r.busy = 0, 0
	if r.inFlight > 0 {
		r.since = time.Now()
	}
}

// snapshot is the operations sent since the reset, and the store's busy
// time, the operation in flight included.
func (r *storeRecorder) snapshot() (int, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	busy := r.busy
	if r.inFlight > 0 {
		busy += time.Since(r.since)
	}
	return r.ops, busy
}

// seededStore is a database seeded for the generated operations.
type seededStore struct {
	name  string
	store *store.Store
	rec   *storeRecorder
	refs  *seedRefs
}

var seededStores = struct {
	sync.Mutex
	byKey map[string]*seededStore
}{byKey: map[string]*seededStore{}}

// seededFor is the store of users users on this run's engine, seeded the
// first time it is asked for. It stays open until the test binary ends
// (its engine's directory or server goes with it), so that the test, the
// benchmark and the load test of one run seed it once.
func seededFor(tb testing.TB, users int) *seededStore {
	tb.Helper()
	seededStores.Lock()
	defer seededStores.Unlock()
	key := fmt.Sprintf("%s/%d", storetest.Engine(), users)
	if s := seededStores.byKey[key]; s != nil {
		return s
	}
	ctx := context.Background()
	rec := &storeRecorder{}
	name := storetest.NewDatabase()
	st, err := storetest.OpenDatabase(ctx, name, store.Options{Observer: rec.observer()})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	refs, err := seed(ctx, st, users)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d users, %d roles, %d clients, %d mailings and %d messages in %v",
		refs.Counts["User"], refs.Counts["Role"], refs.Counts["Client"], refs.Counts["Mailing"], refs.Counts["Message"],
		time.Since(start).Round(time.Millisecond))
	s := &seededStore{name: name, store: st, rec: rec, refs: refs}
	seededStores.byKey[key] = s
	return s
}

// Sizes of the seeded lists: each fills the largest page, and
// mailingsStats, which reads every mailing up to its bound, has its bound
// of mailings.
const (
	seededPermissions = 70 // custom ones, beside the built-in
	seededRoles       = 120
	seededLabels      = 120 // tags and operator codes each
	seededClients     = 1_200
	seededMailings    = 1_000
	seededSent        = 10 // mailings with a message for every client
	seededChain       = 10 // users each created by the one before
)

// seed fills a store for the generated operations: users in bulk (each
// holding two roles, each created by the last of a chain of users created
// one by the other, so that createdBy nests), roles, permissions, tags,
// operator codes, clients, mailings and messages, and the callers and
// victims the operations name.
func seed(ctx context.Context, s *store.Store, users int) (*seedRefs, error) {
	r := &seedRefs{IDs: map[string]string{}, Counts: map[string]int{}, MissingID: "999999999",
		SearchWord: "example", Prefix: "user"}
	id := func(i store.ID) string { return strconv.FormatInt(int64(i), 10) }
	hasher := auth.NewHasher(1)
	user := func(n store.NewUser, password string) (seedUser, error) {
		hash, err := hasher.Hash(ctx, password)
		if err != nil {
			return seedUser{}, err
		}
		n.PasswordHash, n.IsActive = hash, true
		u, err := s.CreateUser(ctx, n)
		if err != nil {
			return seedUser{}, err
		}
		return seedUser{ID: id(u.ID), Username: u.Username, Password: password}, nil
	}
	var err error
	if r.Root, err = user(store.NewUser{Username: "root", Email: "root@example.com", IsStaff: true, IsSuperuser: true}, "root-password"); err != nil {
		return nil, err
	}
	if r.Plain, err = user(store.NewUser{Username: "plain", Email: "plain@example.com"}, "plain-password"); err != nil {
		return nil, err
	}
	if r.VictimUser, err = user(store.NewUser{Username: "victim", Email: "victim@example.com"}, "victim-password"); err != nil {
		return nil, err
	}

	for i := range seededPermissions {
		if _, err := s.CreatePermission(ctx, store.NewPermission{Codename: fmt.Sprintf("custom_%03d", i), Name: fmt.Sprintf("Can do custom thing %d", i), Resource: "custom"}); err != nil {
			return nil, err
		}
	}
	perms, err := s.FindPermissions(ctx, nil, store.Page{})
	if err != nil {
		return nil, err
	}
	var permIDs []store.ID
	for _, p := range perms {
		permIDs = append(permIDs, p.ID)
		r.PermissionIDs = append(r.PermissionIDs, id(p.ID))
	}
	var roleIDs []store.ID
	for i := range seededRoles {
		role, err := s.CreateRole(ctx, store.NewRole{Name: fmt.Sprintf("role%03d", i),
			PermissionIDs: []store.ID{permIDs[i%len(permIDs)], permIDs[(i+7)%len(permIDs)], permIDs[(i+13)%len(permIDs)]}})
		if err != nil {
			return nil, err
		}
		roleIDs = append(roleIDs, role.ID)
		r.RoleIDs = append(r.RoleIDs, id(role.ID))
	}
	victimRole, err := s.CreateRole(ctx, store.NewRole{Name: "victim-role"})
	if err != nil {
		return nil, err
	}
	r.VictimRole = id(victimRole.ID)

	rootID, _ := strconv.ParseInt(r.Root.ID, 10, 64)
	by := store.ID(rootID)
	for i := range seededChain {
		u, err := s.CreateUser(ctx, store.NewUser{Username: fmt.Sprintf("chain%02d", i), PasswordHash: "!unusable", IsActive: true, CreatedBy: &by})
		if err != nil {
			return nil, err
		}
		by = u.ID
	}
	bulk := make([]store.NewUser, users-seededChain-3)
	for i := range bulk {
		bulk[i] = store.NewUser{Username: fmt.Sprintf("user%06d", i+1), Email: fmt.Sprintf("user%06d@example.com", i+1),
			FirstName: "Bench", LastName: fmt.Sprintf("User %d", i), PasswordHash: "!unusable", IsActive: true,
			RoleIDs: []store.ID{roleIDs[i%len(roleIDs)], roleIDs[(i+1)%len(roleIDs)]}, CreatedBy: &by}
	}
	userIDs, err := s.CreateUsers(ctx, bulk)
	if err != nil {
		return nil, err
	}

	var tagIDs, codeIDs []store.ID
	for i := range seededLabels {
		tag, err := s.CreateTag(ctx, fmt.Sprintf("tag%03d", i))
		if err != nil {
			return nil, err
		}
		code, err := s.CreateOperatorCode(ctx, fmt.Sprintf("code%03d", i))
		if err != nil {
			return nil, err
		}
		tagIDs, codeIDs = append(tagIDs, tag.ID), append(codeIDs, code.ID)
		r.TagNames, r.Codes = append(r.TagNames, tag.Name), append(r.Codes, code.Code)
	}
	victimTag, err := s.CreateTag(ctx, "victim-tag")
	if err != nil {
		return nil, err
	}
	victimCode, err := s.CreateOperatorCode(ctx, "victim-code")
	if err != nil {
		return nil, err
	}
	r.VictimTag, r.VictimTagName, r.VictimCode, r.VictimCodeName = id(victimTag.ID), victimTag.Name, id(victimCode.ID), victimCode.Code
	r.TagID, r.CodeID = id(tagIDs[0]), id(codeIDs[0])

	clients := make([]store.ClientInput, seededClients)
	for i := range clients {
		clients[i] = store.ClientInput{PhoneNumber: fmt.Sprintf("7916%07d", i), OperatorCodeID: codeIDs[i%len(codeIDs)], TagID: tagIDs[i%len(tagIDs)], Timezone: "Europe/Moscow"}
	}
	clientIDs, err := s.CreateClients(ctx, clients)
	if err != nil {
		return nil, err
	}
	victimClient, err := s.CreateClient(ctx, store.ClientInput{PhoneNumber: "79990000000", OperatorCodeID: victimCode.ID, TagID: victimTag.ID, Timezone: "UTC"})
	if err != nil {
		return nil, err
	}
	r.VictimClient = id(victimClient.ID)

	start := time.Now().UTC().AddDate(1, 0, 0)
	var mailingIDs []store.ID
	for i := range seededMailings {
		m, err := s.CreateMailing(ctx, store.MailingInput{Text: fmt.Sprintf("Mailing %d", i), Start: start, End: start.Add(time.Hour),
			Tags:   []string{r.TagNames[i%seededLabels], r.TagNames[(i+1)%seededLabels], r.TagNames[(i+2)%seededLabels]},
			Codes:  []string{r.Codes[i%seededLabels], r.Codes[(i+1)%seededLabels], r.Codes[(i+2)%seededLabels]},
			Window: &store.Window{From: "09:00", To: "21:00"}})
		if err != nil {
			return nil, err
		}
		mailingIDs = append(mailingIDs, m.ID)
	}
	victimMailing, err := s.CreateMailing(ctx, store.MailingInput{Text: "victim", Start: start, End: start.Add(time.Hour), Tags: []string{victimTag.Name}, Codes: []string{victimCode.Code}})
	if err != nil {
		return nil, err
	}
	r.VictimMailing = id(victimMailing.ID)

	now := time.Now()
	messages := 0
	for _, m := range mailingIDs[:seededSent] {
		n, err := s.CreateMessages(ctx, m, clientIDs, store.NewMessages{Status: store.MessagePending, Now: now})
		if err != nil {
			return nil, err
		}
		messages += n
		sent, err := s.FindMessages(ctx, &store.MessageFilter{MailingIDs: []store.ID{m}}, store.Page{Limit: 100})
		if err != nil {
			return nil, err
		}
		results := make([]store.MessageResult, len(sent))
		for i, msg := range sent {
			at := now.Add(time.Duration(i) * time.Second)
			results[i] = store.MessageResult{ID: msg.ID, Status: store.MessageSent, Attempts: 1, SendDate: &at}
		}
		if err := s.RecordResults(ctx, results); err != nil {
			return nil, err
		}
		if r.IDs["Message"] == "" {
			r.IDs["Message"] = id(sent[0].ID)
		}
	}

	r.IDs["User"] = id(userIDs[len(userIDs)/2])
	r.IDs["Permission"] = id(permIDs[0])
	r.IDs["Role"] = id(roleIDs[0])
	r.IDs["Tag"], r.IDs["OperatorCode"] = id(tagIDs[0]), id(codeIDs[0])
	r.IDs["Client"], r.IDs["Mailing"] = id(clientIDs[0]), id(mailingIDs[0])
	r.Counts["User"] = users
	r.Counts["Permission"] = len(permIDs)
	r.Counts["Role"] = seededRoles + 1
	r.Counts["Tag"], r.Counts["OperatorCode"] = seededLabels+1, seededLabels+1
	r.Counts["Client"] = seededClients + 1
	r.Counts["Mailing"] = seededMailings + 1
	r.Counts["Message"] = messages
	return r, nil
}

// ---------------------------------------------------------------------------
// A gateway to measure on.
// ---------------------------------------------------------------------------

// opRun measures operations on gateways over a seeded store: its
// callers' tokens, and the plan of the gateway's executor that the
// generator asks.
type opRun struct {
	seeded *seededStore
	cfg    *config
	logger *slog.Logger
	tokens map[string]string
	plan   planner
	buf    bytes.Buffer
	runs   int
}

// gatewayArgs are how the measured gateway differs from serve's defaults,
// each so that the figures are the operation's own. Tokens stay cached,
// so that no operation pays for checking its token (which any request
// does, and the cache's TTL makes rare). Sign-ups are not limited by
// address: an attacker has many addresses, and a sign-up limited away
// would be measured as free.
var gatewayArgs = []string{"--token-cache-ttl=1h", "--signup-limit=0"}

func newOpRun(tb testing.TB, users int) *opRun {
	tb.Helper()
	s := seededFor(tb, users)
	run := &opRun{seeded: s, cfg: testConfig(tb, gatewayArgs...), tokens: map[string]string{},
		// Logs go nowhere but are written, at serve's level, as serve's are.
		logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	for caller, u := range map[string]seedUser{callerRoot: s.refs.Root, callerPlain: s.refs.Plain} {
		id, _ := strconv.ParseInt(u.ID, 10, 64)
		run.tokens[caller] = signedIn(tb, s.store, store.ID(id))
	}

	def := gateway.Defaults()
	exec := graph.NewExecutor(&graph.Resolver{Store: s.store}, graph.ServerConfig{
		ComplexityLimit: def.ComplexityLimit, DepthLimit: def.DepthLimit, ParserTokenLimit: def.ParserTokenLimit,
		Introspection: def.Introspect,
	})
	// The generator plans thousands of documents once each: caching them
	// would only hold memory.
	exec.SetQueryCache(graphql.NoCache[*ast.QueryDocument]{})
	run.plan = func(query string, vars map[string]any) (bool, int) {
		// Variables as the endpoint decodes them, numbers and all.
		raw, _ := json.Marshal(vars)
		var decoded map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		_ = dec.Decode(&decoded)
		ctx := graphql.StartOperationTrace(context.Background())
		oc, errs := exec.CreateOperationContext(ctx, &graphql.RawParams{Query: query, Variables: decoded})
		cost := 0
		if stats, ok := oc.Stats.GetExtension(graph.Admission{}.ExtensionName()).(*extension.ComplexityStats); ok {
			cost = stats.Complexity
		}
		return len(errs) == 0, cost
	}
	return run
}

// generate writes the operations for this run's store.
func (run *opRun) generate(tb testing.TB) []genOp {
	tb.Helper()
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	g := newOpGenerator(schema, defaultGenLimits(), run.seeded.refs, run.plan)
	ops := g.generate()
	for _, p := range g.problems {
		tb.Error(p)
	}
	return ops
}

// body is the operation as a GraphQL request body.
func (op genOp) body() ([]byte, error) {
	if op.RawVars != nil {
		return json.Marshal(map[string]any{"query": op.Query, "variables": op.RawVars})
	}
	return json.Marshal(map[string]any{"query": op.Query, "variables": op.Vars})
}

// opGateway is a gateway of its own for one operation, as serve builds
// it, behind a real HTTP server. Each operation gets a new one, so that
// none is measured with what an earlier one left in the gateway's caches
// (a parsed document is kept for the next request that sends the same
// text), and the collector run before each operation has only the
// generator's figures to scan, not a thousand cached documents.
type opGateway struct {
	srv    *httptest.Server
	client *http.Client
}

func (run *opRun) gateway(tb testing.TB, tokens ...string) *opGateway {
	tb.Helper()
	g := buildTestGateway(tb, run.seeded.store, run.cfg, gateway.Options{Logger: run.logger}, nil)
	gw := &opGateway{srv: httptest.NewServer(g.gw)}
	gw.client = gw.srv.Client()
	for _, token := range tokens {
		// The token is checked here, and cached for the operation.
		if status, body, err := run.send(tb, gw, token, genOp{Query: "{ __typename }"}); err != nil || status != http.StatusOK {
			tb.Fatalf("a token's first request: %d %v %s", status, err, body)
		}
	}
	return gw
}

// send posts an operation and returns the answer's status and body, which
// stays valid until the next send.
func (run *opRun) send(tb testing.TB, gw *opGateway, token string, op genOp) (int, []byte, error) {
	tb.Helper()
	body, err := op.body()
	if err != nil {
		tb.Fatal(err)
	}
	return run.post(tb, gw, token, body)
}

// post posts a request body.
func (run *opRun) post(tb testing.TB, gw *opGateway, token string, body []byte) (int, []byte, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, gw.srv.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Token "+token)
	resp, err := gw.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	run.buf.Reset()
	_, err = run.buf.ReadFrom(resp.Body)
	return resp.StatusCode, run.buf.Bytes(), err
}

// measure runs one operation on a gateway of its own and measures it. A
// refused operation is sent three times (each text a little different, so
// that none is answered from the query cache) and its cheapest kept: a
// refusal is judged by its cost, not by the moment the machine chose to
// run something else.
func (run *opRun) measure(tb testing.TB, op genOp) opFigures {
	tb.Helper()
	token := run.tokens[op.Caller]
	if op.FreshToken {
		id, _ := strconv.ParseInt(run.seeded.refs.self(op.Caller).ID, 10, 64)
		token = signedIn(tb, run.seeded.store, store.ID(id))
	}
	gw := run.gateway(tb, token)
	defer gw.srv.Close()
	f := run.measureOnce(tb, gw, token, op, 0)
	// An accepted operation past a ceiling is run again too, when running
	// it again does the same work (a query, or a mutation on names of its
	// own each run): the noise of a shared machine only ever adds.
	again := f.Refused || len(f.breaches()) > 0 && (op.Unique || !strings.HasPrefix(strings.TrimSpace(op.Query), "mutation"))
	for i := 1; again && i < 3; i++ {
		next := run.measureOnce(tb, gw, token, op, i)
		if next.Refused != f.Refused {
			break
		}
		f.Wall, f.CPU, f.Alloc = min(f.Wall, next.Wall), min(f.CPU, next.CPU), min(f.Alloc, next.Alloc)
		f.StoreOps = max(f.StoreOps, next.StoreOps)
	}
	return f
}

func (run *opRun) measureOnce(tb testing.TB, gw *opGateway, token string, op genOp, try int) opFigures {
	tb.Helper()
	if op.Unique {
		run.runs++
		op.Query = strings.ReplaceAll(op.Query, uniqueRun, strconv.Itoa(100_000+run.runs))
	}
	op.Query += strings.Repeat(" ", try)
	request, err := op.body()
	if err != nil {
		tb.Fatal(err)
	}
	// What came before is not this operation's to collect.
	runtime.GC()
	rec := run.seeded.rec
	rec.reset()
	cpu0, alloc0, start := cpuTime(tb), allocated(), time.Now()
	status, body, err := run.post(tb, gw, token, request)
	f := opFigures{Op: op, Status: status, Wall: time.Since(start), CPU: cpuTime(tb) - cpu0, Alloc: allocated() - alloc0, Answer: len(body)}
	f.StoreOps, f.StoreTime = rec.snapshot()
	if err != nil {
		if !errorsIsTimeout(err) {
			tb.Fatalf("%s: %v", op.Name, err)
		}
		f.TimedOut = true
		waitIdle(tb)
		return f
	}
	var doc struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		tb.Fatalf("%s: the answer is not JSON (%d): %.200q", op.Name, status, body)
	}
	f.Refused = doc.Data == nil
	if len(doc.Errors) > 0 {
		f.Code, _ = doc.Errors[0].Extensions["code"].(string)
	}
	return f
}

func errorsIsTimeout(err error) bool {
	return strings.Contains(err.Error(), context.DeadlineExceeded.Error())
}

// waitIdle waits until the process stops using CPU (an operation the
// client gave up on may still be running), at most a minute.
func waitIdle(tb testing.TB) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		before := cpuTime(tb)
		time.Sleep(200 * time.Millisecond) // sampling the process's CPU use
		if cpuTime(tb)-before < 20*time.Millisecond {
			return
		}
	}
}

var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// allocated is the bytes this process has allocated on the heap so far.
func allocated() uint64 {
	metrics.Read(allocSample)
	return allocSample[0].Value.Uint64()
}

// sweep measures every operation in turn and returns the figures. With
// judge, each runs in a subtest of its name that fails on each ceiling it
// breaks.
func (run *opRun) sweep(tb testing.TB, ops []genOp, judge bool) []opFigures {
	tb.Helper()
	out := make([]opFigures, 0, len(ops))
	for _, op := range ops {
		if t, ok := tb.(*testing.T); ok && judge {
			t.Run(op.Name, func(t *testing.T) {
				f := run.measure(t, op)
				out = append(out, f)
				for _, b := range f.breaches() {
					t.Errorf("%s\n%s\n%s", b, f, clip(op.Query, 300))
				}
			})
			continue
		}
		out = append(out, run.measure(tb, op))
	}
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d bytes)", len(s))
}

// worstAccepted are the accepted operations, most CPU first.
func worstAccepted(figs []opFigures) []opFigures {
	var out []opFigures
	for _, f := range figs {
		if !f.Refused {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b opFigures) int { return int(b.CPU - a.CPU) })
	return out
}

// report writes the ten worst accepted operations, the costliest refusals,
// and every breach, as tables.
func report(figs []opFigures) string {
	var b strings.Builder
	worst := worstAccepted(figs)
	fmt.Fprintf(&b, "%d operations, %d accepted, %d refused\n", len(figs), len(worst), len(figs)-len(worst))
	fmt.Fprintf(&b, "\nthe ten worst accepted, by CPU:\n%6s %8s %8s %9s %6s %9s %9s  %s\n", "cpu ms", "wall ms", "alloc MB", "store ops", "st. ms", "answer KB", "code", "operation")
	for _, f := range worst[:min(10, len(worst))] {
		fmt.Fprintf(&b, "%6.1f %8.1f %8.1f %9d %6.1f %9.1f %9s  %s\n", ms(f.CPU), ms(f.Wall), mb(f.Alloc), f.StoreOps, ms(f.StoreTime),
			float64(f.Answer)/1024, f.Code, f.Op.Name)
	}
	refused := slices.Clone(figs)
	refused = slices.DeleteFunc(refused, func(f opFigures) bool { return !f.Refused })
	slices.SortStableFunc(refused, func(a, b opFigures) int { return int(b.CPU - a.CPU) })
	fmt.Fprintf(&b, "\nthe five costliest refusals, by CPU:\n%6s %8s %9s %-26s %s\n", "cpu ms", "wall ms", "store ops", "code", "operation")
	for _, f := range refused[:min(5, len(refused))] {
		fmt.Fprintf(&b, "%6.2f %8.2f %9d %-26s %s\n", ms(f.CPU), ms(f.Wall), f.StoreOps, f.Code, f.Op.Name)
	}
	fmt.Fprintf(&b, "\nceilings broken:\n")
	n := 0
	for _, f := range figs {
		for _, breach := range f.breaches() {
			n++
			fmt.Fprintf(&b, "  %s: %s\n", f.Op.Name, breach)
		}
	}
	if n == 0 {
		b.WriteString("  none\n")
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// skipUnlessMeasurable skips where the figures would not be the gateway's:
// under the race detector, which multiplies CPU and allocations; and on
// the MongoDB stand-in, which runs in this process, so its work would be
// counted as the gateway's (a real server, at MONGODB_URI, is measured).
func skipUnlessMeasurable(tb testing.TB) {
	tb.Helper()
	if raceDetector {
		tb.Skip("the race detector's CPU and allocations are not the gateway's")
	}
	storetest.NeedsRealMongo(tb, "the stand-in runs in this process, and its work would be counted as the gateway's")
}

// Every operation the generator writes, on a store of ciUsers users: what
// the price model accepts stays under the accepted ceilings, and what it
// refuses is refused within the refusal ceiling without a store read.
func TestGeneratedOperationsStayUnderCeilings(t *testing.T) {
	skipUnlessMeasurable(t)
	start := time.Now()
	run := newOpRun(t, ciUsers)
	ops := run.generate(t)
	t.Logf("%d operations generated in %v", len(ops), time.Since(start).Round(time.Millisecond))
	figs := run.sweep(t, ops, true)
	t.Logf("%d operations measured in %v on %d users\n%s", len(figs), time.Since(start).Round(time.Millisecond), ciUsers, report(figs))
}

// BenchmarkWorstAcceptedOperations measures every generated operation on a
// store of fullUsers users (GATEHOUSE_WORST_USERS sets another size) and
// prints the ten worst accepted, the costliest refusals and every ceiling
// broken; it fails on none, the test judges. Each iteration is one pass over them all: run it with
// -benchtime 1x.
func BenchmarkWorstAcceptedOperations(b *testing.B) {
	skipUnlessMeasurable(b)
	users := fullUsers
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_WORST_USERS")); err == nil && n > 100 {
		users = n
	}
	run := newOpRun(b, users)
	ops := run.generate(b)
	var figs []opFigures
	b.ResetTimer()
	for b.Loop() {
		figs = run.sweep(b, ops, false)
	}
	b.StopTimer()
	// Printed, not logged: a benchmark's log is cut to ten lines.
	fmt.Printf("BenchmarkWorstAcceptedOperations on %d users:\n%s", users, report(figs))
	worst := worstAccepted(figs)
	if len(worst) > 0 {
		b.ReportMetric(ms(worst[0].CPU), "worst-cpu-ms")
	}
	var alloc uint64
	var answer int
	var refusal time.Duration
	breaches := 0
	for _, f := range figs {
		if !f.Refused {
			alloc, answer = max(alloc, f.Alloc), max(answer, f.Answer)
		} else {
			refusal = max(refusal, f.CPU)
		}
		breaches += len(f.breaches())
	}
	b.ReportMetric(mb(alloc), "worst-alloc-MB")
	b.ReportMetric(float64(answer)/1024, "largest-answer-KB")
	b.ReportMetric(ms(refusal), "costliest-refusal-cpu-ms")
	b.ReportMetric(float64(breaches), "breaches")
}
