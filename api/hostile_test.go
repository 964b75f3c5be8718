package api

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/receipt"
)

// stubPush stands in for the gateway (Config.Push): it reads a POST's
// body whole and "logs" it (accepted), answering 413 when the API's bound
// on the body cut it short.
type stubPush struct {
	calls, accepted, lastRead atomic.Int64
}

func (s *stubPush) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	if r.Method != http.MethodPost {
		writeError(w, http.StatusNotFound, "stub gateway: nothing at "+r.URL.Path)
		return
	}
	n, err := io.Copy(io.Discard, r.Body)
	s.lastRead.Store(n)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("stub gateway: the body is over %d bytes", mbe.Limit))
	case err != nil:
		writeError(w, http.StatusBadRequest, "stub gateway: reading the body: "+err.Error())
	default:
		s.accepted.Add(1)
		writeJSON(w, http.StatusOK, map[string]int64{"acked": n})
	}
}

// notFoundReceipts has no receipt.
type notFoundReceipts struct{}

func (notFoundReceipts) Receipt(stream string, index uint64) (*receipt.Receipt, error) {
	return nil, fmt.Errorf("receipt of %s/%d: %w", stream, index, app.ErrNotFound)
}

// hostile tallies the hostile requests of TestHostile and checks their
// answers.
type hostile struct {
	tried  int
	codes  map[int]int
	cutOff int // slow clients disconnected before they could be answered
	plain  int // answered by net/http itself, in plain text (not JSON)
}

// answered checks a hostile request's answer: the status want, a JSON
// object with an error message. It returns the object.
func (hs *hostile) answered(t *testing.T, what string, code int, hd http.Header, body []byte, want int) map[string]any {
	t.Helper()
	hs.tried++
	hs.codes[code]++
	if code != want || code < 400 || code > 499 {
		t.Fatalf("%s: status %d, want %d: %.300s", what, code, want, body)
	}
	if ct := hd.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: content type %q: %.300s", what, ct, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: not a JSON object (%v): %.300s", what, err, body)
	}
	if msg, _ := m["error"].(string); len(msg) < 10 {
		t.Fatalf("%s: no helpful error message: %s", what, body)
	}
	return m
}

// serve sends req to a and checks the answer as answered does.
func (hs *hostile) serve(t *testing.T, a *testAPI, what string, req *http.Request, want int) map[string]any {
	t.Helper()
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	return hs.answered(t, what, w.Code, w.Header(), w.Body.Bytes(), want)
}

// fingerprint is what a hostile request must not change: the app's state
// (read only, but checked), the verification slots, the feed's
// subscribers, the bodies the push handler took.
func fingerprint(a *testAPI, stub *stubPush) string {
	f := a.fake
	f.mu.Lock()
	b, err := json.Marshal([]any{f.status, f.validators, f.streams, f.records, f.blocks, f.initialised})
	f.mu.Unlock()
	if err != nil {
		panic(err)
	}
	var pushed int64
	if stub != nil {
		pushed = stub.accepted.Load()
	}
	return fmt.Sprintf("state %x, busy slots %d, subscribers %d, pushes logged %d", sha256.Sum256(b), len(a.h.verifies), a.h.feed.Subscribers(), pushed)
}

// unchanged fails if the fingerprint moved.
func unchanged(t *testing.T, a *testAPI, stub *stubPush, before string) {
	t.Helper()
	if after := fingerprint(a, stub); after != before {
		t.Fatalf("state changed:\n before %s\n after  %s", before, after)
	}
}

// hidden hides a body's length: the request is sent chunked, with no
// Content-Length.
func hidden(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }

