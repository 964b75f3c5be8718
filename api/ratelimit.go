package api

import (
	"container/list"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datadragon/datadragon/app/wire"
)

// RateLimit limits the requests of each client. A client is an IP
// address (an IPv6 client is its /64, which one host can fill with
// addresses); each has two token buckets: writes (every method but GET
// and HEAD: uploads, /v1/tx, signed chunks, /v1/zk/verify,
// /v1/receipts/verify; and the WebSocket push, which is a GET) and reads
// (everything else, a WebSocket feed counting once, when it connects). A
// request over its client's limit is answered 429 with Retry-After and a
// JSON error saying when to retry.
//
// The zero value is the defaults: reads DefaultReadRate per second in
// bursts of DefaultReadBurst, writes DefaultWriteRate per second in bursts
// of DefaultWriteBurst, loopback clients exempt, X-Forwarded-For ignored,
// at most DefaultRateLimitClients clients tracked.
type RateLimit struct {
	// ReadRate is the reads a client may make per second, sustained; 0
	// means DefaultReadRate, negative lifts the limit on reads.
	ReadRate float64
	// ReadBurst is the reads a client may make at once, after a pause; 0
	// means DefaultReadBurst, negative lifts the limit on reads.
	ReadBurst int
	// WriteRate and WriteBurst are the same for writes: 0 means
	// DefaultWriteRate and DefaultWriteBurst, negative lifts the limit.
	WriteRate  float64
	WriteBurst int
	// Loopback limits loopback clients too (127.0.0.0/8, ::1), who are
	// otherwise exempt: devnet, tests and tools on the node's own machine.
	// A reverse proxy on the node's machine makes every client a loopback
	// client: list it in TrustedProxies, or set Loopback.
	Loopback bool
	// TrustedProxies are the addresses ("10.0.0.5") and networks
	// ("10.0.0.0/8") of reverse proxies whose X-Forwarded-For is believed:
	// for a request from one of them, the client is the right-most address
	// of X-Forwarded-For that is not a trusted proxy. Without them the
	// header is ignored: any client can write it.
	TrustedProxies []string
	// MaxClients bounds the clients tracked; 0 means
	// DefaultRateLimitClients. A client is forgotten once its buckets have
	// refilled; when MaxClients are tracked, a new client makes the least
	// recently seen one forgotten (its next request starts a full bucket).
	MaxClients int
}

// Defaults of RateLimit. The explorer polls a few routes every 500 ms to
// 2 s and uploads in 4 MiB parts; the reads of a page load and a
// sequential download of receipts fit a burst.
const (
	DefaultReadRate         = 100
	DefaultReadBurst        = 400
	DefaultWriteRate        = 20
	DefaultWriteBurst       = 100
	DefaultRateLimitClients = 10000
)

// Rate-limit classes.
const (
	classRead = iota
	classWrite
	numClasses
)

var classNames = [numClasses]string{"read", "write"}

// bucketSpec is one class's limit; a rate of 0 means unlimited.
type bucketSpec struct {
	rate, burst float64
}

// guard admits requests: it applies the per-client rate limits and bounds
// the bodies of the push routes, which the API hands to Config.Push.
type guard struct {
	spec     [numClasses]bucketSpec
	loopback bool
	proxies  []netip.Prefix
	max      int
	idle     time.Duration // a client idle this long has full buckets
	now      func() time.Time

	// The body limits of POST /v1/push/{stream} (an upload part) and of
	// the other POST push routes (a transaction: /v1/tx, …/chunk).
	maxUpload, maxTx int64

	limited *prometheus.CounterVec

	mu      sync.Mutex
	clients map[netip.Prefix]*list.Element // of *client
	lru     list.List                      // front: most recently seen
}

// client is one client's buckets, as of last.
type client struct {
	key    netip.Prefix
	last   time.Time
	tokens [numClasses]float64
}

// pushUploadBytes is gateway.MaxUploadPart (a test checks they agree).
const pushUploadBytes = 64 << 20

// otherClient is the key of clients whose address is not an IP address
// (a server on a Unix socket): they share one bucket.
var otherClient = netip.Prefix{}

