package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/cmd/gatehouse/gateway"
	"github.com/gatehouse/gatehouse/graph"
)

// config is everything gatehouse can be told, by flag or by environment
// variable (the flag wins). Each field has one flag and one variable, listed
// in the README's configuration table.
type config struct {
	Addr     string
	MongoURI string
	Database string
	DataDir  string
	// SQLiteSynchronous is the embedded store's durability setting.
	SQLiteSynchronous string
	LogFormat         string
	LogLevel          string
	StoreTimeout      time.Duration
	Metrics           bool

	gateway.Config // what serve's gateway is told
	dispatchConfig // the mailing dispatcher (dispatch.go)
}

// storeFlags are the flags every subcommand that opens the store takes.
func (c *config) storeFlags(fs *flag.FlagSet, env envBinder) {
	def := gateway.Defaults()
	env.string(fs, &c.MongoURI, "mongodb-uri", "MONGODB_URI", "", "MongoDB connection URI; empty runs the embedded store")
	env.string(fs, &c.Database, "database", "GATEHOUSE_DATABASE", "gatehouse", "database name")
	env.string(fs, &c.DataDir, "data", "GATEHOUSE_DATA", "./data", "directory of the embedded store's file (<data>/<database>.db)")
	env.string(fs, &c.SQLiteSynchronous, "sqlite-synchronous", "GATEHOUSE_SQLITE_SYNCHRONOUS", "NORMAL", "embedded store durability: NORMAL loses nothing on a crash of the process, FULL also survives power loss (an fsync per write)")
	env.duration(fs, &c.StoreTimeout, "store-timeout", "GATEHOUSE_STORE_TIMEOUT", 5*time.Second, "how long to wait for the store to answer at start and for a server to be selected")
	env.string(fs, &c.LogFormat, "log-format", "GATEHOUSE_LOG_FORMAT", "auto", "log format: text, json, or auto (text on a terminal, JSON otherwise)")
	env.string(fs, &c.LogLevel, "log-level", "GATEHOUSE_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	env.int(fs, &c.HashConcurrency, "hash-concurrency", "GATEHOUSE_HASH_CONCURRENCY", def.HashConcurrency, "password hashes computed at once")
}

// serveFlags are the flags of serve.
func (c *config) serveFlags(fs *flag.FlagSet, env envBinder) {
	c.storeFlags(fs, env)
	def := gateway.Defaults()
	env.string(fs, &c.Addr, "addr", "GATEHOUSE_ADDR", ":8080", "address to listen on")
	env.list(fs, &c.CORS, "cors-origins", "GATEHOUSE_CORS_ORIGINS", "origins allowed to call the API from a browser, comma-separated (https://app.example.com)")
	env.list(fs, &c.Hosts, "allowed-hosts", "GATEHOUSE_ALLOWED_HOSTS", "hosts (host or host:port) absolute links may name, comma-separated: the request's host when it is one, the first otherwise; empty trusts the request's host")
	env.list(fs, &c.Proxies, "trusted-proxies", "GATEHOUSE_TRUSTED_PROXIES", "proxies (IPs or CIDRs) whose X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and X-Request-Id are believed")
	env.introspection(fs, &c.Introspect, "introspection", "GATEHOUSE_INTROSPECTION", def.Introspect, "who is answered GraphQL introspection: true (everyone), false (no one) or staff (active staff and superusers, so that a production gateway can keep its explorer for its operators)")
	env.bool(fs, &c.Explorer, "playground", "GATEHOUSE_PLAYGROUND", def.Explorer, "serve the GraphQL explorer (GraphiQL, bundled in the binary) at /playground")
	env.int64(fs, &c.BodyLimit, "body-limit", "GATEHOUSE_BODY_LIMIT", def.BodyLimit, "largest request body in bytes")
	env.int(fs, &c.ResponseLimit, "response-limit", "GATEHOUSE_RESPONSE_LIMIT", def.ResponseLimit, "largest response in bytes (a GraphQL body or websocket message, a REST dialect's operation); past it the client gets RESPONSE_TOO_LARGE instead")
	env.int(fs, &c.ComplexityLimit, "complexity-limit", "GATEHOUSE_COMPLEXITY_LIMIT", def.ComplexityLimit, "largest GraphQL query complexity")
	env.int(fs, &c.DepthLimit, "depth-limit", "GATEHOUSE_DEPTH_LIMIT", def.DepthLimit, "deepest GraphQL selection nesting")
	env.int(fs, &c.ScanLimit, "scan-limit", "GATEHOUSE_SCAN_LIMIT", def.ScanLimit, "how much one GraphQL operation's store scans (counts, searches, filtered or ordered pages) may weigh: 5 each for walking every row, 1 for each condition evaluated on each")
	env.int(fs, &c.ParserTokenLimit, "parser-token-limit", "GATEHOUSE_PARSER_TOKEN_LIMIT", def.ParserTokenLimit, "most tokens in one GraphQL document")
	env.int(fs, &c.WebsocketsPerClient, "websockets-per-client", "GATEHOUSE_WEBSOCKETS_PER_CLIENT", def.WebsocketsPerClient, "most websockets one client address (an IPv6 one by its /64) may hold open at once")
	env.int(fs, &c.WebsocketOperations, "websocket-operations", "GATEHOUSE_WEBSOCKET_OPERATIONS", def.WebsocketOperations, "most operations one websocket runs at once; one user (or anonymous client address) runs twice as many across their websockets")
	env.duration(fs, &c.WebsocketPing, "websocket-ping", "GATEHOUSE_WEBSOCKET_PING", def.WebsocketPing, "how often an open websocket is pinged; a graphql-transport-ws client that answers no ping for two intervals is disconnected")
	env.duration(fs, &c.ReadHeaderTimeout, "read-header-timeout", "GATEHOUSE_READ_HEADER_TIMEOUT", def.ReadHeaderTimeout, "time to read request headers")
	env.duration(fs, &c.ReadTimeout, "read-timeout", "GATEHOUSE_READ_TIMEOUT", def.ReadTimeout, "time to read a whole request")
	env.duration(fs, &c.WriteTimeout, "write-timeout", "GATEHOUSE_WRITE_TIMEOUT", def.WriteTimeout, "time to write a response (websockets are exempt)")
	env.duration(fs, &c.IdleTimeout, "idle-timeout", "GATEHOUSE_IDLE_TIMEOUT", def.IdleTimeout, "how long an idle keep-alive connection stays open")
	env.duration(fs, &c.RequestTimeout, "request-timeout", "GATEHOUSE_REQUEST_TIMEOUT", def.RequestTimeout, "time budget of one request, store calls included")
	env.duration(fs, &c.ShutdownTimeout, "shutdown-timeout", "GATEHOUSE_SHUTDOWN_TIMEOUT", def.ShutdownTimeout, "grace period for in-flight requests on SIGINT/SIGTERM")
	env.string(fs, &c.TrustedDocuments, "trusted-documents", "GATEHOUSE_TRUSTED_DOCUMENTS", "", "manifest of the GraphQL documents the gateway's clients send (Apollo persisted query manifest, or GraphQL Codegen's hash-to-document JSON); clients may send a hash alone")
	env.bool(fs, &c.TrustedDocumentsOnly, "trusted-documents-only", "GATEHOUSE_TRUSTED_DOCUMENTS_ONLY", false, "run only the documents of --trusted-documents (staff, and the REST dialects, excepted)")
	env.int(fs, &c.APQMemory, "apq-memory", "GATEHOUSE_APQ_MEMORY", def.APQMemory, "bytes of documents remembered for automatic persisted queries (Apollo Client, urql); 0 turns them off")
	env.bool(fs, &c.Metrics, "metrics", "GATEHOUSE_METRICS", true, "serve Prometheus metrics at /metrics")
	env.string(fs, &c.MetricsAddr, "metrics-addr", "GATEHOUSE_METRICS_ADDR", def.MetricsAddr, "serve /metrics on this address of its own instead of the main listener, so it need not be public")
	env.int(fs, &c.SignUpLimit, "signup-limit", "GATEHOUSE_SIGNUP_LIMIT", def.SignUpLimit, "most sign-ups from one client address (an IPv6 one by its /64) in an hour, counted in the store (0: no limit)")
	env.duration(fs, &c.TokenCacheTTL, "token-cache-ttl", "GATEHOUSE_TOKEN_CACHE_TTL", def.TokenCacheTTL, "how long a checked token is trusted without asking the store; a revocation on another instance takes effect within it (0 turns the cache off)")
	env.string(fs, &c.RESTMounts, "rest-mounts", "GATEHOUSE_REST_MOUNTS", def.RESTMounts, "where each legacy REST dialect is served: dialect=prefix or dialect=off, comma-separated; dialects not named keep their default")
	env.string(fs, &c.RESTTimeZones, "rest-time-zones", "GATEHOUSE_REST_TIME_ZONES", def.RESTTimeZones, "time zone of each REST dialect's datetimes: dialect=IANA name, comma-separated; UTC when not named")
	env.bool(fs, &c.Dispatch, "dispatch", "GATEHOUSE_DISPATCH", true, "run a mailing dispatcher in this process (gatehouse dispatch runs one alone)")
	c.dispatchFlags(fs, env)
}

func (c *config) validate() error {
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		return fmt.Errorf("--log-format must be text, json or auto, not %q", c.LogFormat)
	}
	if err := c.Config.Validate(); err != nil {
		return err
	}
	if c.Dispatch {
		return c.dispatchConfig.validate()
	}
	return nil
}