// TestHostile sends the API what a hostile or broken client would: each
// request is answered with a clear 4xx JSON error (or, for a slow client,
// cut off) and changes nothing.
func TestHostile(t *testing.T) {
	hs := &hostile{codes: map[int]int{}}
	t.Run("oversized bodies", func(t *testing.T) { hostileOversized(t, hs) })
	t.Run("invalid JSON", func(t *testing.T) { hostileJSON(t, hs) })
	t.Run("unknown streams, records, blocks, routes", func(t *testing.T) { hostileUnknown(t, hs) })
	t.Run("wrong methods", func(t *testing.T) { hostileMethods(t, hs) })
	t.Run("slow clients", func(t *testing.T) { hostileSlow(t, hs) })
	t.Run("burst from one client", func(t *testing.T) { hostileBurst(t, hs) })
	t.Run("loopback exempt", func(t *testing.T) { hostileLoopback(t, hs) })
	t.Run("many clients", func(t *testing.T) { hostileManyClients(t, hs) })
	var codes []string
	for _, c := range slices.Sorted(func(yield func(int) bool) {
		for c := range hs.codes {
			if !yield(c) {
				return
			}
		}
	}) {
		codes = append(codes, fmt.Sprintf("%d×%d", hs.codes[c], c))
	}
	verdict := "all answered 4xx"
	if t.Failed() {
		verdict = "NOT all answered as expected"
	}
	t.Logf("hostile requests tried: %d, %s (%s); %d answered by net/http in plain text (slow headers, oversized headers), the rest JSON; %d slow clients cut off with no answer",
		hs.tried, verdict, strings.Join(codes, ", "), hs.plain, hs.cutOff)
}

