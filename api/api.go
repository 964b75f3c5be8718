package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/datadragon/datadragon/api/explorer"
	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/receipt"
)

// Reader is the part of the app the API reads: committed state only, safe
// for concurrent use. *app.App satisfies it; tests use a fake.
type Reader interface {
	Status() (app.Status, error)
	Validators() ([]app.ValidatorInfo, error)
	Streams() ([]app.StreamInfo, error)
	Stream(id string) (app.StreamInfo, error)
	Record(stream string, index uint64) (*app.RecordView, error)
	Records(stream string, from uint64, limit int) ([]*app.RecordView, *uint64, error)
	Block(height int64) (*app.BlockInfo, error)
}

var _ Reader = (*app.App)(nil)

// Receipts builds receipts of accepted records (package receipt);
// node.Node satisfies it. Errors wrapping app.ErrNotFound answer 404.
type Receipts interface {
	Receipt(stream string, index uint64) (*receipt.Receipt, error)
}

// NodeInfo describes the node serving the API.
type NodeInfo struct {
	// Moniker is the node's name (node.Config.Moniker).
	Moniker string
	// Version is the build's version; optional.
	Version string
	// Height returns CometBFT's block-store height (node.Node.Height);
	// nil leaves it out of /v1/status and /metrics.
	Height func() int64
}

// Config is what New needs. Only App is required.
type Config struct {
	// App is the state the API serves (the node's *app.App).
	App Reader
	// Receipts serves GET /v1/receipts/{stream}/{index}; nil answers 501.
	Receipts Receipts
	// Node is shown in /v1/status and /healthz.
	Node NodeInfo
	// Feed carries decided records to WebSocket subscribers; the node
	// feeds it with Feed.Publish from app.Config.OnCommit. Nil makes a
	// feed with default options (Handler.Feed returns it).
	Feed *Feed
	// Registry receives the API's metrics and is served at /metrics. Nil
	// makes a private one. Give each node its own: several nodes run in
	// one process in devnet, so the global registry is never used.
	Registry *prometheus.Registry
	// Logger; nil discards.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (POST /v1/zk/verify); 0 means
	// DefaultMaxBodyBytes. Larger bodies are answered 413.
	MaxBodyBytes int64
	// MaxVerifications bounds the proofs and signatures verified at once
	// by POST /v1/zk/verify and the receipts verified at once by POST
	// /v1/receipts/verify (one pool for both); 0 means GOMAXPROCS. A
	// request arriving when all are busy is answered 503 at once.
	MaxVerifications int
	// HealthTTL is how long /healthz reuses its self-check result; 0 means
	// DefaultHealthTTL.
	HealthTTL time.Duration
	// OriginPatterns are the browser origins, besides the API's own host,
	// that may open the WebSocket feed (github.com/coder/websocket
	// AcceptOptions.OriginPatterns, e.g. "explorer.example.org"). Clients
	// that send no Origin header (every non-browser client) are always
	// accepted.
	OriginPatterns []string
	// Push serves the gateway's push API (/v1/push/… and POST /v1/tx,
	// package gateway); nil answers 501.
	Push http.Handler
	// SourceStatus returns, by observed stream, what this node's observer
	// has to say about the stream's source when it is not simply
	// delivering (unreachable, or behind the seq this node waits for);
	// /v1/streams shows it. Nil: nothing.
	SourceStatus func() map[string]string
	// FetchFinding returns what this node's validator found when it
	// fetched a pushed chunk's bytes (nil: nothing known); GET
	// /v1/records/{stream}/{index} shows it as "local_fetch".
	// Nil: nothing.
	FetchFinding func(stream string, index uint64) *FetchFinding
	// PushErrors returns, by stream, why this node's gateway takes no
	// pushes for a stream: its log could not be opened, or a write to it
	// failed (gateway.Gateway.StreamErrors); /v1/streams and /healthz show
	// it. Nil: none.
	PushErrors func() map[string]string
	// Genesis returns the chain's genesis document, the trust anchor of
	// POST /v1/receipts/verify; nil answers 501.
	Genesis func() (*cmttypes.GenesisDoc, error)
	// RateLimit limits each client's requests (429 over the limit); the
	// zero value is the defaults, loopback clients exempt. It also bounds
	// the bodies of the POST push routes to what the gateway takes.
	RateLimit RateLimit
}