// envBinder defines flags whose defaults come from environment variables.
type envBinder struct {
	getenv func(string) string
	// errs collects unreadable variables, reported after parsing.
	errs *[]error
}

// set gives the flag the variable's value, if the variable is set; parsing
// the command line afterwards lets a flag override it.
func (e envBinder) set(fs *flag.FlagSet, name, env string) {
	if v := e.getenv(env); v != "" {
		if err := fs.Set(name, v); err != nil {
			*e.errs = append(*e.errs, fmt.Errorf("%s=%q: %w", env, v, err))
		}
	}
}

func (e envBinder) string(fs *flag.FlagSet, p *string, name, env, def, usage string) {
	fs.StringVar(p, name, def, usage+" ["+env+"]")
	e.set(fs, name, env)
}

func (e envBinder) list(fs *flag.FlagSet, p *[]string, name, env, usage string) {
	fs.Func(name, usage+" ["+env+"]", func(s string) error {
		*p = splitList(s)
		return nil
	})
	e.set(fs, name, env)
}

func (e envBinder) bool(fs *flag.FlagSet, p *bool, name, env string, def bool, usage string) {
	fs.BoolVar(p, name, def, usage+" ["+env+"]")
	e.set(fs, name, env)
}

func (e envBinder) introspection(fs *flag.FlagSet, p *graph.Introspection, name, env string, def graph.Introspection, usage string) {
	*p = def
	fs.Var((*introspectionFlag)(p), name, usage+" ["+env+"]")
	e.set(fs, name, env)
}

// introspectionFlag is --introspection: true, false or staff. It is a
// boolean flag too, so that --introspection alone and
// --introspection=false keep meaning what they meant before staff.
type introspectionFlag graph.Introspection

func (f *introspectionFlag) String() string   { return graph.Introspection(*f).String() }
func (f *introspectionFlag) IsBoolFlag() bool { return true }
func (f *introspectionFlag) Get() any         { return graph.Introspection(*f) }
func (f *introspectionFlag) Set(s string) error {
	i, err := graph.ParseIntrospection(s)
	if err == nil {
		*f = introspectionFlag(i)
	}
	return err
}

func (e envBinder) int(fs *flag.FlagSet, p *int, name, env string, def int, usage string) {
	fs.IntVar(p, name, def, usage+" ["+env+"]")
	e.set(fs, name, env)
}

func (e envBinder) int64(fs *flag.FlagSet, p *int64, name, env string, def int64, usage string) {
	fs.Int64Var(p, name, def, usage+" ["+env+"]")
	e.set(fs, name, env)
}

func (e envBinder) duration(fs *flag.FlagSet, p *time.Duration, name, env string, def time.Duration, usage string) {
	fs.DurationVar(p, name, def, usage+" ["+env+"]")
	e.set(fs, name, env)
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