func hostileOversized(t *testing.T, hs *hostile) {
	raw, genesis, _ := receiptFixture(t)
	stub := &stubPush{}
	a := newTestAPI(t, func(c *Config) { c.MaxBodyBytes = 4096; c.Genesis = genesis; c.Push = stub })
	// Lowered limits (the real ones are 1 MiB, 16 MiB, 80 MiB, 64 MiB,
	// 1.25 MiB); /v1/tx and signed chunks keep the real one.
	a.h.maxReceipt, a.h.maxData = int64(len(raw)), 8192
	a.h.guard.maxUpload = 1 << 20
	before := fingerprint(a, stub)

	formOf := func(receiptPart, dataPart []byte) ([]byte, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		w, _ := mw.CreateFormFile("receipt", "receipt.json")
		w.Write(receiptPart)
		if dataPart != nil {
			w, _ = mw.CreateFormFile("data", "data")
			w.Write(dataPart)
		}
		mw.Close()
		return b.Bytes(), mw.FormDataContentType()
	}
	bigForm, bigFormCT := formOf(raw, bytes.Repeat([]byte("x"), int(a.h.maxReceipt+a.h.maxData+multipartOverhead)))
	bigReceiptForm, bigReceiptCT := formOf(append(bytes.Clone(raw), ' '), nil)
	bigDataForm, bigDataCT := formOf(raw, bytes.Repeat([]byte("x"), int(a.h.maxData)+1))
	jsonOver := func(n int64) []byte {
		return []byte(`{"kind":"chain","proof_b64":"` + strings.Repeat("A", int(n)) + `"}`)
	}
	receiptOver := append(bytes.Clone(raw), ' ')
	cases := []struct {
		name, target, ctype string
		body                []byte
		limit               int64 // the API's bound on a push route's body (0: not a push route)
	}{
		{"zk verify", "/v1/zk/verify", "application/json", jsonOver(a.h.maxBody), 0},
		{"receipt as JSON", "/v1/receipts/verify", "application/json", receiptOver, 0},
		{"receipt form over the sum", "/v1/receipts/verify", bigFormCT, bigForm, 0},
		{"receipt part over its limit", "/v1/receipts/verify", bigReceiptCT, bigReceiptForm, 0},
		{"data part over its limit", "/v1/receipts/verify", bigDataCT, bigDataForm, 0},
		{"upload part", "/v1/push/uploads?upload=" + strings.Repeat("0", 32) + "&offset=0", "application/octet-stream", make([]byte, a.h.guard.maxUpload+4096), a.h.guard.maxUpload},
		{"signed chunk", "/v1/push/uploads/chunk", "application/octet-stream", make([]byte, a.h.guard.maxTx+4096), a.h.guard.maxTx},
		{"transaction", "/v1/tx", "application/octet-stream", make([]byte, a.h.guard.maxTx+4096), a.h.guard.maxTx},
	}
	for _, c := range cases {
		for _, chunked := range []bool{false, true} {
			what := fmt.Sprintf("POST %s (%s, %d bytes, declared)", c.target, c.name, len(c.body))
			var req *http.Request
			if chunked {
				what = strings.Replace(what, "declared", "chunked", 1)
				req = httptest.NewRequest(http.MethodPost, c.target, hidden(c.body))
				req.ContentLength = -1
			} else {
				req = httptest.NewRequest(http.MethodPost, c.target, bytes.NewReader(c.body))
			}
			req.Header.Set("Content-Type", c.ctype)
			calls := stub.calls.Load()
			stub.lastRead.Store(-1)
			m := hs.serve(t, a, what, req, http.StatusRequestEntityTooLarge)
			switch {
			case c.limit == 0:
			case !chunked:
				// Refused from Content-Length before the gateway runs.
				if stub.calls.Load() != calls || !strings.Contains(m["error"].(string), "at most") {
					t.Fatalf("%s: the push handler ran (%d calls) or the error says no limit: %v", what, stub.calls.Load()-calls, m)
				}
			default:
				// The gateway runs (it answers), but reads one byte over its
				// limit at most.
				if stub.calls.Load() != calls+1 || stub.lastRead.Load() != c.limit+1 {
					t.Fatalf("%s: the push handler read %d bytes, want the limit %d + 1", what, stub.lastRead.Load(), c.limit)
				}
			}
		}
	}
	// The real upload limit, declared: refused before a byte is read.
	req := httptest.NewRequest(http.MethodPost, "/v1/push/uploads?upload="+strings.Repeat("0", 32), iotestErrReader{t})
	req.ContentLength = pushUploadBytes + 1
	hs.serve(t, a, "POST /v1/push/uploads (64 MiB + 1 declared)", req, http.StatusRequestEntityTooLarge)
	if stub.calls.Load() != 3 {
		t.Fatalf("the push handler ran %d times, want 3 (the chunked bodies)", stub.calls.Load())
	}
	unchanged(t, a, stub, before)

	// Control: at their limits the bodies go through.
	for _, target := range []string{"/v1/push/uploads?upload=00", "/v1/tx", "/v1/push/uploads/chunk"} {
		n := a.h.guard.maxTx
		if !strings.Contains(target, "/chunk") && target != "/v1/tx" {
			n = a.h.guard.maxUpload
		}
		for _, body := range []io.Reader{bytes.NewReader(make([]byte, n)), hidden(make([]byte, n))} {
			req := httptest.NewRequest(http.MethodPost, target, body)
			w := httptest.NewRecorder()
			a.h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				t.Fatalf("POST %s of %d bytes, at the limit: %d %s", target, n, w.Code, w.Body)
			}
		}
	}
	if stub.accepted.Load() != 6 {
		t.Fatalf("%d bodies at the limits logged, want 6", stub.accepted.Load())
	}
}

// iotestErrReader fails the test if read.
type iotestErrReader struct{ t *testing.T }

func (r iotestErrReader) Read([]byte) (int, error) {
	r.t.Error("the body of a request refused by its Content-Length was read")
	return 0, io.ErrUnexpectedEOF
}

