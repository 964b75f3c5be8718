package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datadragon/datadragon/gateway"
)

// fakeClock is the guard's clock in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// limitedAPI is a test API with the given rate limits on a fake clock.
func limitedAPI(t *testing.T, rl RateLimit, mod func(*Config)) (*testAPI, *fakeClock) {
	t.Helper()
	a := newTestAPI(t, func(c *Config) {
		c.RateLimit = rl
		if mod != nil {
			mod(c)
		}
	})
	clk := &fakeClock{t: fixtureTime}
	a.h.guard.now = clk.Now
	return a, clk
}

// from serves one request from the client at remote (host:port) and
// returns the recorder.
func (a *testAPI) from(remote, method, target string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	return w
}

// burst sends n requests from remote and returns how many were not 429.
func (a *testAPI) burst(remote, method, target string, n int, hdr ...string) int {
	ok := 0
	for range n {
		if a.from(remote, method, target, hdr...).Code != http.StatusTooManyRequests {
			ok++
		}
	}
	return ok
}

// check429 checks a 429: Retry-After in whole seconds, a JSON error and
// retry_after_ms; it returns retry_after_ms.
func check429(t *testing.T, w *httptest.ResponseRecorder) int64 {
	t.Helper()
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", w.Code, w.Body)
	}
	ra, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
	var body struct {
		Error        string `json:"error"`
		RetryAfterMs int64  `json:"retry_after_ms"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, "retry in") || body.RetryAfterMs < 1 {
		t.Fatalf("429 body %s (%v)", w.Body, err)
	}
	if int64(ra)*1000 < body.RetryAfterMs {
		t.Fatalf("Retry-After %d s is earlier than retry_after_ms %d", ra, body.RetryAfterMs)
	}
	return body.RetryAfterMs
}

// metricValue scrapes /metrics (from loopback, exempt) for one series.
func (a *testAPI) metricValue(t *testing.T, series string) float64 {
	t.Helper()
	w := a.from("127.0.0.1:9", http.MethodGet, "/metrics")
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no series %s in /metrics", series)
	return 0
}

func TestRateLimitBucket(t *testing.T) {
	a, clk := limitedAPI(t, RateLimit{ReadRate: 10, ReadBurst: 5, WriteRate: 2, WriteBurst: 3}, nil)
	const c = "203.0.113.7:40000"
	if n := a.burst(c, http.MethodGet, "/v1/status", 5); n != 5 {
		t.Fatalf("%d of the burst of 5 taken", n)
	}
	w := a.from(c, http.MethodGet, "/v1/status")
	if ms := check429(t, w); ms != 100 {
		t.Fatalf("retry_after_ms %d, want 100 (one read per 100 ms)", ms)
	}
	if !strings.Contains(w.Body.String(), "203.0.113.7") || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("429: %v %s", w.Header(), w.Body)
	}
	// Any route, any answer: a 404 costs a read too.
	check429(t, a.from(c, http.MethodGet, "/no/such/route"))
	// Writes have their own bucket.
	if n := a.burst(c, http.MethodPost, "/v1/zk/verify", 4); n != 3 {
		t.Fatalf("%d writes of 4 taken, want the burst of 3", n)
	}
	if ms := check429(t, a.from(c, http.MethodPost, "/v1/zk/verify")); ms != 500 {
		t.Fatalf("write retry_after_ms %d, want 500", ms)
	}
	// Another client is not affected.
	if n := a.burst("198.51.100.1:1", http.MethodGet, "/v1/status", 5); n != 5 {
		t.Fatalf("another client: %d of 5", n)
	}
	// 100 ms refill one read; 1 s refills the burst, no more.
	clk.Advance(100 * time.Millisecond)
	if n := a.burst(c, http.MethodGet, "/v1/status", 2); n != 1 {
		t.Fatalf("after 100 ms: %d reads, want 1", n)
	}
	clk.Advance(50 * time.Millisecond)
	if ms := check429(t, a.from(c, http.MethodGet, "/v1/status")); ms != 50 {
		t.Fatalf("half refilled: retry_after_ms %d, want 50", ms)
	}
	clk.Advance(time.Hour)
	if n := a.burst(c, http.MethodGet, "/v1/status", 10); n != 5 {
		t.Fatalf("after an hour: %d reads, want the burst of 5", n)
	}
	if n := a.burst(c, http.MethodPost, "/v1/zk/verify", 10); n != 3 {
		t.Fatalf("after an hour: %d writes, want the burst of 3", n)
	}
	// The metric: 429s by class; the route metric has them too.
	if v := a.metricValue(t, `datadragon_http_rate_limited_total{class="read"}`); v != 9 {
		t.Fatalf("read 429s: %v, want 9", v)
	}
	if v := a.metricValue(t, `datadragon_http_rate_limited_total{class="write"}`); v != 9 {
		t.Fatalf("write 429s: %v, want 9", v)
	}
	if v := a.metricValue(t, `datadragon_http_requests_total{code="429",route="/v1/status"}`); v != 8 {
		t.Fatalf("/v1/status 429s: %v, want 8", v)
	}
	// The other client, idle for an hour, is forgotten.
	if v := a.metricValue(t, "datadragon_http_rate_limit_clients"); v != 1 {
		t.Fatalf("tracked clients: %v, want 1", v)
	}
}

func TestRateLimitDefaults(t *testing.T) {
	a, _ := limitedAPI(t, RateLimit{}, nil)
	g := a.h.guard
	if g.spec[classRead] != (bucketSpec{DefaultReadRate, DefaultReadBurst}) || g.spec[classWrite] != (bucketSpec{DefaultWriteRate, DefaultWriteBurst}) ||
		g.max != DefaultRateLimitClients || g.loopback || len(g.proxies) != 0 {
		t.Fatalf("defaults: %+v", g)
	}
	if n := a.burst("203.0.113.7:1", http.MethodGet, "/v1/status", DefaultReadBurst+1); n != DefaultReadBurst {
		t.Fatalf("%d reads, want %d", n, DefaultReadBurst)
	}
	// Negative lifts a class's limit; the other keeps its own.
	for _, rl := range []RateLimit{{ReadRate: -1, WriteBurst: 2}, {ReadBurst: -1, WriteBurst: 2}} {
		b, _ := limitedAPI(t, rl, nil)
		if n := b.burst("203.0.113.7:1", http.MethodGet, "/v1/status", 1000); n != 1000 {
			t.Fatalf("%+v: %d of 1000 reads", rl, n)
		}
		if n := b.burst("203.0.113.7:1", http.MethodPost, "/v1/zk/verify", 3); n != 2 {
			t.Fatalf("%+v: %d of 3 writes", rl, n)
		}
		if len(b.h.guard.clients) != 1 {
			t.Fatalf("%+v: %d clients tracked", rl, len(b.h.guard.clients))
		}
	}
	// Bad configurations fail New.
	for _, rl := range []RateLimit{{TrustedProxies: []string{"proxy.example.org"}}, {TrustedProxies: []string{"10.0.0.0/33"}}} {
		if _, err := New(Config{App: newFixture(), RateLimit: rl}); err == nil || !strings.Contains(err.Error(), "TrustedProxies") {
			t.Fatalf("%+v: %v", rl, err)
		}
	}
}

func TestRateLimitLoopback(t *testing.T) {
	rl := RateLimit{ReadRate: 1, ReadBurst: 2, WriteRate: 1, WriteBurst: 2}
	a, _ := limitedAPI(t, rl, nil)
	for _, c := range []string{"127.0.0.1:5000", "127.9.9.9:1", "[::1]:5000", "[::ffff:127.0.0.1]:80"} {
		if n := a.burst(c, http.MethodGet, "/v1/status", 50); n != 50 {
			t.Fatalf("loopback %s: %d of 50 reads", c, n)
		}
		if n := a.burst(c, http.MethodPost, "/v1/zk/verify", 50); n != 50 {
			t.Fatalf("loopback %s: %d of 50 writes", c, n)
		}
	}
	if len(a.h.guard.clients) != 0 {
		t.Fatalf("exempt clients tracked: %d", len(a.h.guard.clients))
	}
	rl.Loopback = true
	b, _ := limitedAPI(t, rl, nil)
	if n := b.burst("127.0.0.1:5000", http.MethodGet, "/v1/status", 50); n != 2 {
		t.Fatalf("loopback limited: %d of 50 reads", n)
	}
	if n := b.burst("[::1]:5000", http.MethodGet, "/v1/status", 50); n != 2 {
		t.Fatalf("::1 limited: %d of 50 reads", n)
	}
}

func TestRateLimitClientIdentity(t *testing.T) {
	rl := RateLimit{ReadRate: 1, ReadBurst: 2}
	a, _ := limitedAPI(t, rl, nil)
	// The port does not make another client; an IPv6 /64 is one client.
	if n := a.burst("203.0.113.7:1", http.MethodGet, "/v1/status", 1) + a.burst("203.0.113.7:2", http.MethodGet, "/v1/status", 2); n != 2 {
		t.Fatalf("one IPv4 address, two ports: %d of 3", n)
	}
	if n := a.burst("[2001:db8:1:2::1]:1", http.MethodGet, "/v1/status", 1) + a.burst("[2001:db8:1:2:ffff::9]:2", http.MethodGet, "/v1/status", 2); n != 2 {
		t.Fatalf("one /64: %d of 3", n)
	}
	if n := a.burst("[2001:db8:1:3::1]:1", http.MethodGet, "/v1/status", 2); n != 2 {
		t.Fatalf("the next /64: %d of 2", n)
	}
	w := a.from("[2001:db8:1:2::5]:1", http.MethodGet, "/v1/status")
	check429(t, w)
	if !strings.Contains(w.Body.String(), "2001:db8:1:2::/64") {
		t.Fatalf("429 does not name the /64: %s", w.Body)
	}
	// X-Forwarded-For is ignored without trusted proxies: a client cannot
	// escape its bucket by writing it.
	if n := a.burst("203.0.113.7:1", http.MethodGet, "/v1/status", 5, "X-Forwarded-For", "198.51.100.99"); n != 0 {
		t.Fatalf("spoofed X-Forwarded-For: %d of 5", n)
	}
	if n := a.burst("203.0.113.7:1", http.MethodGet, "/v1/status", 5, "X-Forwarded-For", "127.0.0.1"); n != 0 {
		t.Fatalf("spoofed loopback X-Forwarded-For: %d of 5", n)
	}

	// Behind trusted proxies, the client is the right-most untrusted hop.
	rl.TrustedProxies = []string{"10.0.0.0/8", "127.0.0.1", " 2001:db8:ff::/48"}
	b, _ := limitedAPI(t, rl, nil)
	const proxy = "10.1.2.3:3128"
	if n := b.burst(proxy, http.MethodGet, "/v1/status", 3, "X-Forwarded-For", "198.51.100.7"); n != 2 {
		t.Fatalf("client behind the proxy: %d of 3", n)
	}
	if n := b.burst(proxy, http.MethodGet, "/v1/status", 2, "X-Forwarded-For", "198.51.100.8"); n != 2 {
		t.Fatalf("another client behind the proxy: %d of 2", n)
	}
	// What the client wrote left of what the proxy appended does not count;
	// a chain of trusted proxies is walked; a second header counts.
	for _, xff := range [][]string{
		{"X-Forwarded-For", "1.2.3.4, 198.51.100.7"},
		{"X-Forwarded-For", "5.6.7.8,198.51.100.7, 10.9.9.9"},
		{"X-Forwarded-For", "9.9.9.9", "X-Forwarded-For", "198.51.100.7:5555, 10.0.0.1"},
		{"X-Forwarded-For", "[2001:db8::1]:1, 198.51.100.7"},
	} {
		if n := b.burst(proxy, http.MethodGet, "/v1/status", 1, xff...); n != 0 {
			t.Fatalf("%q: not counted as 198.51.100.7", xff)
		}
	}
	// A garbled hop or no header: the proxy is the client.
	if n := b.burst(proxy, http.MethodGet, "/v1/status", 3, "X-Forwarded-For", "unknown, 10.0.0.2"); n != 2 {
		t.Fatalf("garbled hop: %d of 3", n)
	}
	if n := b.burst("10.0.0.2:1", http.MethodGet, "/v1/status", 1); n != 0 {
		t.Fatalf("the garbled hop was not charged to the proxy 10.0.0.2 that wrote it")
	}
	// A trusted proxy on loopback: its clients are limited, requests
	// without the header (the node's own machine) are not.
	if n := b.burst("127.0.0.1:1", http.MethodGet, "/v1/status", 3, "X-Forwarded-For", "203.0.113.50"); n != 2 {
		t.Fatalf("client of a loopback proxy: %d of 3", n)
	}
	if n := b.burst("127.0.0.1:1", http.MethodGet, "/v1/status", 10); n != 10 {
		t.Fatalf("loopback without X-Forwarded-For: %d of 10", n)
	}
	// A proxy not trusted is a client like any other.
	if n := b.burst("192.0.2.9:1", http.MethodGet, "/v1/status", 3, "X-Forwarded-For", "198.51.100.200"); n != 2 {
		t.Fatalf("untrusted proxy: %d of 3", n)
	}
	if n := b.burst("192.0.2.9:1", http.MethodGet, "/v1/status", 1, "X-Forwarded-For", "198.51.100.201"); n != 0 {
		t.Fatalf("untrusted proxy escaped its bucket")
	}
}

func TestRateLimitClasses(t *testing.T) {
	stub := &stubPush{}
	a, _ := limitedAPI(t, RateLimit{ReadRate: 1, ReadBurst: 3, WriteRate: 1, WriteBurst: 2}, func(c *Config) { c.Push = stub })
	const c = "203.0.113.7:1"
	// Writes: the WebSocket push (a GET), uploads, transactions.
	for _, w := range []struct{ method, target string }{
		{http.MethodGet, "/v1/push/uploads/ws?session=00"},
		{http.MethodPost, "/v1/push/uploads?upload=00&offset=0"},
	} {
		if a.from(c, w.method, w.target).Code == http.StatusTooManyRequests {
			t.Fatalf("%s %s: 429 within the write burst", w.method, w.target)
		}
	}
	check429(t, a.from(c, http.MethodPost, "/v1/tx"))
	check429(t, a.from(c, http.MethodGet, "/v1/push/uploads/ws?session=00"))
	// Reads are untouched by them: the feed (a GET WebSocket) is a read.
	for _, target := range []string{"/v1/streams/sensor/feed", "/v1/push/uploads/chunks?upload=00", "/v1/data/00"} {
		if code := a.from(c, http.MethodGet, target).Code; code == http.StatusTooManyRequests {
			t.Fatalf("GET %s: 429 within the read burst", target)
		}
	}
	check429(t, a.from(c, http.MethodGet, "/v1/status"))
	if stub.calls.Load() != 4 {
		t.Fatalf("the push handler got %d requests, want the 4 admitted", stub.calls.Load())
	}
}

func TestRateLimitEviction(t *testing.T) {
	a, clk := limitedAPI(t, RateLimit{ReadRate: 10, ReadBurst: 20, WriteRate: 1, WriteBurst: 5, MaxClients: 100}, nil)
	g := a.h.guard
	if g.idle != 5*time.Second {
		t.Fatalf("idle %v, want 5 s (the slowest refill: 5 writes at 1/s)", g.idle)
	}
	// A client that used its burst, then 250 others: the cap holds, the
	// least recently seen are forgotten.
	const c = "203.0.113.7:1"
	if n := a.burst(c, http.MethodGet, "/v1/status", 21); n != 20 {
		t.Fatalf("%d of 21", n)
	}
	for i := range 250 {
		a.from(fmt.Sprintf("198.51.%d.%d:1", i/200, i%200), http.MethodGet, "/v1/status")
		if len(g.clients) > 100 || g.lru.Len() != len(g.clients) {
			t.Fatalf("%d clients tracked (list %d), cap 100", len(g.clients), g.lru.Len())
		}
	}
	if len(g.clients) != 100 {
		t.Fatalf("%d clients tracked", len(g.clients))
	}
	// Forgotten, c starts over with a full bucket.
	if n := a.burst(c, http.MethodGet, "/v1/status", 21); n != 20 {
		t.Fatalf("after eviction: %d of 21", n)
	}
	// A recently seen client is kept while new ones arrive.
	for i := range 50 {
		a.from(fmt.Sprintf("192.0.2.%d:1", i), http.MethodGet, "/v1/status")
	}
	check429(t, a.from(c, http.MethodGet, "/v1/status"))
	// Idle clients are forgotten once their buckets would be full again.
	clk.Advance(4 * time.Second)
	a.from("192.0.2.200:1", http.MethodGet, "/v1/status")
	if len(g.clients) != 100 {
		t.Fatalf("%d clients after 4 s, want all 100 kept", len(g.clients))
	}
	clk.Advance(time.Second)
	a.from("192.0.2.201:1", http.MethodGet, "/v1/status")
	if len(g.clients) != 2 {
		t.Fatalf("%d clients after 5 s idle, want the 2 seen since", len(g.clients))
	}
}

// TestRateLimitConcurrent hammers one guard from many goroutines (run
// with -race): exactly the burst is taken.
func TestRateLimitConcurrent(t *testing.T) {
	a, _ := limitedAPI(t, RateLimit{ReadRate: 1, ReadBurst: 64, MaxClients: 200}, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for i := range 16 {
		wg.Go(func() {
			n := a.burst("203.0.113.7:1", http.MethodGet, "/v1/status", 8)
			for j := range 8 {
				a.from(fmt.Sprintf("198.51.100.%d:1", i*8+j), http.MethodGet, "/v1/status")
			}
			mu.Lock()
			taken += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if taken != 64 || len(a.h.guard.clients) != 129 {
		t.Fatalf("taken %d of 128 (burst 64), %d clients tracked (want 129)", taken, len(a.h.guard.clients))
	}
}

// TestPushBodyLimitsMatchGateway: the API bounds push bodies at the
// gateway's own limits, so it never refuses what the gateway takes.
func TestPushBodyLimitsMatchGateway(t *testing.T) {
	if pushUploadBytes != gateway.MaxUploadPart {
		t.Fatalf("the API bounds uploads at %d bytes, the gateway at %d", pushUploadBytes, gateway.MaxUploadPart)
	}
}
