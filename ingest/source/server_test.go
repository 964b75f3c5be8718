package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/datadragon/datadragon/ingest/frame"
	"github.com/datadragon/datadragon/ingest/gen"
)

func newServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Generator == nil {
		cfg.Generator = gen.NewSensor(42)
	}
	if cfg.Rate == 0 {
		cfg.Rate = 100
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.stop()
		ts.Close()
	})
	return s, ts
}

func wsURL(ts *httptest.Server, query string) string {
	return "ws" + strings.TrimPrefix(ts.URL, "http") + "/stream" + query
}

// subscriber is a raw WebSocket client collecting decoded messages.
type subscriber struct {
	c *websocket.Conn
}

func subscribe(t *testing.T, url string) *subscriber {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(frame.MaxMessageSize)
	t.Cleanup(func() { c.CloseNow() })
	return &subscriber{c: c}
}

// read returns the next n messages.
func (s *subscriber) read(t *testing.T, n int) []frame.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []frame.Message
	for len(out) < n {
		_, b, err := s.c.Read(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		m, err := frame.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func step(t *testing.T, s *Server, n int) {
	t.Helper()
	for range n {
		if err := s.Step(); err != nil {
			t.Fatal(err)
		}
	}
}

// waitSubs waits until the server counts n subscribers.
func waitSubs(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Status().Subscribers != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers, want %d", s.Status().Subscribers, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestDeterministicForEverySubscriber(t *testing.T) {
	for _, kind := range []string{"sensor", "ticker", "log"} {
		t.Run(kind, func(t *testing.T) {
			g, _ := gen.New(kind, gen.Options{Seed: 9})
			s, ts := newServer(t, Config{Generator: g, Rate: 50})
			a := subscribe(t, wsURL(ts, "?from=0"))
			b := subscribe(t, wsURL(ts, "?from=0"))
			waitSubs(t, s, 2)
			step(t, s, 200)
			late := subscribe(t, wsURL(ts, "?from=0")) // replays from the buffer
			got := [][]frame.Message{a.read(t, 200), b.read(t, 200), late.read(t, 200)}

			// An independent generator with the same seed, no network.
			ref, _ := gen.New(kind, gen.Options{Seed: 9})
			clock, _ := gen.NewClock(gen.DefaultEpoch, 50)
			for k := range 200 {
				want, _ := gen.Frame(ref, clock, uint64(k))
				for i, msgs := range got {
					m := msgs[k]
					if m.Kind != frame.KindData || m.Frame.Seq != uint64(k) || m.Frame.Time != want.Time || !bytes.Equal(m.Frame.Payload, want.Payload) {
						t.Fatalf("subscriber %d, frame %d differs from the generator's", i, k)
					}
				}
			}
			if want := gen.DefaultEpoch.UnixNano() + 20_000_000*199; got[0][199].Frame.Time != want {
				t.Fatalf("source time of frame 199: %d, want epoch + 199/50 s = %d", got[0][199].Frame.Time, want)
			}
		})
	}
}

func TestReplayAndGap(t *testing.T) {
	s, ts := newServer(t, Config{BufferFrames: 50})
	step(t, s, 200) // frames 150..199 remain
	st := s.Status()
	if st.OldestSeq != 150 || st.NextSeq != 200 || st.Buffered != 50 {
		t.Fatalf("status %+v", st)
	}

	msgs := subscribe(t, wsURL(ts, "?from=10")).read(t, 3)
	if msgs[0].Kind != frame.KindGap || msgs[0].From != 10 || msgs[0].To != 149 {
		t.Fatalf("first message %+v, want gap 10..149", msgs[0])
	}
	if msgs[1].Frame.Seq != 150 || msgs[2].Frame.Seq != 151 {
		t.Fatalf("after the gap: %d, %d", msgs[1].Frame.Seq, msgs[2].Frame.Seq)
	}

	// Inside the buffer: no gap.
	if m := subscribe(t, wsURL(ts, "?from=170")).read(t, 1)[0]; m.Kind != frame.KindData || m.Frame.Seq != 170 {
		t.Fatalf("from=170: %+v", m)
	}

	// Without from: live frames only.
	live := subscribe(t, wsURL(ts, ""))
	waitSubs(t, s, 3)
	step(t, s, 1)
	if m := live.read(t, 1)[0]; m.Frame.Seq != 200 {
		t.Fatalf("live subscriber got seq %d first, want 200", m.Frame.Seq)
	}

	// From the future: the source first says where it is (nothing is made
	// until that has been read, so it is always said), then waits.
	future := subscribe(t, wsURL(ts, "?from=205"))
	if m := future.read(t, 1)[0]; m.Kind != frame.KindBehind || m.Next != 201 {
		t.Fatalf("from=205 first got %+v, want behind with next 201", m)
	}
	step(t, s, 10)
	if m := future.read(t, 1)[0]; m.Kind != frame.KindData || m.Frame.Seq != 205 {
		t.Fatalf("from=205 got %+v, want frame 205", m)
	}
}

func TestBufferBytesBound(t *testing.T) {
	big := &bigGen{size: 256 << 10}
	s, _ := newServer(t, Config{Generator: big, BufferFrames: 1000, BufferBytes: 2 << 20})
	step(t, s, 40)
	st := s.Status()
	if st.BufferBytes > 2<<20 || st.Buffered != 7 {
		t.Fatalf("buffer holds %d frames, %d bytes; want 7 frames within 2 MiB", st.Buffered, st.BufferBytes)
	}
}

// bigGen makes frames of a fixed size.
type bigGen struct{ size int }

func (*bigGen) Kind() string { return "big" }
func (g *bigGen) Payload(seq uint64, _ int64) ([]byte, error) {
	b := bytes.Repeat([]byte{byte(seq)}, g.size)
	return b, nil
}

// TestSlowSubscriberDropped: one subscriber stops reading while frames
// pour in. It must be dropped (with the reason, once it reads again)
// while a subscriber that keeps up receives every frame, and the server
// never waits for the slow one.
func TestSlowSubscriberDropped(t *testing.T) {
	s, ts := newServer(t, Config{Generator: &bigGen{size: 64 << 10}, BufferFrames: 64, BufferBytes: 8 << 20})
	fast := subscribe(t, wsURL(ts, "?from=0"))
	slow := subscribe(t, wsURL(ts, "?from=0"))
	waitSubs(t, s, 2)

	const total = 600 // 37.5 MiB: far more than socket buffers hold
	var wg sync.WaitGroup
	var fastErr error
	var fastGot atomic.Int64
	var fastFailed atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() { fastFailed.Store(fastErr != nil) }()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		for want := uint64(0); want < total; want++ {
			_, b, err := fast.c.Read(ctx)
			if err != nil {
				fastErr = fmt.Errorf("fast subscriber at %d: %v", want, err)
				return
			}
			m, err := frame.Decode(b)
			if err != nil || m.Frame.Seq != want {
				fastErr = fmt.Errorf("fast subscriber: got %+v (%v), want seq %d", m.Frame.Seq, err, want)
				return
			}
			fastGot.Store(int64(want) + 1)
		}
	}()
	for k := 0; k < total; k++ {
		// "Fast" means keeping up: the producer never gets more than 32
		// frames ahead of it (half the buffer), whatever the machine's
		// speed. The slow subscriber reads nothing at all.
		for int64(k)-fastGot.Load() > 32 && !fastFailed.Load() {
			time.Sleep(100 * time.Microsecond)
		}
		step(t, s, 1)
	}
	wg.Wait()
	if fastErr != nil {
		t.Fatal(fastErr)
	}

	// Now the slow one reads: what it gets is an unbroken prefix, then
	// the close with the too-slow code.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := uint64(0)
	for {
		_, b, err := slow.c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != frame.CloseTooSlow {
				t.Fatalf("slow subscriber ended with %v, want close code %d", err, frame.CloseTooSlow)
			}
			var ce websocket.CloseError
			errors.As(err, &ce)
			if !strings.Contains(ce.Reason, fmt.Sprintf("from=%d", n)) {
				t.Fatalf("close reason %q does not say where to resume (%d)", ce.Reason, n)
			}
			break
		}
		m, _ := frame.Decode(b)
		if m.Frame.Seq != n {
			t.Fatalf("slow subscriber got seq %d, want %d", m.Frame.Seq, n)
		}
		n++
	}
	if n >= total {
		t.Fatalf("slow subscriber got all %d frames: it was never behind", n)
	}
	if d := s.Status().Dropped; d != 1 {
		t.Fatalf("%d subscribers dropped, want 1", d)
	}
	t.Logf("slow subscriber received %d of %d frames before it was dropped", n, total)
}

