package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gatehouse/gatehouse/auth"
)

// ServerConfig sets the limits of the GraphQL endpoint. Zero values take
// the defaults below.
type ServerConfig struct {
	// ComplexityLimit refuses operations whose estimated cost is higher.
	ComplexityLimit int
	// DepthLimit refuses operations nested deeper.
	DepthLimit int
	// ScanLimit refuses operations whose store scans weigh more: each its
	// walk of every row and the conditions it evaluates on each (prices.go).
	ScanLimit int
	// ParserTokenLimit stops the parser on huge documents (CVE-2023-49559).
	ParserTokenLimit int
	// MessageLimit is the largest websocket message, in bytes: the body
	// limit of HTTP requests, so that an operation too large for one
	// transport is too large for the other. 0 takes gqlgen's 1 MiB.
	MessageLimit int64
	// Introspection says who is answered __schema and __type queries;
	// the zero value is no one.
	Introspection Introspection
	// TrustedDocuments are the documents the gateway's own clients send,
	// by SHA-256; TrustedDocumentsOnly runs no other (persisted.go).
	TrustedDocuments     map[string]string
	TrustedDocumentsOnly bool
	// APQMemory is the most bytes of documents remembered for automatic
	// persisted queries; 0 takes the default, negative turns APQ off.
	APQMemory int
	// AllowedOrigins may open websockets from a browser; the gateway's own
	// origin always may.
	AllowedOrigins []string
	// Authenticator checks the token a websocket client sends in its
	// connection_init payload, and again for every operation it starts.
	Authenticator *auth.Authenticator
	// SocketCheckEvery is how often an open websocket asks the store
	// whether its token still holds (see socket.go); 0 never, leaving the
	// check to the operations it starts.
	SocketCheckEvery time.Duration
	// SocketTicks paces those checks; nil is a time.Ticker. Tests tick
	// by hand, so that a check happens when they say.
	SocketTicks Ticks
	// WebsocketPing is how often an open websocket is pinged: a
	// graphql-transport-ws client that answers no ping for two of them is
	// disconnected, so a client that vanished without closing frees its
	// socket; a legacy graphql-ws client is sent a keep-alive instead.
	WebsocketPing time.Duration
	// WebsocketOperations is how many operations one websocket runs at
	// once; one caller runs twice as many across all their sockets
	// (socketops.go).
	WebsocketOperations int
	// OperationTimeout bounds each query and mutation a websocket runs, as
	// the request timeout bounds an HTTP request; 0 leaves them unbounded.
	// Subscriptions run until they end.
	OperationTimeout time.Duration
	// ResponseLimit is the largest response sent, in bytes.
	ResponseLimit int
	// Turns are the callers' turns (turns.go). Surfaces built with the
	// same Turns share them, so that a caller's operations over GraphQL
	// and over the REST dialects wait for each other; nil gives the
	// surface turns of its own.
	Turns *CallerTurns
	// Observer, when set, learns about every operation (metrics).
	Observer OperationObserver
	Logger   *slog.Logger
}

// Defaults, chosen so that the largest legitimate request (a full page of
// 100 users with their fields) fits with room to spare.
const (
	DefaultComplexityLimit  = 1000
	DefaultDepthLimit       = 12
	DefaultScanLimit        = 50
	DefaultParserTokenLimit = 15000
	DefaultWebsocketPing    = 15 * time.Second
	DefaultAPQMemory        = 8 << 20
	// maxRememberedDocument is the largest document APQ remembers.
	maxRememberedDocument = 64 << 10
	// signInCost is the price of one password hash (signIn, signUp, a
	// password set or checked): about 35 ms of CPU and 19 MB of memory
	// (argon2id), so that one operation computes at most two.
	signInCost = 400
)

