package observe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datadragon/datadragon/ingest/frame"
	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/ingest/source"
)

// proxy is a TCP relay in front of a source, so a test can cut every
// connection (a network failure) or point it at another backend (a
// restarted source).
type proxy struct {
	ln      net.Listener
	mu      sync.Mutex
	backend string
	conns   []net.Conn
}

func newProxy(t *testing.T, backend string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, backend: backend}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			b, err := net.Dial("tcp", p.backend)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, b)
			p.mu.Unlock()
			go func() { io.Copy(b, c); b.Close() }()
			go func() { io.Copy(c, b); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) url() string { return "ws://" + p.ln.Addr().String() + "/stream" }

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) setBackend(addr string) {
	p.mu.Lock()
	p.backend = addr
	p.mu.Unlock()
}

func startSource(t *testing.T, cfg source.Config) (*source.Server, *httptest.Server) {
	t.Helper()
	if cfg.Generator == nil {
		cfg.Generator = gen.NewTicker(5)
	}
	if cfg.Rate == 0 {
		cfg.Rate = 100
	}
	s, err := source.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func step(t *testing.T, s *source.Server, n int) {
	t.Helper()
	for range n {
		if err := s.Step(); err != nil {
			t.Fatal(err)
		}
	}
}

// recorder runs an observer and records its events.
type recorder struct {
	mu     sync.Mutex
	events []Event
	frames []frame.Frame
	done   chan error
	cancel context.CancelFunc
}

func observe(t *testing.T, cfg Config) *recorder {
	t.Helper()
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 10 * time.Millisecond
		cfg.MaxBackoff = 50 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{done: make(chan error, 1), cancel: cancel}
	go func() {
		r.done <- Run(ctx, cfg, func(ev Event) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.events = append(r.events, ev)
			if d, ok := ev.(Data); ok {
				r.frames = append(r.frames, d.Frame)
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// waitFrames waits until n frames were delivered.
func (r *recorder) waitFrames(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		got := len(r.frames)
		r.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d frames delivered, want %d", got, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *recorder) count(match func(Event) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if match(e) {
			n++
		}
	}
	return n
}

func isGap(e Event) bool          { _, ok := e.(Gap); return ok }
func isConnected(e Event) bool    { _, ok := e.(Connected); return ok }
func isDisconnected(e Event) bool { _, ok := e.(Disconnected); return ok }

// checkFrames asserts frames are seqs first..first+n-1 of the generator.
func checkFrames(t *testing.T, fs []frame.Frame, first uint64, g gen.Generator, rate float64) {
	t.Helper()
	clock, _ := gen.NewClock(gen.DefaultEpoch, rate)
	for i, f := range fs {
		want, _ := gen.Frame(g, clock, first+uint64(i))
		if f.Seq != want.Seq || f.Time != want.Time || !bytes.Equal(f.Payload, want.Payload) {
			t.Fatalf("frame %d: got seq %d, want seq %d with the generator's content", i, f.Seq, want.Seq)
		}
	}
}

func TestResumeAfterDisconnect(t *testing.T) {
	s, ts := startSource(t, source.Config{})
	p := newProxy(t, ts.Listener.Addr().String())
	r := observe(t, Config{URL: p.url()})
	for round := range 3 {
		step(t, s, 50)
		r.waitFrames(t, 75*round+50)
		p.cut() // the network fails; frames keep coming meanwhile
		step(t, s, 25)
		r.waitFrames(t, 75*round+75)
	}
	r.mu.Lock()
	frames := append([]frame.Frame(nil), r.frames...)
	r.mu.Unlock()
	if len(frames) != 225 {
		t.Fatalf("%d frames, want 225", len(frames))
	}
	checkFrames(t, frames, 0, gen.NewTicker(5), 100) // in order, no loss, no duplicate
	if g := r.count(isGap); g != 0 {
		t.Fatalf("%d gaps reported, want none", g)
	}
	if c, d := r.count(isConnected), r.count(isDisconnected); c < 4 || d < 3 {
		t.Fatalf("%d connections and %d disconnections, want at least 4 and 3", c, d)
	}
}

func TestResumeAcrossSourceRestart(t *testing.T) {
	a, tsA := startSource(t, source.Config{Generator: gen.NewSensor(3)})
	p := newProxy(t, tsA.Listener.Addr().String())
	r := observe(t, Config{URL: p.url()})
	step(t, a, 60)
	r.waitFrames(t, 60)

	// The source restarts (a new process with the same seed, from seq 0)
	// and the observer, resuming at 60, waits for it to get there — and is
	// told why it waits: the source is at seq 0.
	b, tsB := startSource(t, source.Config{Generator: gen.NewSensor(3)})
	p.setBackend(tsB.Listener.Addr().String())
	p.cut()
	deadline := time.Now().Add(10 * time.Second)
	for r.count(func(e Event) bool { be, ok := e.(Behind); return ok && be.Want == 60 && be.Next == 0 }) != 1 {
		if time.Now().After(deadline) {
			r.mu.Lock()
			evs := append([]Event(nil), r.events...)
			r.mu.Unlock()
			t.Fatalf("no Behind{Want: 60, Next: 0} event: %v", evs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	step(t, b, 100)
	r.waitFrames(t, 100)
	r.mu.Lock()
	frames := append([]frame.Frame(nil), r.frames...)
	r.mu.Unlock()
	checkFrames(t, frames, 0, gen.NewSensor(3), 100)
	if r.count(isGap) != 0 {
		t.Fatal("gap reported")
	}
}

func TestGapWhenReplayIsGone(t *testing.T) {
	s, ts := startSource(t, source.Config{BufferFrames: 20})
	step(t, s, 100)
	r := observe(t, Config{URL: "ws" + strings.TrimPrefix(ts.URL, "http") + "/stream", From: 5})
	r.waitFrames(t, 20)
	r.mu.Lock()
	defer r.mu.Unlock()
	var first Event
	for _, e := range r.events {
		if !isConnected(e) {
			first = e
			break
		}
	}
	g, ok := first.(Gap)
	if !ok || g.From != 5 || g.To != 79 || g.Reason == "" {
		t.Fatalf("first event %#v, want a gap 5..79", first)
	}
	if r.frames[0].Seq != 80 {
		t.Fatalf("first frame %d, want 80", r.frames[0].Seq)
	}
}

func TestEndReturns(t *testing.T) {
	s, ts := startSource(t, source.Config{Generator: &finite{n: 30}})
	for s.Step() == nil {
	}
	r := observe(t, Config{URL: ts.URL}) // http:// works too, and "/" is served
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return at the end of the stream")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.frames) != 30 {
		t.Fatalf("%d frames", len(r.frames))
	}
	if e, ok := r.events[len(r.events)-1].(End); !ok || e.Next != 30 {
		t.Fatalf("last event %#v", r.events[len(r.events)-1])
	}
}

type finite struct{ n uint64 }

func (*finite) Kind() string { return "finite" }
func (f *finite) Payload(seq uint64, _ int64) ([]byte, error) {
	if seq >= f.n {
		return nil, gen.ErrEnd
	}
	return []byte{byte(seq)}, nil
}

func TestTLS(t *testing.T) {
	s, err := source.New(source.Config{Generator: gen.NewLog(1), Rate: 10})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(s)
	t.Cleanup(ts.Close) // after the observer stops
	step(t, s, 5)
	url := "wss" + strings.TrimPrefix(ts.URL, "https") + "/stream"
	r := observe(t, Config{URL: url, HTTPClient: ts.Client()})
	r.waitFrames(t, 5)

	// Without the test CA the TLS handshake fails, and that is reported.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = Run(ctx, Config{URL: url, MaxAttempts: 1}, func(Event) error { return nil })
	if !errors.Is(err, ErrGaveUp) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	noop := func(Event) error { return nil }
	for _, u := range []string{"", "ftp://x/y", "ws://", "::"} {
		if err := Run(ctx, Config{URL: u}, noop); err == nil || errors.Is(err, ErrGaveUp) {
			t.Errorf("URL %q: %v", u, err)
		}
	}
	// Nothing listens: give up after the attempts, saying why.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	var disc int
	err := Run(ctx, Config{URL: "ws://" + addr, MaxAttempts: 3, MinBackoff: time.Millisecond}, func(e Event) error {
		if isDisconnected(e) {
			disc++
		}
		return nil
	})
	if !errors.Is(err, ErrGaveUp) || disc != 2 {
		t.Fatalf("closed port: %v after %d disconnections", err, disc)
	}
	// A server that is not a source.
	plain := httptest.NewServer(nil)
	defer plain.Close()
	err = Run(ctx, Config{URL: plain.URL, MaxAttempts: 1}, noop)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("not a source: %v", err)
	}
	// The handler's error stops Run and is returned.
	s, ts := startSource(t, source.Config{})
	step(t, s, 3)
	stop := errors.New("enough")
	err = Run(ctx, Config{URL: ts.URL, From: 0}, func(e Event) error {
		if _, ok := e.(Data); ok {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Fatalf("handler error: %v", err)
	}
	// Cancellation.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := Run(cctx, Config{URL: ts.URL, From: 1000}, noop); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestDeliverOrdering(t *testing.T) {
	var evs []Event
	o := &observer{next: 10, handle: func(e Event) error { evs = append(evs, e); return nil }}
	msgs := []frame.Message{
		{Kind: frame.KindData, Frame: frame.Frame{Seq: 9}},  // before the start: dropped
		{Kind: frame.KindData, Frame: frame.Frame{Seq: 10}}, // delivered
		{Kind: frame.KindData, Frame: frame.Frame{Seq: 10}}, // duplicate: dropped
		{Kind: frame.KindData, Frame: frame.Frame{Seq: 13}}, // gap 11..12, then 13
		{Kind: frame.KindGap, From: 12, To: 20},             // overlaps: gap 14..20
		{Kind: frame.KindGap, From: 5, To: 8},               // stale: ignored
		{Kind: frame.KindEnd, Next: 25},                     // gap 21..24, end
	}
	for _, m := range msgs {
		if err := o.deliver(m); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"data 10", "gap 11-12", "data 13", "gap 14-20", "gap 21-24", "end 25"}
	var got []string
	for _, e := range evs {
		switch e := e.(type) {
		case Data:
			got = append(got, "data "+itoa(e.Seq))
		case Gap:
			got = append(got, "gap "+itoa(e.From)+"-"+itoa(e.To))
		case End:
			got = append(got, "end "+itoa(e.Next))
		}
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

// sized makes 1 KiB payloads.
type sized struct{}

func (sized) Kind() string { return "sized" }
func (sized) Payload(seq uint64, _ int64) ([]byte, error) {
	b := make([]byte, 1024)
	b[0] = byte(seq)
	return b, nil
}

// BenchmarkObserveLoopback measures source → WebSocket → observer over
// loopback with 1 KiB frames: frames per second one observer can take.
func BenchmarkObserveLoopback(b *testing.B) {
	s, err := source.New(source.Config{Generator: sized{}, Rate: 1, BufferFrames: 8192})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	var got atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := int64(b.N)
	done := make(chan error, 1)
	b.SetBytes(1024)
	b.ResetTimer()
	go func() {
		done <- Run(ctx, Config{URL: ts.URL}, func(ev Event) error {
			if _, ok := ev.(Data); ok {
				if got.Add(1) == n {
					cancel()
				}
			}
			return nil
		})
	}()
	for k := int64(0); k < n; k++ {
		for k-got.Load() > 4096 {
			time.Sleep(50 * time.Microsecond)
		}
		s.Step()
	}
	<-done
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "frames/s")
}