func TestStalledWriteDropped(t *testing.T) {
	s, ts := newServer(t, Config{Generator: &bigGen{size: 256 << 10}, BufferFrames: 1000, BufferBytes: 512 << 20, WriteTimeout: 200 * time.Millisecond})
	subscribe(t, wsURL(ts, "?from=0")) // never reads
	waitSubs(t, s, 1)
	step(t, s, 200) // 50 MiB, more than socket buffers take
	waitSubs(t, s, 0)
	if s.Status().Dropped != 1 {
		t.Fatalf("status %+v", s.Status())
	}
}

func TestEndOfStream(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(path, []byte("0123456789"), 0o644)
	g, err := gen.OpenFile(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s, ts := newServer(t, Config{Generator: g})
	for s.Step() == nil {
	}
	sub := subscribe(t, wsURL(ts, "?from=0"))
	msgs := sub.read(t, 4)
	var got []byte
	for _, m := range msgs[:3] {
		got = append(got, m.Frame.Payload...)
	}
	if string(got) != "0123456789" || msgs[3].Kind != frame.KindEnd || msgs[3].Next != 3 {
		t.Fatalf("messages %+v", msgs)
	}
	_, _, err = sub.c.Read(context.Background())
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after end: %v", err)
	}
	if !s.Status().Ended {
		t.Fatal("status does not say ended")
	}
}