// NewServer builds the GraphQL handler explicitly: named transports, a query
// cache, the limits, the introspection switch, the error presenter and the
// recover function.
func NewServer(r *Resolver, cfg ServerConfig) http.Handler {
	cfg = cfg.withDefaults()
	es := newExecutableSchema(r)
	srv := handler.New(es)

	ws := transport.Websocket{
		Implementation: deadlinesLiftedOnAccept{terminalOnce{transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{OriginPatterns: originHosts(cfg.AllowedOrigins)},
		}}},
		InitFunc:    websocketAuth(cfg.Authenticator, cfg.SocketCheckEvery, cfg.SocketTicks, cfg.Logger),
		InitTimeout: 10 * time.Second,
		// gqlgen sends keep-alives (ka) to legacy graphql-ws clients only,
		// and pings to graphql-transport-ws clients only. Those it pings
		// it also holds to a read deadline two intervals on, lifted by
		// each pong (terminalOnceConn passes it on): that is what closes
		// the socket of a client gone without closing, which TCP alone may
		// not notice for hours.
		KeepAlivePingInterval: cfg.WebsocketPing,
		PingPongInterval:      cfg.WebsocketPing,
	}
	if cfg.MessageLimit > 0 {
		ws.PayloadReadLimit = &cfg.MessageLimit
	}
	srv.AddTransport(ws)
	srv.AddTransport(transport.Options{})
	// One transport for GET and POST instead of gqlgen's transport.GET and
	// transport.POST: see HTTPTransport for what they get wrong.
	srv.AddTransport(HTTPTransport{})

	// The same execution settings as the in-process executor (executor.go).
	configureExecution(srv, es, r, cfg)
	// After configureExecution: a document sent with its hash is
	// remembered only once Admission has let it through.
	persisted := PersistedOperations{Trusted: cfg.TrustedDocuments, TrustedOnly: cfg.TrustedDocumentsOnly}
	if cfg.APQMemory > 0 {
		persisted.Remembered = NewSizedCache(cfg.APQMemory, maxRememberedDocument, func(hash, doc string) int { return len(hash) + len(doc) })
	}
	srv.Use(persisted)
	// The last operation context mutator, so that a websocket operation it
	// admits is one that runs.
	srv.Use(newWebsocketOperations(cfg.WebsocketOperations, cfg.OperationTimeout))
	srv.AroundOperations(socketAccess(cfg.Authenticator, cfg.Logger))
	// After socketAccess, which names a websocket operation's caller.
	srv.AroundOperations(introspectionFor(cfg.Introspection))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if ws.Supports(req) {
			req = req.WithContext(withSocket(req.Context()))
		}
		srv.ServeHTTP(w, req)
	})
}

// pageSize is the number of items a list field may return.
func pageSize(sizes ...*int) int {
	for _, n := range sizes {
		if n != nil {
			return min(max(*n, 0), MaxPageSize)
		}
	}
	return DefaultPageSize
}

// websocketAuth authenticates a websocket client by the Authorization
// value of its connection_init payload, as graphql-ws clients send it. A bad
// token closes the socket with 4403 (graphql-ws's Forbidden) and the auth
// message as the reason; a token that cannot be checked because the store is
// down closes it with 1013 (try again later), saying nothing of the store. A
// client that sends no token keeps the caller of the upgrade request's
// Authorization header, or stays anonymous. Either way the socket's token is
// then watched (socket.go).
func websocketAuth(a *auth.Authenticator, checkEvery time.Duration, ticks Ticks, logger *slog.Logger) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if header := payload.Authorization(); a != nil && header != "" {
			caller, err := a.Authenticate(ctx, header)
			message, refused := auth.Refused(err)
			switch {
			case refused:
				ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, closeForbidden), message)
				return ctx, nil, err
			case err != nil:
				logger.WarnContext(ctx, "token check failed", "request_id", middleware.GetReqID(ctx), "err", err)
				ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, int(websocket.StatusTryAgainLater)), msgUnavailable)
				return ctx, nil, errors.New(msgUnavailable)
			case caller != nil:
				ctx = auth.WithCaller(ctx, caller)
			}
		}
		if s := socketFrom(ctx); s != nil {
			ctx = s.watch(ctx, a, auth.CallerFrom(ctx), checkEvery, ticks, logger)
		}
		return ctx, nil, nil
	}
}

// deadlinesLiftedOnAccept lifts the server's read and write deadlines from
// a connection once its websocket handshake has succeeded: they bound one
// request, not a subscription that streams for hours (keep-alive pings
// watch it instead). Until then they bound the handshake, so a request
// that merely carries an Upgrade header is cut off as any other.
type deadlinesLiftedOnAccept struct {
	transport.WebsocketImplementation
}

// Accept implements transport.WebsocketImplementation.
func (d deadlinesLiftedOnAccept) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := d.WebsocketImplementation.Accept(w, r, opts)
	if err == nil {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
	}
	return conn, err
}

// originHosts turns allowed origins (https://app.example.com) into the
// patterns the websocket library matches. Each keeps its scheme, which the
// library then compares with the host: a page on http://app.example.com,
// which anyone on the path can write, is not https://app.example.com.
func originHosts(origins []string) []string {
	hosts := make([]string, 0, len(origins))
	for _, o := range origins {
		if o == "*" {
			hosts = append(hosts, "*")
			continue
		}
		if u, err := url.Parse(o); err == nil && u.Scheme != "" && u.Host != "" {
			hosts = append(hosts, u.Scheme+"://"+u.Host)
		}
	}
	return hosts
}