func hostileJSON(t *testing.T, hs *hostile) {
	_, genesis, _ := receiptFixture(t)
	stub := &stubPush{}
	a := newTestAPI(t, func(c *Config) { c.Genesis = genesis; c.Push = stub })
	before := fingerprint(a, stub)
	garbage := []string{"", " \n\t", "{", "}", "[", "not json", "nul", "tru", `"unterminated`, `{"kind":"chain"`,
		`{"kind":"chain",}`, `{kind:"chain"}`, `{'kind':'chain'}`, "{\"kind\":\"chain\"}\x00", "\xff\xfe{\x00}\x00",
		`{"kind":"chain"}{"kind":"chain"}`, `{"kind":"chain"} trailing`, `{"kind":"chain","proof_b64":"AAAA",,}`,
		strings.Repeat("[", 20000), strings.Repeat(`{"a":`, 20000), "\ufeff{}", `{"kind":"chain","proof_b64":"` + strings.Repeat("A", 100) + "\n"}
	for _, b := range garbage {
		req := httptest.NewRequest(http.MethodPost, "/v1/zk/verify", strings.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		m := hs.serve(t, a, fmt.Sprintf("POST /v1/zk/verify %.40q", b), req, http.StatusBadRequest)
		if !strings.Contains(m["error"].(string), "JSON") {
			t.Fatalf("POST /v1/zk/verify %.40q: the error does not say what is expected: %v", b, m["error"])
		}
	}
	// The right syntax, the wrong shape.
	for _, b := range []string{"null", "[]", "[1,2,3]", `"signature"`, "123", "{}", `{"kind":1}`, `{"kind":"signature","public_key":null}`,
		`{"kind":"chain","min_bits":1e400}`, `{"kind":"chain","min_bits":"128"}`,
		`{"kind":"chain"}`, `{"kind":"rsa"}`, `{"kind":"chain","min_bits":-1}`, `{"kind":"chain","min_bits":100000}`} {
		req := httptest.NewRequest(http.MethodPost, "/v1/zk/verify", strings.NewReader(b))
		hs.serve(t, a, fmt.Sprintf("POST /v1/zk/verify %q", b), req, http.StatusBadRequest)
	}
	for _, b := range append(garbage, "null", "[]", "123", `"receipt"`) {
		for _, ct := range []string{"application/json", ""} {
			req := httptest.NewRequest(http.MethodPost, "/v1/receipts/verify", strings.NewReader(b))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			hs.serve(t, a, fmt.Sprintf("POST /v1/receipts/verify %.40q (%s)", b, ct), req, http.StatusBadRequest)
		}
	}
	// A multipart receipt part that is not JSON, and a form that is not
	// multipart.
	for _, b := range []string{"not json", "{", strings.Repeat("[", 1000)} {
		body, ct := form(t, [2]string{"receipt", b})
		req := httptest.NewRequest(http.MethodPost, "/v1/receipts/verify", body)
		req.Header.Set("Content-Type", ct)
		hs.serve(t, a, fmt.Sprintf("POST /v1/receipts/verify form %.40q", b), req, http.StatusBadRequest)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/receipts/verify", strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"receipt\"\r\n\r\n{"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	hs.serve(t, a, "POST /v1/receipts/verify, a form cut short", req, http.StatusBadRequest)
	if stub.calls.Load() != 0 {
		t.Fatalf("the push handler ran")
	}
	unchanged(t, a, stub, before)
}

func hostileUnknown(t *testing.T, hs *hostile) {
	stub := &stubPush{}
	a := newTestAPI(t, func(c *Config) { c.Receipts = notFoundReceipts{}; c.Push = stub })
	before := fingerprint(a, stub)
	ws := []string{"Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}
	cases := []struct {
		target string
		code   int
		says   []string // the message names the problem and where to look
		hdr    []string
	}{
		{"/v1/streams/nosuch", 404, []string{`unknown stream "nosuch"`, "GET /v1/streams"}, nil},
		{"/v1/streams/nosuch/records", 404, []string{`unknown stream "nosuch"`, "GET /v1/streams"}, nil},
		{"/v1/streams/nosuch/records?from=5&limit=10", 404, []string{`unknown stream "nosuch"`}, nil},
		{"/v1/streams/nosuch/feed", 404, []string{`unknown stream "nosuch"`}, ws},
		{"/v1/streams/sensor/feed", 426, []string{"WebSocket", "GET /v1/streams/sensor/records"}, nil},
		{"/v1/records/nosuch/0", 404, []string{`unknown stream "nosuch"`}, nil},
		{"/v1/records/sensor/999999", 404, []string{"no record at index 999999", "GET /v1/streams/sensor/records"}, nil},
		{"/v1/records/ticker/3", 404, []string{"no record at index 3"}, nil},
		{"/v1/receipts/nosuch/0", 404, []string{`unknown stream "nosuch"`}, nil},
		{"/v1/receipts/sensor/999999", 404, []string{"no receipt for sensor/999999", "accepted records"}, nil},
		{"/v1/blocks/999999", 404, []string{"block 999999 is not committed", "GET /v1/status"}, nil},
		{"/v1/blocks/9223372036854775807", 404, []string{"not committed"}, nil},
		{"/v1/nosuch", 404, []string{"no endpoint", "GET /v1 lists the routes"}, nil},
		{"/v1/streams/sensor/nosuch", 404, []string{"no endpoint", "GET /v1"}, nil},
		{"/nosuch", 404, []string{"no endpoint"}, nil},
		{"/v2/status", 404, []string{"no endpoint"}, nil},
		// Malformed names: 400 saying what a good one is.
		{"/v1/streams/" + strings.Repeat("x", 300), 400, []string{"bad stream id"}, nil},
		{"/v1/streams/bad%20id", 400, []string{"bad stream id"}, nil},
		{"/v1/streams/%00/records", 400, []string{"bad stream id"}, nil},
		{"/v1/records/sensor/-1", 400, []string{"not a chunk index"}, nil},
		{"/v1/records/sensor/0x10", 400, []string{"not a chunk index"}, nil},
		{"/v1/records/sensor/18446744073709551616", 400, []string{"too large"}, nil},
		{"/v1/receipts/sensor/one", 400, []string{"not a chunk index"}, nil},
		{"/v1/blocks/0", 400, []string{"block heights start at 1"}, nil},
		{"/v1/blocks/earliest", 400, []string{"'latest'"}, nil},
		{"/v1/blocks/99999999999999999999", 400, []string{"out of range"}, nil},
		{"/v1/streams/sensor/records?limit=0", 400, []string{"limit", "1 to 1000"}, nil},
		{"/v1/streams/sensor/records?limit=1001", 400, []string{"1 to 1000"}, nil},
		{"/v1/streams/sensor/records?from=-3", 400, []string{"from"}, nil},
		{"/v1/streams/sensor/records?from=%zz", 400, []string{"URL-encoded"}, nil},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodGet, c.target, nil)
		for i := 0; i+1 < len(c.hdr); i += 2 {
			req.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		m := hs.serve(t, a, "GET "+c.target, req, c.code)
		for _, s := range c.says {
			if !strings.Contains(m["error"].(string), s) {
				t.Fatalf("GET %s: the error %q does not say %q", c.target, m["error"], s)
			}
		}
	}
	if stub.calls.Load() != 0 {
		t.Fatalf("the push handler ran")
	}
	unchanged(t, a, stub, before)
}

// concrete fills a route pattern's wildcards.
func concrete(pattern string) string {
	r := strings.NewReplacer("{$}", "", "{rest...}", "chunk", "{id}", "sensor", "{stream}", "sensor", "{index}", "1",
		"{height}", "1", "{digest}", strings.Repeat("ab", 32))
	p := r.Replace(pattern)
	if strings.HasSuffix(p, "/explorer/") {
		p += "app.js"
	}
	return p
}

func hostileMethods(t *testing.T, hs *hostile) {
	stub := &stubPush{}
	// No rate limit: a wrong method costs a write, and this is over 100.
	a := newTestAPI(t, func(c *Config) {
		c.Push, c.Receipts, c.RateLimit = stub, notFoundReceipts{}, RateLimit{ReadRate: -1, WriteRate: -1}
	})
	before := fingerprint(a, stub)
	n := 0
	for _, rt := range a.h.routes {
		allow := strings.Join(rt.methods, ", ")
		if allow == http.MethodGet {
			allow = "GET, HEAD"
		}
		for _, p := range rt.patterns {
			target := concrete(p)
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace, "BREW", "get"} {
				if methodAllowed(rt.methods, m) {
					continue
				}
				what := m + " " + target
				req := httptest.NewRequest(m, target, strings.NewReader(`{"kind":"chain"}`))
				w := httptest.NewRecorder()
				a.h.ServeHTTP(w, req)
				body := hs.answered(t, what, w.Code, w.Header(), w.Body.Bytes(), http.StatusMethodNotAllowed)
				if w.Header().Get("Allow") != allow || !strings.Contains(body["error"].(string), "use "+allow) {
					t.Fatalf("%s: Allow %q, error %q; want %q", what, w.Header().Get("Allow"), body["error"], allow)
				}
				n++
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d wrong-method requests", n)
	}
	if stub.calls.Load() != 0 {
		t.Fatalf("the push handler ran %d times", stub.calls.Load())
	}
	unchanged(t, a, stub, before)
}

// hostileSlow runs the API behind the http.Server of Server, its
// timeouts shortened for the test: a client that sends its headers or
// its body slowly is cut off.
func hostileSlow(t *testing.T, hs *hostile) {
	_, genesis, _ := receiptFixture(t)
	stub := &stubPush{}
	a := newTestAPI(t, func(c *Config) { c.Push, c.Genesis = stub, genesis })
	before := fingerprint(a, stub)
	srv := Server("127.0.0.1:0", a.h)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadHeaderTimeout > 10*time.Second || srv.ReadTimeout <= 0 || srv.ReadTimeout > time.Minute ||
		srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 || srv.IdleTimeout <= 0 {
		t.Fatalf("Server does not bound slow clients: header timeout %v, read timeout %v, %d header bytes, idle %v",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.MaxHeaderBytes, srv.IdleTimeout)
	}
	const headerTimeout, readTimeout = 300 * time.Millisecond, 600 * time.Millisecond
	srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout = headerTimeout, readTimeout, time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	// trickle sends head at once, then one byte of tail every 50 ms; it
	// returns what the server answered and when it closed the connection.
	type trickled struct {
		got  []byte
		took time.Duration
		err  error
	}
	trickle := func(head, tail string) trickled {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return trickled{err: err}
		}
		defer c.Close()
		start := time.Now()
		c.Write([]byte(head))
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for i := 0; i < len(tail); i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write([]byte{tail[i]}); err != nil {
					return
				}
			}
		}()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return trickled{got: got, err: errors.New("the server did not cut off the slow client in 5 s")}
		}
		return trickled{got: got, took: time.Since(start)}
	}
	// Headers sent slowly (slowloris), and bodies sent slowly; all at once.
	slowHeaders := [][2]string{
		{"GET /v1/status HTTP/1.1\r\nHost: node\r\n", strings.Repeat("X-Slow: 1\r\n", 100)},
		{"POST /v1/push/uploads?upload=00 HTTP/1.1\r\n", strings.Repeat("X-Slow: 1\r\n", 100)},
		{"G", "ET /" + strings.Repeat("a", 200)},
	}
	slowBodies := []struct{ target, ctype string }{
		{"/v1/zk/verify", "application/json"},
		{"/v1/receipts/verify", "application/json"},
		{"/v1/push/uploads?upload=00", "application/octet-stream"},
	}
	res := make([]trickled, len(slowHeaders)+len(slowBodies))
	var wg sync.WaitGroup
	for i, c := range slowHeaders {
		wg.Go(func() { res[i] = trickle(c[0], c[1]) })
	}
	for i, c := range slowBodies {
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: node\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\n", c.target, c.ctype)
		wg.Go(func() {
			res[len(slowHeaders)+i] = trickle(head, `{"kind":"chain","proof_b64":"`+strings.Repeat("A", 900))
		})
	}
	wg.Wait()
	// Slow headers: the connection is closed at the header timeout, the
	// handler never runs; net/http may first answer a plain-text 400.
	for i, c := range slowHeaders {
		r := res[i]
		hs.tried++
		if len(r.got) == 0 {
			hs.cutOff++
		} else {
			hs.codes[http.StatusBadRequest]++
			hs.plain++
		}
		if r.err != nil || len(r.got) != 0 && !bytes.HasPrefix(r.got, []byte("HTTP/1.1 400 ")) ||
			r.took < headerTimeout-50*time.Millisecond || r.took > headerTimeout+2*time.Second {
			t.Fatalf("slow headers %q: answered %q after %v (header timeout %v): %v", c[0], r.got, r.took, headerTimeout, r.err)
		}
	}
	// A slow body: the read fails at the read timeout, the handler answers
	// 400 saying so, and the connection is closed.
	for i, c := range slowBodies {
		r := res[len(slowHeaders)+i]
		if r.err != nil || r.took < readTimeout-50*time.Millisecond || r.took > readTimeout+2*time.Second {
			t.Fatalf("slow body to %s: cut off after %v (read timeout %v): %v", c.target, r.took, readTimeout, r.err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(r.got)), nil)
		if err != nil {
			t.Fatalf("slow body to %s: no answer (%v): %q", c.target, err, r.got)
		}
		body, _ := io.ReadAll(resp.Body)
		m := hs.answered(t, "slow body to "+c.target, resp.StatusCode, resp.Header, body, http.StatusBadRequest)
		if !strings.Contains(m["error"].(string), "timeout") {
			t.Fatalf("slow body to %s: the error does not say the read timed out: %v", c.target, m["error"])
		}
	}
	// Headers over MaxHeaderBytes: net/http answers 431 (plain text).
	req := "GET /v1/status HTTP/1.1\r\nHost: node\r\nX-Big: " + strings.Repeat("a", srv.MaxHeaderBytes+8192) + "\r\n\r\n"
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	go c.Write([]byte(req))
	got, _ := io.ReadAll(c)
	c.Close()
	hs.tried++
	hs.codes[http.StatusRequestHeaderFieldsTooLarge]++
	hs.plain++
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 431")) {
		t.Fatalf("oversized headers: %.100q", got)
	}
	if stub.accepted.Load() != 0 {
		t.Fatalf("the push handler logged %d bodies", stub.accepted.Load())
	}
	unchanged(t, a, stub, before)
}