func TestHTTP(t *testing.T) {
	s, ts := newServer(t, Config{Info: map[string]any{"seed": 42}, MaxSubscribers: 1})
	step(t, s, 5)
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h["status"] != "ok" || h["kind"] != "sensor" || h["next_seq"] != 5.0 || h["seed"] != 42.0 || h["rate"] != 100.0 {
		t.Fatalf("healthz %v", h)
	}
	for _, c := range []struct {
		path string
		code int
		hint string
	}{{"/", http.StatusUpgradeRequired, "WebSocket"}, {"/nope", http.StatusNotFound, "/stream"}} {
		resp, _ := http.Get(ts.URL + c.path)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(string(body), c.hint) {
			t.Errorf("GET %s: %d %q", c.path, resp.StatusCode, body)
		}
	}
	ctx := context.Background()
	_, resp, err = websocket.Dial(ctx, wsURL(ts, "?from=abc"), nil)
	if err == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad from: %v", err)
	}
	subscribe(t, wsURL(ts, ""))
	waitSubs(t, s, 1)
	_, resp, err = websocket.Dial(ctx, wsURL(ts, ""), nil)
	if err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("over the subscriber limit: %v", err)
	}
}

func TestRunPacesAndStops(t *testing.T) {
	s, ts := newServer(t, Config{Rate: 200})
	sub := subscribe(t, wsURL(ts, "?from=0"))
	waitSubs(t, s, 1)
	// The subscriber reads what is produced, then gets a going-away close.
	readErr := make(chan error, 1)
	var got atomic.Int64
	go func() {
		for {
			_, _, err := sub.c.Read(context.Background())
			if err != nil {
				readErr <- err
				return
			}
			got.Add(1)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(500 * time.Millisecond)
	cancel()
	start := time.Now()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("stopping took %v", d)
	}
	n := s.Status().NextSeq
	if n < 40 || n > 130 {
		t.Fatalf("%d frames in 0.5 s at 200/s", n)
	}
	if err := <-readErr; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("on shutdown: %v", err)
	}
	// Shutdown does not flush: frames produced in the last instant may
	// not have been sent.
	if g := got.Load(); g > int64(n) || g < int64(n)-10 {
		t.Fatalf("subscriber got %d of %d frames", g, n)
	}
	if s.Status().Subscribers != 0 {
		t.Fatal("subscriber still counted after Run returned")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{Generator: gen.NewLog(1), Rate: 0},
		{Generator: gen.NewLog(1), Rate: 1e9},
		{Generator: gen.NewLog(1), Rate: 1, BufferFrames: -1},
		{Generator: gen.NewLog(1), Rate: 1, BufferBytes: 10},
		{Generator: gen.NewLog(1), Rate: 1, MaxSubscribers: MaxSubscribersLimit + 1},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

// TestRestartResumesPastReservation: a source that reserves its frames
// ahead and is restarted at its last reservation (as after a crash)
// produces the same frames it would have, later seqs only, and a
// subscriber waiting for where it left off gets a gap to the resumed seq at
// once instead of waiting for the source to count up again.
func TestRestartResumesPastReservation(t *testing.T) {
	var reserved []uint64
	cfg := Config{ReserveFrames: 25, Reserve: func(upTo uint64) error { reserved = append(reserved, upTo); return nil }}
	s1, _ := newServer(t, cfg)
	step(t, s1, 60)
	if fmt.Sprint(reserved) != "[25 50 75]" {
		t.Fatalf("reservations %v, want [25 50 75] (one before frames 0, 25 and 50)", reserved)
	}
	// "Crash" after frame 59: the next run starts at the last reservation.
	cfg2 := Config{First: reserved[len(reserved)-1], ReserveFrames: 25, Reserve: func(upTo uint64) error { reserved = append(reserved, upTo); return nil }}
	s2, ts2 := newServer(t, cfg2)
	if st := s2.Status(); st.NextSeq != 75 {
		t.Fatalf("restarted source's next seq %d, want 75", st.NextSeq)
	}
	sub := subscribe(t, wsURL(ts2, "?from=60")) // where an observer of s1 left off
	waitSubs(t, s2, 1)
	step(t, s2, 2)
	msgs := sub.read(t, 3)
	if msgs[0].Kind != frame.KindGap || msgs[0].From != 60 || msgs[0].To != 74 {
		t.Fatalf("first message %+v, want gap 60..74", msgs[0])
	}
	want, err := gen.Frame(gen.NewSensor(42), s2.Clock(), 75)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[1].Frame.Seq != 75 || !bytes.Equal(msgs[1].Frame.Payload, want.Payload) || msgs[1].Frame.Time != want.Time {
		t.Fatalf("frame after the gap %+v, want frame 75 as a source that never stopped makes it", msgs[1].Frame)
	}
	if reserved[len(reserved)-1] != 100 {
		t.Fatalf("the restarted source reserved %v", reserved)
	}
	// A failing reservation stops production: no frame beyond what is
	// durable.
	s3, _ := newServer(t, Config{Reserve: func(uint64) error { return errors.New("disk full") }})
	if err := s3.Step(); err == nil || !strings.Contains(err.Error(), "disk full") || s3.Next() != 0 {
		t.Fatalf("Step with a failing reservation: %v, next %d", err, s3.Next())
	}
}