func newGuard(cfg RateLimit, reg *prometheus.Registry) (*guard, error) {
	g := &guard{loopback: cfg.Loopback, max: cfg.MaxClients, now: time.Now, maxUpload: pushUploadBytes,
		maxTx: wire.MaxTxBytes, clients: map[netip.Prefix]*list.Element{}}
	spec := func(rate float64, burst int, defRate float64, defBurst int, what string) (bucketSpec, error) {
		if math.IsNaN(rate) || math.IsInf(rate, 0) {
			return bucketSpec{}, fmt.Errorf("api: RateLimit.%sRate %v is not a number of requests per second", what, rate)
		}
		if rate < 0 || burst < 0 {
			return bucketSpec{}, nil
		}
		if rate == 0 {
			rate = defRate
		}
		if burst == 0 {
			burst = defBurst
		}
		return bucketSpec{rate: rate, burst: float64(burst)}, nil
	}
	var err error
	if g.spec[classRead], err = spec(cfg.ReadRate, cfg.ReadBurst, DefaultReadRate, DefaultReadBurst, "Read"); err != nil {
		return nil, err
	}
	if g.spec[classWrite], err = spec(cfg.WriteRate, cfg.WriteBurst, DefaultWriteRate, DefaultWriteBurst, "Write"); err != nil {
		return nil, err
	}
	for _, s := range g.spec {
		if s.rate > 0 {
			g.idle = max(g.idle, time.Duration(math.Ceil(s.burst/s.rate*float64(time.Second))))
		}
	}
	if g.max <= 0 {
		g.max = DefaultRateLimitClients
	}
	for _, p := range cfg.TrustedProxies {
		pfx, err := parsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("api: RateLimit.TrustedProxies: %q is neither an IP address nor a network (10.0.0.0/8): %v", p, err)
		}
		g.proxies = append(g.proxies, pfx)
	}
	g.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "datadragon_http_rate_limited_total",
		Help: "API requests answered 429 because their client was over its rate limit, by class (read, write).",
	}, []string{"class"})
	tracked := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "datadragon_http_rate_limit_clients",
		Help: "Clients the API's rate limiter tracks (those whose buckets have not refilled).",
	}, func() float64 { return float64(g.tracked()) })
	for _, c := range []prometheus.Collector{g.limited, tracked} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("api: registering metrics (one Handler per registry): %w", err)
		}
	}
	for _, c := range classNames {
		g.limited.WithLabelValues(c) // the series exist from the start
	}
	return g, nil
}