// hostileBurst: a burst from a non-loopback client (the default limits,
// real time) gets 429 once past the burst, and is served again after the
// refill.
func hostileBurst(t *testing.T, hs *hostile) {
	a := newTestAPI(t, nil)
	before := fingerprint(a, nil)
	for _, class := range []struct {
		method, target, body string
		ok                   int
		rate, burst          float64
	}{
		{http.MethodGet, "/v1/streams/nosuch", "", http.StatusNotFound, DefaultReadRate, DefaultReadBurst},
		{http.MethodPost, "/v1/zk/verify", "{", http.StatusBadRequest, DefaultWriteRate, DefaultWriteBurst},
	} {
		const client = "203.0.113.77:4321"
		send := func() *httptest.ResponseRecorder {
			req := httptest.NewRequest(class.method, class.target, strings.NewReader(class.body))
			req.RemoteAddr = client
			w := httptest.NewRecorder()
			a.h.ServeHTTP(w, req)
			return w
		}
		start := time.Now()
		n := 0
		var w *httptest.ResponseRecorder
		for w = send(); w.Code != http.StatusTooManyRequests && n < 10000; w = send() {
			hs.answered(t, class.method+" "+class.target, w.Code, w.Header(), w.Body.Bytes(), class.ok)
			n++
		}
		took := time.Since(start)
		hs.answered(t, "past the burst", w.Code, w.Header(), w.Body.Bytes(), http.StatusTooManyRequests)
		if most := class.burst + took.Seconds()*class.rate + 1; n < int(class.burst) || float64(n) > most {
			t.Fatalf("%s %s: %d answered before 429 in %v, want the burst %v and at most %v", class.method, class.target, n, took, class.burst, most)
		}
		ms := check429(t, w)
		if ms > int64(1000/class.rate)+1 {
			t.Fatalf("retry after %d ms, want at most one refill (%v ms)", ms, 1000/class.rate)
		}
		// Another client is served meanwhile.
		req := httptest.NewRequest(class.method, class.target, strings.NewReader(class.body))
		req.RemoteAddr = "198.51.100.3:1"
		hs.serve(t, a, "another client", req, class.ok)
		// After the refill: served again.
		time.Sleep(time.Duration(ms)*time.Millisecond + 5*time.Millisecond)
		w = send()
		hs.answered(t, "after the refill", w.Code, w.Header(), w.Body.Bytes(), class.ok)
		t.Logf("%s %s from %s: %d answered in %v, then 429 (retry after %d ms), served again after it", class.method, class.target, client, n, took.Round(time.Millisecond), ms)
	}
	unchanged(t, a, nil, before)
}