// Response media types of GraphQL over HTTP.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// HTTPTransport serves GraphQL over HTTP GET and POST as the
// GraphQL-over-HTTP spec asks (its stage 2 draft, which graphql-http's
// server audit checks), where gqlgen's transport.GET and transport.POST do
// not:
//
//   - The response media type follows Accept, q-values included:
//     application/json when Accept is absent or only a wildcard,
//     application/graphql-response+json when the client prefers it, and 406
//     when neither is acceptable (gqlgen ignores q and answers anything).
//   - A request that is not well-formed (no query, a parameter of the wrong
//     type, a body that is not a JSON object) is 400, and the error never
//     quotes the request (gqlgen quotes the whole body back).
//   - A request error (the document does not parse or validate, the
//     variables do not coerce, a depth or complexity limit is passed) is 400
//     with application/graphql-response+json and 200 with application/json
//     (gqlgen answers 422), and the response has no data entry, as the
//     GraphQL spec asks of request errors (gqlgen sends "data": null).
//   - A mutation over GET is 405 with Allow: POST (gqlgen: 406, no Allow).
//   - A subscription is a request error over either method: subscriptions
//     are served over the websocket (gqlgen would answer the first event).
//
// Every answer carries its Content-Type with charset=utf-8. The body limit
// and the request Content-Type check are the HTTP layer's, in front of it.
type HTTPTransport struct{}

var _ graphql.Transport = HTTPTransport{}

// Supports implements graphql.Transport. Websocket upgrades reach the
// websocket transport first.
func (HTTPTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodPost
}

// Do implements graphql.Transport.
func (HTTPTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	mediaType, ok := responseMediaType(r.Header.Values("Accept"))
	if !ok {
		w.Header().Set("Content-Type", mediaJSON+"; charset=utf-8")
		writeRequestErrors(w, http.StatusNotAcceptable, exec.DispatchError(ctx, codedErrors(
			"The response can be application/graphql-response+json or application/json; the Accept header allows neither.", CodeNotAcceptable)))
		return
	}
	w.Header().Set("Content-Type", mediaType+"; charset=utf-8")
	// A request error leaves no data: the graphql-response+json client reads
	// that from the status, the legacy application/json one from the body.
	requestErrorStatus := http.StatusOK
	if mediaType == mediaGraphQLResponse {
		requestErrorStatus = http.StatusBadRequest
	}

	start := graphql.Now()
	params, problem := readGraphQLParams(r)
	if problem != "" {
		writeRequestErrors(w, http.StatusBadRequest, exec.DispatchError(ctx, codedErrors(problem, CodeBadRequest)))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		writeRequestErrors(w, requestErrorStatus, exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs))
		return
	}
	switch op := opCtx.Operation.Operation; {
	case op == ast.Mutation && r.Method == http.MethodGet:
		w.Header().Set("Allow", http.MethodPost)
		writeRequestErrors(w, http.StatusMethodNotAllowed, exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), codedErrors(
			"Mutations cannot be sent with GET; send them with POST.", CodeMethodNotAllowed)))
		return
	case op == ast.Subscription:
		writeRequestErrors(w, requestErrorStatus, exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), codedErrors(
			"Subscriptions are served over a websocket (graphql-transport-ws), not over plain HTTP.", CodeBadRequest)))
		return
	}

	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	resp := responses(ctx)
	if resp == nil {
		resp = &graphql.Response{Errors: codedErrors(msgInternal, CodeInternal)}
	}
	if isResponseTooLarge(resp) {
		// Nothing of the answer is sent: no data, as for a request error.
		writeRequestErrors(w, requestErrorStatus, resp)
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		writeRequestErrors(w, http.StatusInternalServerError, &graphql.Response{Errors: codedErrors(msgInternal, CodeInternal)})
		return
	}
	_, _ = w.Write(b)
}

func codedErrors(message, code string) gqlerror.List {
	return gqlerror.List{{Message: message, Extensions: map[string]any{"code": code}}}
}