// Limits and defaults.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultPageSize     = 100
	MaxPageSize         = app.MaxPageSize
	DefaultHealthTTL    = 30 * time.Second
)

// Handler is the node's HTTP API: an http.Handler serving /v1/...,
// /healthz and /metrics. Create it with New.
type Handler struct {
	app      Reader
	receipts Receipts
	push     http.Handler
	srcStat  func() map[string]string
	// fetchFinding: Config.FetchFinding
	fetchFinding func(stream string, index uint64) *FetchFinding
	pushErrs     func() map[string]string
	genesis      func() (*cmttypes.GenesisDoc, error)
	node         NodeInfo
	log          *slog.Logger
	feed         *Feed
	registry     *prometheus.Registry
	mux          *http.ServeMux
	maxBody      int64
	verifies     chan struct{} // semaphore of POST /v1/zk/verify and /v1/receipts/verify
	health       *selfCheck
	metrics      *metrics
	guard        *guard // rate limits and push body limits (ratelimit.go)
	origins      []string
	routes       []routeInfo

	maxReceipt, maxData int64 // POST /v1/receipts/verify: MaxReceiptBytes, MaxReceiptDataBytes (tests lower them)

	feedWriteHook func() // tests: runs before each feed write
}

// New returns the API handler. It registers its metrics in cfg.Registry
// and fails if they are already there (one Handler per registry).
func New(cfg Config) (*Handler, error) {
	if cfg.App == nil {
		return nil, errors.New("api: Config.App is required")
	}
	h := &Handler{app: cfg.App, receipts: cfg.Receipts, push: cfg.Push, pushErrs: cfg.PushErrors, srcStat: cfg.SourceStatus, fetchFinding: cfg.FetchFinding, genesis: cfg.Genesis, node: cfg.Node, log: cfg.Logger, feed: cfg.Feed, registry: cfg.Registry,
		maxBody: cfg.MaxBodyBytes, origins: cfg.OriginPatterns, maxReceipt: MaxReceiptBytes, maxData: MaxReceiptDataBytes}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if h.feed == nil {
		h.feed = NewFeed(FeedOptions{})
	}
	if h.registry == nil {
		h.registry = prometheus.NewRegistry()
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	n := cfg.MaxVerifications
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	h.verifies = make(chan struct{}, n)
	ttl := cfg.HealthTTL
	if ttl <= 0 {
		ttl = DefaultHealthTTL
	}
	h.health = &selfCheck{ttl: ttl}
	m, err := newMetrics(h)
	if err != nil {
		return nil, err
	}
	h.metrics = m
	if h.guard, err = newGuard(cfg.RateLimit, h.registry); err != nil {
		return nil, err
	}
	h.routes = h.routeTable()
	h.mux = http.NewServeMux()
	for _, rt := range h.routes {
		for _, p := range rt.patterns {
			h.mux.Handle(p, h.wrap(rt))
		}
	}
	h.mux.Handle("/", h.wrap(routeInfo{label: "unmatched", methods: []string{"*"}, fn: h.notFound}))
	return h, nil
}

// ServeHTTP serves the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Feed returns the feed the handler serves (Config.Feed or the one New
// made).
func (h *Handler) Feed() *Feed { return h.feed }

// Registry returns the registry /metrics serves.
func (h *Handler) Registry() *prometheus.Registry { return h.registry }

// Server returns an http.Server for the handler with timeouts that keep a
// slow or idle client from holding a connection: 5 s to send the headers,
// 30 s for the whole request, 60 s to write a response, 2 min idle, 64 KiB
// of headers. The WebSocket feed lifts the read and write deadlines of its
// own connections. Start it with ListenAndServe; stop it with Shutdown,
// then Feed.Close to end the feed's connections, which Shutdown does not
// track. To serve HTTPS only, set its TLSConfig from LoadTLS and start it
// with ServeTLS(listener, "", ""): a plain HTTP request on that port is
// then answered 400 and nothing else is served.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// routeInfo is one endpoint.
type routeInfo struct {
	patterns []string // ServeMux patterns (no method: the wrapper checks it)
	label    string   // the route label of the metrics, and the path in the index
	methods  []string // allowed methods; GET implies HEAD
	about    string
	fn       http.HandlerFunc
}

func (h *Handler) routeTable() []routeInfo {
	get := []string{http.MethodGet}
	return []routeInfo{
		{[]string{"/v1", "/v1/{$}"}, "/v1", get, "this list of routes", h.index},
		{[]string{"/v1/status"}, "/v1/status", get, "chain id, height, app hash, consensus parameters, this node", h.status},
		{[]string{"/v1/validators"}, "/v1/validators", get, "validators with power and attested/agreed/faulty/absent counts", h.validators},
		{[]string{"/v1/governance"}, "/v1/governance", get, "the validator set's history (who joined, left or changed power, when, with which approvals), every registered validator with its power and governance nonce, and the open proposals", h.governance},
		{[]string{"/v1/streams"}, "/v1/streams", get, "registered streams with accepted/disputed counts", h.streams},
		{[]string{"/v1/streams/{id}"}, "/v1/streams/{id}", get, "one stream", h.stream},
		{[]string{"/v1/streams/{id}/records"}, "/v1/streams/{id}/records", get, "decided records of a stream in index order (a raw stream: its accepted chunks in position order); ?from=INDEX|POSITION&limit=1..1000 (default 100); next is the from of the next page", h.records},
		{[]string{"/v1/streams/{id}/feed"}, "/v1/streams/{id}/feed", get, "WebSocket: one JSON text message per record decided from now on", h.feedWS},
		{[]string{"/v1/records/{stream}/{index}"}, "/v1/records/{stream}/{index}", get, "one chunk's record with every validator's attestation, verdict and outcome", h.record},
		{[]string{"/v1/receipts/{stream}/{index}"}, "/v1/receipts/{stream}/{index}", get, "an accepted record's receipt, verifiable offline with 'datadragon verify' (404 until the next block is committed); ?format=ddr: the same as a binary file receipt (.ddr), smaller", h.receipt},
		{[]string{"/v1/receipts/verify"}, "/v1/receipts/verify", []string{http.MethodPost}, "a convenience: verify a receipt against this node's genesis. multipart/form-data with a 'receipt' part (≤ 16 MiB) and an optional 'data' part (the pushed file, the chunk's bytes or an observed chunk's JSON message list, ≤ 80 MiB), or the receipt JSON as the body; answers {\"valid\":true,\"stream\",\"index\",\"digest\",\"checked\":[…]} or {\"valid\":false,\"link\",\"error\"}. It trusts this node; the authoritative check is offline, with no node: 'datadragon verify RECEIPT --genesis genesis.json [--data FILE]'", h.verifyReceipt},
		{[]string{"/v1/push/{stream}", "/v1/push/{stream}/{rest...}"}, "/v1/push", []string{http.MethodGet, http.MethodPost}, "push mode: POST /v1/push/STREAM?upload=ID&offset=N&end=0|1 uploads bytes (acknowledged once durable); GET …/uploads/ID, …/chunks?upload=ID, …/ws?session=ID (WebSocket push), POST …/chunk (a producer-signed chunk)", h.pushAPI},
		{[]string{"/v1/data/{digest}"}, "/v1/data/{digest}", []string{http.MethodGet}, "the bytes of a chunk pushed through this node, by the digest its record and receipt carry (content-addressed)", h.pushAPI},
		{[]string{"/v1/fetch/{content}"}, "/v1/fetch/{content}", []string{http.MethodGet}, "a pushed chunk's bytes by the content id its transaction names, for validators fetching it (this node's own pushes and chunks it fetched)", h.pushAPI},
		{[]string{"/v1/tx"}, "/v1/tx", []string{http.MethodPost}, "submit a signed stream registration or expert judgement (binary transaction)", h.pushAPI},
		{[]string{"/v1/blocks/{height}"}, "/v1/blocks/{height}", get, "what a committed block decided (height or 'latest')", h.block},
		{[]string{"/v1/zk/verify"}, "/v1/zk/verify", []string{http.MethodPost}, `verify a Ziggy signature {"kind":"signature","public_key","message[_b64|_hex]","signature[_b64|_hex]"} or a Rescue-chain proof {"kind":"chain","proof[_b64|_hex]"}`, h.verify},
		{[]string{"/healthz"}, "/healthz", get, "ok, chain height and a cached Rescue-chain prove+verify self-check", h.healthz},
		{[]string{"/metrics"}, "/metrics", get, "Prometheus metrics (datadragon_*)", h.metricsHandler()},
		{[]string{"/{$}", explorer.Prefix}, "/", get, "the explorer web UI: one page (assets under " + explorer.Prefix + "), views at #/streams/ID, #/records/STREAM/INDEX, #/blocks/HEIGHT", explorer.Handler().ServeHTTP},
	}
}

func (h *Handler) pushAPI(w http.ResponseWriter, r *http.Request) {
	if h.push == nil {
		writeError(w, http.StatusNotImplemented, "this node runs no gateway")
		return
	}
	h.push.ServeHTTP(w, r)
}

// wrap adds method checking, panic recovery and metrics to a route.
func (h *Handler) wrap(rt routeInfo) http.Handler {
	allow := strings.Join(rt.methods, ", ")
	if allow == http.MethodGet {
		allow = "GET, HEAD"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, http1: r.ProtoMajor == 1}
		body := r.Body // the handler may wrap it; a refused body is drained from here
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				buf := make([]byte, 4096)
				buf = buf[:runtime.Stack(buf, false)]
				h.log.Error("api: handler panicked", "route", rt.label, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(buf))
				if sw.code == 0 {
					writeError(sw, http.StatusInternalServerError, "internal error; the node's log has the details")
				}
			}
			h.metrics.observe(rt.label, sw.code, time.Since(start))
		}()
		defer func() {
			if sw.code == http.StatusRequestEntityTooLarge && sw.http1 {
				drainRefused(w, body, r.ContentLength)
			}
		}()
		if !h.guard.admit(sw, r, rt.label) {
			return
		}
		if !methodAllowed(rt.methods, r.Method) {
			w.Header().Set("Allow", allow)
			writeError(sw, http.StatusMethodNotAllowed, fmt.Sprintf("method %.16s is not allowed on %s; use %s", r.Method, rt.label, allow))
			return
		}
		rt.fn(sw, r)
	})
}