// parsePrefix reads an IP address or a network.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// admit is wrap's first step: it answers 429 and returns false when the
// request's client is over its limit, and bounds the body of a POST to a
// push route (answering 413 at once when it declares a larger one).
func (g *guard) admit(sw *statusWriter, r *http.Request, route string) bool {
	class := classRead
	if r.Method != http.MethodGet && r.Method != http.MethodHead ||
		route == "/v1/push" && strings.HasSuffix(r.URL.Path, "/ws") {
		class = classWrite
	}
	if wait, who, ok := g.allow(r, class); !ok {
		g.limited.WithLabelValues(classNames[class]).Inc()
		tooMany(sw, class, who, wait, g.spec[class])
		return false
	}
	if r.Method == http.MethodPost && (route == "/v1/push" || route == "/v1/tx") {
		limit := g.maxTx
		if route == "/v1/push" && !strings.Contains(strings.TrimPrefix(r.URL.Path, "/v1/push/"), "/") {
			limit = g.maxUpload
		}
		if r.ContentLength > limit {
			writeError(sw, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body has %d bytes; %s takes at most %d per request", r.ContentLength, route, limit))
			return false
		}
		// One byte more than the limit: the gateway reads that much to
		// tell an oversized body, and answers it itself.
		r.Body = http.MaxBytesReader(sw.ResponseWriter, r.Body, limit+1)
	}
	return true
}

// rateLimited is the body of a 429.
type rateLimited struct {
	Error string `json:"error"`
	// RetryAfterMs is when the next request of the class will be taken;
	// the Retry-After header has it in whole seconds, rounded up.
	RetryAfterMs int64 `json:"retry_after_ms"`
}

func tooMany(w http.ResponseWriter, class int, who string, wait time.Duration, s bucketSpec) {
	secs := max(1, int64(math.Ceil(wait.Seconds())))
	ms := max(1, int64((wait+time.Millisecond-1)/time.Millisecond))
	what := "reads"
	if class == classWrite {
		what = "writes (POST, WebSocket push)"
	}
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	writeJSON(w, http.StatusTooManyRequests, rateLimited{RetryAfterMs: ms, Error: fmt.Sprintf(
		"too many requests from %s: %s are limited to %s per second in bursts of %s; retry in %s (Retry-After)",
		who, what, strconv.FormatFloat(s.rate, 'g', 4, 64), strconv.FormatFloat(s.burst, 'g', -1, 64), fmtWait(wait))})
}

func fmtWait(d time.Duration) string {
	if d < time.Millisecond {
		return "1 ms"
	}
	if d < time.Second {
		return fmt.Sprintf("%d ms", (d+time.Millisecond-1)/time.Millisecond)
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// allow takes a token of class from the request's client. When there is
// none it returns how long until there is one, and who the client is.
func (g *guard) allow(r *http.Request, class int) (time.Duration, string, bool) {
	s := g.spec[class]
	if s.rate <= 0 {
		return 0, "", true
	}
	key, loopback := g.clientOf(r)
	if loopback && !g.loopback {
		return 0, "", true
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.evictIdle(now)
	var c *client
	if e, ok := g.clients[key]; ok {
		c = e.Value.(*client)
		g.lru.MoveToFront(e)
		if el := now.Sub(c.last); el > 0 {
			for i, sp := range g.spec {
				if sp.rate > 0 {
					c.tokens[i] = min(sp.burst, c.tokens[i]+el.Seconds()*sp.rate)
				}
			}
			c.last = now
		}
	} else {
		for len(g.clients) >= g.max {
			g.forget(g.lru.Back())
		}
		c = &client{key: key, last: now}
		for i, sp := range g.spec {
			c.tokens[i] = sp.burst
		}
		g.clients[key] = g.lru.PushFront(c)
	}
	if c.tokens[class] >= 1 {
		c.tokens[class]--
		return 0, "", true
	}
	wait := time.Duration(math.Round((1 - c.tokens[class]) / s.rate * float64(time.Second)))
	return wait, clientName(key), false
}

// evictIdle forgets the clients whose buckets have refilled: they are the
// least recently seen.
func (g *guard) evictIdle(now time.Time) {
	for e := g.lru.Back(); e != nil; e = g.lru.Back() {
		if now.Sub(e.Value.(*client).last) < g.idle {
			return
		}
		g.forget(e)
	}
}

func (g *guard) forget(e *list.Element) {
	delete(g.clients, e.Value.(*client).key)
	g.lru.Remove(e)
}

func (g *guard) tracked() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.clients)
}

// clientOf returns the request's client key and whether the client is on
// loopback.
func (g *guard) clientOf(r *http.Request) (netip.Prefix, bool) {
	a, ok := remoteAddr(r.RemoteAddr)
	if !ok {
		return otherClient, false
	}
	if len(g.proxies) > 0 && g.trusted(a) {
		a = g.forwardedFor(r.Header, a)
	}
	if a.Is4() {
		return netip.PrefixFrom(a, 32), a.IsLoopback()
	}
	p, _ := a.Prefix(64)
	if a.IsLoopback() {
		p = netip.PrefixFrom(a, 128)
	}
	return p, a.IsLoopback()
}

// remoteAddr reads the host of an http.Request's RemoteAddr.
func remoteAddr(s string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

func (g *guard) trusted(a netip.Addr) bool {
	for _, p := range g.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor walks X-Forwarded-For from the right, from the trusted
// proxy peer, to the first hop that is not a trusted proxy: that is the
// client. A hop that is not an address stops the walk at the trusted
// proxy that wrote it.
func (g *guard) forwardedFor(hd http.Header, peer netip.Addr) netip.Addr {
	vals := hd.Values("X-Forwarded-For")
	client := peer
	for i := len(vals) - 1; i >= 0; i-- {
		hops := strings.Split(vals[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop := strings.TrimSpace(hops[j])
			if hop == "" {
				continue
			}
			a, ok := parseHop(hop)
			if !ok {
				return client
			}
			client = a
			if !g.trusted(a) {
				return a
			}
		}
	}
	return client
}

// parseHop reads one X-Forwarded-For entry: an address, maybe with a
// port ("203.0.113.7:5000", "[2001:db8::1]:5000").
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// clientName is how a 429 names its client.
func clientName(p netip.Prefix) string {
	switch {
	case !p.IsValid():
		return "this address"
	case p.Addr().Is4() || p.Bits() == 128:
		return p.Addr().String()
	default:
		return p.String()
	}
}