// hostileLoopback: loopback clients are not limited by default.
func hostileLoopback(t *testing.T, hs *hostile) {
	a := newTestAPI(t, func(c *Config) { c.RateLimit = RateLimit{ReadBurst: 10, WriteBurst: 10} })
	for _, client := range []string{"127.0.0.1:1", "[::1]:1"} {
		for i := range 100 {
			method, target, body, code := http.MethodGet, "/v1/streams/nosuch", "", http.StatusNotFound
			if i%2 == 1 {
				method, target, body, code = http.MethodPost, "/v1/zk/verify", "[", http.StatusBadRequest
			}
			req := httptest.NewRequest(method, target, strings.NewReader(body))
			req.RemoteAddr = client
			hs.serve(t, a, fmt.Sprintf("%s %s from %s, request %d", method, target, client, i+1), req, code)
		}
	}
	if n := a.h.guard.tracked(); n != 0 {
		t.Fatalf("%d loopback clients tracked", n)
	}
}

// hostileManyClients: requests from more distinct clients than the
// limiter tracks (DefaultRateLimitClients) do not grow it past the cap.
func hostileManyClients(t *testing.T, hs *hostile) {
	a := newTestAPI(t, nil)
	g := a.h.guard
	send := func(i int, v6 bool) {
		var addr netip.Addr
		if v6 {
			addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 16), byte(i >> 8), byte(i), 15: 1})
		} else {
			addr = netip.AddrFrom4([4]byte{10 + byte(i>>16), byte(i >> 8), byte(i), 1})
		}
		req := httptest.NewRequest(http.MethodGet, "/v1/nosuch", nil)
		req.RemoteAddr = netip.AddrPortFrom(addr, 443).String()
		w := httptest.NewRecorder()
		a.h.ServeHTTP(w, req)
		hs.answered(t, "a new client", w.Code, w.Header(), w.Body.Bytes(), http.StatusNotFound)
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	h0 := heap()
	for i := range DefaultRateLimitClients {
		send(i, false)
	}
	h1 := heap()
	if n := g.tracked(); n != DefaultRateLimitClients {
		t.Fatalf("%d clients tracked, want %d", n, DefaultRateLimitClients)
	}
	for i := range DefaultRateLimitClients / 2 {
		send(DefaultRateLimitClients+i, i%2 == 0)
		if i%1000 == 0 && g.tracked() > DefaultRateLimitClients {
			t.Fatalf("%d clients tracked, over the cap %d", g.tracked(), DefaultRateLimitClients)
		}
	}
	h2 := heap()
	if n, l := g.tracked(), g.lru.Len(); n != DefaultRateLimitClients || l != n {
		t.Fatalf("%d clients tracked (list %d), want the cap %d", n, l, DefaultRateLimitClients)
	}
	if v := a.metricValue(t, "datadragon_http_rate_limit_clients"); v != DefaultRateLimitClients {
		t.Fatalf("the metric says %v clients", v)
	}
	perClient := (int64(h1) - int64(h0)) / DefaultRateLimitClients
	growth := int64(h2) - int64(h1)
	t.Logf("%d distinct clients: the limiter tracks %d, heap +%d KiB for the first %d (~%d B each), %+d KiB for the %d after the cap",
		DefaultRateLimitClients*3/2, g.tracked(), (int64(h1)-int64(h0))>>10, DefaultRateLimitClients, perClient, growth>>10, DefaultRateLimitClients/2)
	// The 5,000 clients past the cap would take 5,000 × perClient more if
	// kept; allow a fifth of that for noise.
	if perClient > 0 && growth > perClient*DefaultRateLimitClients/2/5 {
		t.Fatalf("the heap grew %d bytes for clients past the cap (%d bytes per tracked client)", growth, perClient)
	}
}
