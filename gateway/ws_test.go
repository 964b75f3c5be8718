package gateway

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/datadragon/datadragon/app/wire"
)

// metricValue reads a counter or gauge from the registry, as /metrics
// would show it: the series whose label has the value (0 if absent).
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			matches := label == ""
			for _, l := range m.GetLabel() {
				matches = matches || l.GetName() == label && l.GetValue() == value
			}
			if !matches {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func wsURL(srv *httptest.Server, session string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/push/uploads/ws?session=" + session
}

func readWS(t *testing.T, conn *websocket.Conn) wsMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m wsMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOversizedWSFrame: a push frame one byte over the message limit is
// refused with close code 1009 and changes nothing: the stream goes on
// taking HTTP and WebSocket pushes, the same session included.
func TestOversizedWSFrame(t *testing.T) {
	reg := prometheus.NewRegistry()
	g, err := Open(Config{Dir: t.TempDir(), Chain: newFakeChain(uploadsStream()), FlushAfter: time.Hour, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	ctx := context.Background()
	id := newSession(t)
	conn, _, err := websocket.Dial(ctx, wsURL(srv, id), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 21)
	readWS(t, conn)
	// A frame of exactly the limit is taken.
	if err := conn.Write(ctx, websocket.MessageBinary, make([]byte, wire.MaxChunkDataBytes)); err != nil {
		t.Fatal(err)
	}
	if m := readWS(t, conn); m.Type != "ack" || m.Acked != wire.MaxChunkDataBytes {
		t.Fatalf("a frame of the limit: %+v", m)
	}
	conn.Write(ctx, websocket.MessageBinary, make([]byte, wire.MaxChunkDataBytes+1))
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, _, err := conn.Read(rctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("after an oversized frame: %v, want close code 1009", err)
	}
	waitFor(t, func() bool {
		return metricValue(t, reg, "datadragon_gateway_push_ws_closed_total", "reason", "too_big") == 1
	})
	// Nothing else changed: the session resumes where it was, over a
	// WebSocket, and HTTP pushes go on.
	conn2, _, err := websocket.Dial(ctx, wsURL(srv, id), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.CloseNow()
	if m := readWS(t, conn2); m.Type != "hello" || m.Acked != wire.MaxChunkDataBytes {
		t.Fatalf("hello after the oversized frame: %+v", m)
	}
	if err := conn2.Write(ctx, websocket.MessageBinary, []byte("next")); err != nil {
		t.Fatal(err)
	}
	if m := readWS(t, conn2); m.Type != "ack" || m.Acked != wire.MaxChunkDataBytes+4 {
		t.Fatalf("a WebSocket push after the oversized frame: %+v", m)
	}
	if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+newSession(t)+"&end=1", []byte("over HTTP"), ""); w.Code != 200 || m["acked"] != float64(9) {
		t.Fatalf("an HTTP push after the oversized frame: %d %v", w.Code, m)
	}
}

// rawWS opens a push WebSocket by hand, so that the test can send half a
// frame, and reads the hello.
func rawWS(t *testing.T, srv *httptest.Server, session string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	var key [16]byte
	rand.Read(key[:])
	fmt.Fprintf(c, "GET /v1/push/uploads/ws?session=%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n",
		session, base64.StdEncoding.EncodeToString(key[:]))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(br, make([]byte, int(h[1]&0x7f))); err != nil { // the hello, under 126 bytes
		t.Fatal(err)
	}
	return c, br
}

// halfFrame sends the header of a masked binary frame declaring n bytes,
// and the first k of them.
func halfFrame(t *testing.T, c net.Conn, n uint64, k int) {
	t.Helper()
	b := []byte{0x82, 0x80 | 127}
	b = binary.BigEndian.AppendUint64(b, n)
	b = append(b, 1, 2, 3, 4) // mask key
	b = append(b, make([]byte, k)...)
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestWSDeadlines: a push WebSocket on which nothing arrives after the
// hello, and ones that declared a frame (1 GiB, or 1,000 bytes) and sent
// none or part of it, are cut off within their deadline.
func TestWSDeadlines(t *testing.T) {
	const idle, frame = 400 * time.Millisecond, 300 * time.Millisecond
	reg := prometheus.NewRegistry()
	g, err := Open(Config{Dir: t.TempDir(), Chain: newFakeChain(uploadsStream()), FlushAfter: time.Hour, Registry: reg,
		WSIdleTimeout: idle, WSFrameTimeout: frame})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	// Cut off means: the server sends a close frame or closes the
	// connection, within the deadline and the second it grants a close.
	cutWithin := func(what string, br *bufio.Reader, c net.Conn, limit time.Duration) {
		t.Helper()
		start := time.Now()
		c.SetReadDeadline(start.Add(limit + 1500*time.Millisecond))
		_, err := io.ReadAll(br)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%s: still open %v later", what, time.Since(start))
		}
		if d := time.Since(start); d < limit-50*time.Millisecond {
			t.Fatalf("%s: cut off after %v, before its deadline %v", what, d, limit)
		}
	}

	// Idle after the hello, with a well-behaved client: close code 1008.
	conn, _, err := websocket.Dial(context.Background(), wsURL(srv, newSession(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	readWS(t, conn)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, _, err = conn.Read(ctx)
	cancel()
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation || time.Since(start) > idle+time.Second {
		t.Fatalf("idle connection: %v after %v; want close code 1008 after about %v", err, time.Since(start), idle)
	}
	conn.CloseNow()

	c1, br1 := rawWS(t, srv, newSession(t))
	defer c1.Close()
	cutWithin("idle after the hello", br1, c1, idle)

	c2, br2 := rawWS(t, srv, newSession(t))
	defer c2.Close()
	halfFrame(t, c2, 1<<30, 0)
	cutWithin("a declared 1 GiB frame, nothing sent", br2, c2, frame)

	c3, br3 := rawWS(t, srv, newSession(t))
	defer c3.Close()
	halfFrame(t, c3, 1000, 10)
	cutWithin("a 1,000-byte frame, 10 bytes sent", br3, c3, frame)

	waitFor(t, func() bool {
		return metricValue(t, reg, "datadragon_gateway_push_ws_closed_total", "reason", "idle") == 2 &&
			metricValue(t, reg, "datadragon_gateway_push_ws_closed_total", "reason", "frame_timeout") == 2 &&
			metricValue(t, reg, "datadragon_gateway_push_ws_open", "", "") == 0
	})
}

// TestWSConnectionCaps: past the per-client cap a client's next push
// WebSocket is refused 429, past the node's cap anyone's 503, each with
// a reason; a closed connection frees its slot.
func TestWSConnectionCaps(t *testing.T) {
	reg := prometheus.NewRegistry()
	g, err := Open(Config{Dir: t.TempDir(), Chain: newFakeChain(uploadsStream()), FlushAfter: time.Hour, Registry: reg,
		MaxWSConns: 3, MaxWSConnsPerClient: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	// Clients are told apart by address; the test gives each its own
	// loopback address (the stream is open to the loopback).
	h := g.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = r.Header.Get("X-Test-Client") + ":40000"
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := context.Background()
	dial := func(client string) (*websocket.Conn, int, string) {
		t.Helper()
		conn, resp, err := websocket.Dial(ctx, wsURL(srv, newSession(t)), &websocket.DialOptions{HTTPHeader: http.Header{"X-Test-Client": {client}}})
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			return nil, resp.StatusCode, string(b) + " Retry-After: " + resp.Header.Get("Retry-After")
		}
		readWS(t, conn)
		return conn, http.StatusSwitchingProtocols, ""
	}
	a1, _, _ := dial("127.0.0.2")
	a2, _, _ := dial("127.0.0.2")
	if a1 == nil || a2 == nil {
		t.Fatal("the first two connections of a client were refused")
	}
	if c, code, body := dial("127.0.0.2"); c != nil || code != http.StatusTooManyRequests || !strings.Contains(body, "limit per client") || !strings.Contains(body, "Retry-After: 10") {
		t.Fatalf("a client's third connection: %d %s", code, body)
	}
	b1, _, _ := dial("127.0.0.3")
	if b1 == nil {
		t.Fatal("another client's first connection was refused")
	}
	if c, code, body := dial("127.0.0.4"); c != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, "its limit") {
		t.Fatalf("a connection past the node's cap: %d %s", code, body)
	}
	if v := metricValue(t, reg, "datadragon_gateway_push_ws_open", "", ""); v != 3 {
		t.Fatalf("open connections: %v, want 3", v)
	}
	if metricValue(t, reg, "datadragon_gateway_push_ws_refused_total", "cap", "client_cap") != 1 ||
		metricValue(t, reg, "datadragon_gateway_push_ws_refused_total", "cap", "node_cap") != 1 {
		t.Fatal("refusals not counted by cap")
	}
	a1.Close(websocket.StatusNormalClosure, "")
	waitFor(t, func() bool { return metricValue(t, reg, "datadragon_gateway_push_ws_open", "", "") == 2 })
	c4, code, body := dial("127.0.0.4")
	if c4 == nil {
		t.Fatalf("after a connection closed: %d %s", code, body)
	}
	c4.CloseNow()
	a2.CloseNow()
	b1.CloseNow()
}

// TestWSQueueIsBounded: while the log is held up, a producer sending fast
// gets its connection read no further than the queue bound, and once the
// log moves every frame is logged and acknowledged.
func TestWSQueueIsBounded(t *testing.T) {
	g, err := Open(Config{Dir: t.TempDir(), Chain: newFakeChain(uploadsStream()), FlushAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	const limit, frame, frames = 512 << 10, 100 << 10, 30
	g.wsQueue = limit
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	ctx := context.Background()
	conn, _, err := websocket.Dial(ctx, wsURL(srv, newSession(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	readWS(t, conn)
	spec, _ := g.cfg.Chain.Stream("uploads")
	ps, err := g.stream("uploads", &spec)
	if err != nil {
		t.Fatal(err)
	}
	ps.mu.Lock() // holds up every append
	sent := make(chan error, 1)
	go func() {
		for range frames {
			if err := conn.Write(ctx, websocket.MessageBinary, make([]byte, frame)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	time.Sleep(time.Second)
	peak := g.wsPeak.Load()
	ps.mu.Unlock()
	if peak > limit || peak < limit-frame {
		t.Fatalf("%d bytes queued while the log was held up; want the bound, %d, nearly reached and never passed", peak, limit)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	for acked := uint64(0); acked < frames*frame; {
		m := readWS(t, conn)
		if m.Type != "ack" {
			t.Fatalf("want an ack, got %+v", m)
		}
		acked = m.Acked
	}
	if p := g.wsPeak.Load(); p > limit {
		t.Fatalf("%d bytes queued at the peak, over the bound %d", p, limit)
	}
}