func methodAllowed(allowed []string, m string) bool {
	for _, a := range allowed {
		if a == "*" || a == m || a == http.MethodGet && m == http.MethodHead {
			return true
		}
	}
	return false
}

// statusWriter records the status code for the metrics. Unwrap lets the
// WebSocket upgrade reach the connection's Hijacker.
type statusWriter struct {
	http.ResponseWriter
	code  int
	http1 bool // HTTP/1.x: a refused body is drained (drainRefused)
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	if code == http.StatusRequestEntityTooLarge && s.http1 {
		// The rest of the body is drained, not served: this connection
		// ends with the answer (drainRefused). HTTP/2 needs neither: a
		// refused stream is reset alone, its connection goes on.
		s.Header().Set("Connection", "close")
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "internal error encoding the response: " + err.Error()})
	}
	b = append(b, '\n')
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b)
}

// appError answers an error of the Reader: 404 for app.ErrNotFound (with
// notFound as the message), 503 before the chain is initialised and once
// the node's state file is found damaged (with the app's message, which
// names the file and tells the operator what to do), 500 otherwise.
func (h *Handler) appError(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	switch {
	case errors.Is(err, app.ErrNotFound):
		writeError(w, http.StatusNotFound, notFound)
	case errors.Is(err, app.ErrCorrupt):
		h.log.Error("api: the state file is damaged", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, damagedMessage(err))
	case errors.Is(err, app.ErrNotInitialised):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the chain is not initialised yet; retry in a few seconds, once the node has joined it")
	default:
		h.log.Error("api: reading state", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error reading the node's state; the node's log has the details")
	}
}

// damagedMessage is what clients and /healthz are told about a damaged
// state file: that this node serves nothing, and the app's error for its
// operator.
func damagedMessage(err error) string {
	return "this node's stored state is damaged, so it serves none of it; ask another node. For the operator: " + err.Error()
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint at %.64q; GET /v1 lists the routes", r.URL.Path))
}

// Route is one entry of GET /v1.
type Route struct {
	Path    string   `json:"path"`
	Methods []string `json:"methods"`
	About   string   `json:"about"`
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	out := struct {
		Service string  `json:"service"`
		Routes  []Route `json:"routes"`
	}{Service: "datadragon", Routes: []Route{}}
	for _, rt := range h.routes {
		out.Routes = append(out.Routes, Route{Path: rt.label, Methods: rt.methods, About: rt.about})
	}
	writeJSON(w, http.StatusOK, out)
}