// writeRequestErrors answers a request that was not executed: errors and no
// data entry.
func writeRequestErrors(w http.ResponseWriter, status int, resp *graphql.Response) {
	b, _ := json.Marshal(struct {
		Errors     gqlerror.List  `json:"errors"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{resp.Errors, resp.Extensions})
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// responseMediaType picks the response media type from the Accept header
// (RFC 9110): for each of the two types the most specific matching range
// gives its q; the higher q wins; at equal q application/graphql-response+json
// wins if named, application/json (the legacy default) otherwise, as it does
// when Accept is absent. ok is false when neither type is acceptable.
func responseMediaType(accept []string) (mediaType string, ok bool) {
	if strings.TrimSpace(strings.Join(accept, "")) == "" {
		return mediaJSON, true
	}
	type grade struct {
		q           float64
		specificity int // 2 the type itself, 1 application/*, 0 */*, -1 no range
	}
	jsonGrade, gqlGrade := grade{specificity: -1}, grade{specificity: -1}
	for _, value := range accept {
		for part := range strings.SplitSeq(value, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(s, 64); err != nil || q < 0 || q > 1 {
					continue
				}
			}
			if s := acceptSpecificity(mt, mediaJSON); s > jsonGrade.specificity {
				jsonGrade = grade{q, s}
			}
			if s := acceptSpecificity(mt, mediaGraphQLResponse); s > gqlGrade.specificity {
				gqlGrade = grade{q, s}
			}
		}
	}
	jsonOK := jsonGrade.specificity >= 0 && jsonGrade.q > 0
	gqlOK := gqlGrade.specificity >= 0 && gqlGrade.q > 0
	switch {
	case !jsonOK && !gqlOK:
		return "", false
	case !gqlOK:
		return mediaJSON, true
	case !jsonOK, gqlGrade.q > jsonGrade.q:
		return mediaGraphQLResponse, true
	case jsonGrade.q > gqlGrade.q:
		return mediaJSON, true
	case gqlGrade.specificity == 2:
		return mediaGraphQLResponse, true
	}
	return mediaJSON, true
}

func acceptSpecificity(mediaRange, mediaType string) int {
	switch mediaRange {
	case mediaType:
		return 2
	case "application/*":
		return 1
	case "*/*", "*":
		return 0
	}
	return -1
}

// readGraphQLParams reads the GraphQL-over-HTTP request parameters from the
// query string of a GET or the JSON object of a POST. problem says, without
// quoting the request, why it is not a well-formed request.
func readGraphQLParams(r *http.Request) (params *graphql.RawParams, problem string) {
	params = &graphql.RawParams{}
	var operationName, variables, extensions []byte
	if r.Method == http.MethodGet {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, "The query string could not be parsed."
		}
		params.Query = q.Get("query")
		operationName = jsonString(q.Get("operationName"))
		variables, extensions = []byte(q.Get("variables")), []byte(q.Get("extensions"))
	} else {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, "The request body could not be read."
		}
		// A map, not a struct: parameter names match exactly, as JSON keys do.
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			return nil, "The request body must be a JSON object."
		}
		if raw := fields["query"]; !isJSONNull(raw) {
			if err := json.Unmarshal(raw, &params.Query); err != nil {
				return nil, "The query parameter must be a string."
			}
		}
		operationName, variables, extensions = fields["operationName"], fields["variables"], fields["extensions"]
	}
	if !isJSONNull(operationName) {
		if err := json.Unmarshal(operationName, &params.OperationName); err != nil {
			return nil, "The operationName parameter must be a string."
		}
	}
	if !decodeJSONObject(variables, &params.Variables) {
		return nil, "The variables parameter must be a JSON object."
	}
	if !decodeJSONObject(extensions, &params.Extensions) {
		return nil, "The extensions parameter must be a JSON object."
	}
	// A persisted query's hash stands for its document (persisted.go).
	if params.Query == "" && params.Extensions["persistedQuery"] == nil {
		return nil, "The query parameter must hold a GraphQL document."
	}
	return params, ""
}

// jsonString encodes a query-string value as JSON, so that GET and POST
// parameters are read alike; the empty string is no value.
func jsonString(s string) []byte {
	if s == "" {
		return nil
	}
	b, _ := json.Marshal(s)
	return b
}

func isJSONNull(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// decodeJSONObject decodes an optional JSON object, keeping numbers as
// json.Number as gqlgen's own transports do (so that Int and ID variables
// coerce exactly). Absent and null are no value; anything else is false.
func decodeJSONObject(raw []byte, into *map[string]any) bool {
	if isJSONNull(raw) {
		return true
	}
	if raw = bytes.TrimSpace(raw); raw[0] != '{' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return false
	}
	_, err := dec.Token()
	return err == io.EOF
}
