package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/datadragon/datadragon/ingest/frame"
	"github.com/datadragon/datadragon/ingest/gen"
)

// Defaults and limits of Config.
const (
	DefaultBufferFrames   = 4096
	DefaultBufferBytes    = 64 << 20
	DefaultMaxSubscribers = 64
	DefaultWriteTimeout   = 10 * time.Second
	MaxBufferFrames       = 1 << 20
	MaxBufferBytes        = 1 << 30
	MaxSubscribersLimit   = 10000
)

// Config configures a Server.
type Config struct {
	Generator gen.Generator
	Rate      float64   // frames per second, gen.MinRate to gen.MaxRate
	Epoch     time.Time // source time of frame 0; zero means gen.DefaultEpoch

	BufferFrames   int           // replay buffer: frames kept; 0 means DefaultBufferFrames
	BufferBytes    int64         // replay buffer: encoded bytes kept; 0 means DefaultBufferBytes
	MaxSubscribers int           // 0 means DefaultMaxSubscribers
	WriteTimeout   time.Duration // longest a write to one subscriber may take; 0 means DefaultWriteTimeout

	// First is the seq of the first frame produced: 0 for a new stream,
	// where a restarted source resumes (frame k is a pure function of k,
	// so the stream goes on as if it had not stopped; observers that
	// missed frames meet a gap, never a stall).
	First uint64
	// Reserve, if set, makes a restart resume past every frame produced:
	// before producing frame seq at or beyond its last reservation the
	// source calls Reserve(seq+ReserveFrames), which must make the value
	// durable (the next run's First), and produces nothing if it fails.
	// A crash then costs at most ReserveFrames frames of gap.
	Reserve func(upTo uint64) error
	// ReserveFrames is how far ahead each reservation reaches; 0 means
	// ten seconds of frames.
	ReserveFrames uint64

	// Info is added to the /healthz answer (e.g. the seed).
	Info map[string]any
	// Logf, if set, receives one line per subscriber event.
	Logf func(format string, args ...any)
}

// Server is one data source. Create it with New, serve it with an
// http.Server (it is an http.Handler) and run its producer with Run.
type Server struct {
	cfg   Config
	clock gen.Clock

	mu    sync.RWMutex
	ring  []entry // circular, capacity cfg.BufferFrames
	head  int     // index in ring of the oldest entry
	n     int     // entries held
	bytes int64   // encoded bytes held
	next  uint64  // seq of the next frame to produce
	// reserved: frames below it may be produced (Config.Reserve); only
	// Step, which is never concurrent with itself, touches it.
	reserved uint64
	notify   chan struct{}
	ended    bool
	stopped  bool
	subs     int
	dropped  uint64
	wg       sync.WaitGroup
	runErr   error
}

type entry struct {
	seq uint64
	msg []byte // encoded data message
}

// New checks cfg and returns a server that has produced nothing yet.
func New(cfg Config) (*Server, error) {
	if cfg.Generator == nil {
		return nil, errors.New("source: no generator")
	}
	if cfg.Epoch.IsZero() {
		cfg.Epoch = gen.DefaultEpoch
	}
	clock, err := gen.NewClock(cfg.Epoch, cfg.Rate)
	if err != nil {
		return nil, err
	}
	if cfg.BufferFrames == 0 {
		cfg.BufferFrames = DefaultBufferFrames
	}
	if cfg.BufferBytes == 0 {
		cfg.BufferBytes = DefaultBufferBytes
	}
	if cfg.MaxSubscribers == 0 {
		cfg.MaxSubscribers = DefaultMaxSubscribers
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	switch {
	case cfg.BufferFrames < 1 || cfg.BufferFrames > MaxBufferFrames:
		return nil, fmt.Errorf("replay buffer of %d frames is out of range: use 1 to %d", cfg.BufferFrames, MaxBufferFrames)
	case cfg.BufferBytes < frame.MaxMessageSize || cfg.BufferBytes > MaxBufferBytes:
		return nil, fmt.Errorf("replay buffer of %d bytes is out of range: use %d (one largest frame) to %d", cfg.BufferBytes, frame.MaxMessageSize, MaxBufferBytes)
	case cfg.MaxSubscribers < 1 || cfg.MaxSubscribers > MaxSubscribersLimit:
		return nil, fmt.Errorf("subscriber limit %d is out of range: use 1 to %d", cfg.MaxSubscribers, MaxSubscribersLimit)
	case cfg.WriteTimeout < 0:
		return nil, errors.New("write timeout must be positive")
	}
	if cfg.ReserveFrames == 0 {
		cfg.ReserveFrames = uint64(max(1, 10*cfg.Rate))
	}
	return &Server{cfg: cfg, clock: clock, ring: make([]entry, cfg.BufferFrames), notify: make(chan struct{}),
		next: cfg.First, reserved: cfg.First}, nil
}

// Clock returns the stream's clock (frame k's source time).
func (s *Server) Clock() gen.Clock { return s.clock }

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// Run produces frames at the configured rate until ctx is done, then closes
// every subscriber (going away) and waits for them (two seconds at most). Frame k is due at
// start + k·interval on the monotonic clock; if the process falls more
// than a second behind (it was suspended, say), it catches up without
// bursting more than one second of frames. When the generator ends (a
// file), Run keeps serving the buffer until ctx is done. It returns nil on
// cancellation and the generator's error if it failed.
func (s *Server) Run(ctx context.Context) error {
	defer s.stop()
	iv := time.Duration(s.clock.Interval)
	start := time.Now().Add(-time.Duration(s.Next()) * iv)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		now := time.Now()
		produced := s.Next()
		due := uint64(now.Sub(start)/iv) + 1 // frames that should exist by now
		if produced+uint64(time.Second/iv)+1 < due {
			// Behind by over a second: forget the backlog instead of bursting.
			start = now.Add(-time.Duration(produced) * iv)
			due = produced + 1
		}
		for ; produced < due; produced++ {
			if err := s.Step(); err != nil {
				if errors.Is(err, gen.ErrEnd) {
					s.logf("stream ended after %d frames; still serving the replay buffer", produced)
					<-ctx.Done()
					return nil
				}
				s.mu.Lock()
				s.runErr = err
				s.mu.Unlock()
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
		}
		timer.Reset(time.Until(start.Add(time.Duration(produced) * iv)))
	}
}

// Next returns the seq of the next frame to be produced.
func (s *Server) Next() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.next
}

// Step produces the next frame now, regardless of the rate. Run calls it;
// a program driving the source itself (a test, a benchmark) may call it
// instead of Run, but never concurrently with Run or with itself. It
// returns gen.ErrEnd once the stream has ended.
func (s *Server) Step() error {
	s.mu.RLock()
	seq, ended := s.next, s.ended
	s.mu.RUnlock()
	if ended {
		return gen.ErrEnd
	}
	if s.cfg.Reserve != nil && seq >= s.reserved {
		upTo := seq + s.cfg.ReserveFrames
		if err := s.cfg.Reserve(upTo); err != nil {
			return fmt.Errorf("reserving frames %d to %d: %w", seq, upTo-1, err)
		}
		s.reserved = upTo
	}
	f, err := gen.Frame(s.cfg.Generator, s.clock, seq)
	if errors.Is(err, gen.ErrEnd) {
		s.mu.Lock()
		s.ended = true
		s.broadcastLocked()
		s.mu.Unlock()
		return err
	}
	if err != nil {
		return fmt.Errorf("frame %d: %w", seq, err)
	}
	msg, err := frame.EncodeData(f)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.push(entry{seq: seq, msg: msg})
	s.next++
	s.broadcastLocked()
	s.mu.Unlock()
	return nil
}

// push appends e to the ring, evicting the oldest entries to stay within
// both bounds (the newest entry is always kept).
func (s *Server) push(e entry) {
	for s.n > 0 && (s.n == len(s.ring) || s.bytes+int64(len(e.msg)) > s.cfg.BufferBytes) {
		old := &s.ring[s.head]
		s.bytes -= int64(len(old.msg))
		*old = entry{}
		s.head = (s.head + 1) % len(s.ring)
		s.n--
	}
	s.ring[(s.head+s.n)%len(s.ring)] = e
	s.n++
	s.bytes += int64(len(e.msg))
}

// oldestLocked returns the seq of the oldest buffered frame (next if none).
func (s *Server) oldestLocked() uint64 {
	if s.n == 0 {
		return s.next
	}
	return s.ring[s.head].seq
}

func (s *Server) broadcastLocked() {
	close(s.notify)
	s.notify = make(chan struct{})
}

// stop tells every subscriber to close (going away) and waits for them, at
// most shutdownWait: a subscriber that does not answer the close handshake
// is left to time out on its own.
func (s *Server) stop() {
	s.mu.Lock()
	s.stopped = true
	s.broadcastLocked()
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(shutdownWait):
	}
}

// shutdownWait bounds how long Run waits for subscribers when it stops.
const shutdownWait = 2 * time.Second

// Status is the /healthz answer.
type Status struct {
	Status      string    `json:"status"`
	Kind        string    `json:"kind"`
	Rate        float64   `json:"rate"`
	Epoch       time.Time `json:"epoch"`
	NextSeq     uint64    `json:"next_seq"`
	OldestSeq   uint64    `json:"oldest_seq"`
	Buffered    int       `json:"buffered_frames"`
	BufferBytes int64     `json:"buffered_bytes"`
	Subscribers int       `json:"subscribers"`
	Dropped     uint64    `json:"dropped_subscribers"`
	Ended       bool      `json:"ended"`
	Error       string    `json:"error,omitempty"`
}

// Status reports the server's state.
func (s *Server) Status() Status {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := Status{Status: "ok", Kind: s.cfg.Generator.Kind(), Rate: s.cfg.Rate, Epoch: s.cfg.Epoch.UTC(),
		NextSeq: s.next, OldestSeq: s.oldestLocked(), Buffered: s.n, BufferBytes: s.bytes,
		Subscribers: s.subs, Dropped: s.dropped, Ended: s.ended}
	if s.runErr != nil {
		st.Status, st.Error = "failed", s.runErr.Error()
	}
	return st
}

// ServeHTTP serves the stream on "/" and "/stream" (WebSocket) and the
// status on "/healthz". Served by an http.Server with ServeTLS, the stream
// is wss:// (see 'datadragon source --tls-cert').
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		st := s.Status()
		body := map[string]any{}
		b, _ := json.Marshal(st)
		json.Unmarshal(b, &body)
		maps.Copy(body, s.cfg.Info)
		w.Header().Set("Content-Type", "application/json")
		if st.Error != "" {
			w.WriteHeader(http.StatusInternalServerError)
		}
		json.NewEncoder(w).Encode(body)
	case "/", "/stream":
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUpgradeRequired)
			scheme := "ws"
			if r.TLS != nil {
				scheme = "wss"
			}
			fmt.Fprintf(w, "DataDragon %s source: connect with a WebSocket client to %s://%s/stream?from=SEQ\n(frame format: package ingest/frame). Status: GET /healthz\n", s.cfg.Generator.Kind(), scheme, r.Host)
			return
		}
		s.serveWS(w, r)
	default:
		http.Error(w, "not found: the stream is at /stream (WebSocket) and the status at /healthz", http.StatusNotFound)
	}
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	live := true
	var from uint64
	if v := r.URL.Query().Get(frame.FromParam); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			http.Error(w, fmt.Sprintf("from=%q: give the first seq wanted as a decimal number, e.g. ?from=0", v), http.StatusBadRequest)
			return
		}
		from, live = n, false
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		http.Error(w, "source is shutting down", http.StatusServiceUnavailable)
		return
	}
	if s.subs >= s.cfg.MaxSubscribers {
		s.mu.Unlock()
		http.Error(w, fmt.Sprintf("too many subscribers (the limit is %d): try again later", s.cfg.MaxSubscribers), http.StatusServiceUnavailable)
		return
	}
	s.subs++
	s.wg.Add(1)
	if live {
		// Live from the moment the request is counted: a frame produced
		// while the handshake completes is still this subscriber's.
		from = s.next
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.subs--
		s.mu.Unlock()
		s.wg.Done()
	}()

	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"*"}, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return // Accept has answered the request
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context()) // subscribers send nothing; this also answers pings
	peer := r.RemoteAddr
	s.logf("subscriber %s connected from seq %d", peer, from)
	code, reason := s.feed(ctx, c, from)
	if code == 0 {
		s.logf("subscriber %s gone", peer)
		return
	}
	s.logf("subscriber %s closed: %s", peer, reason)
	c.Close(code, reason)
}

// feed sends frames from seq cursor on until the subscriber goes, the
// server stops or the stream ends. It returns the close code and reason to
// send, or 0 if the connection is already gone.
func (s *Server) feed(ctx context.Context, c *websocket.Conn, cursor uint64) (websocket.StatusCode, string) {
	write := func(msg []byte) bool {
		wctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
		defer cancel()
		err := c.Write(wctx, websocket.MessageBinary, msg)
		// The write's own deadline, not the subscriber leaving: the
		// stalled connection's close can cancel ctx before Write
		// returns, so ctx cannot tell the two apart.
		if err != nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
			s.mu.Lock()
			s.dropped++
			s.mu.Unlock()
			s.logf("dropping a subscriber: a write stalled for %v", s.cfg.WriteTimeout)
		}
		return err == nil
	}
	s.mu.RLock()
	oldest, next, ended := s.oldestLocked(), s.next, s.ended
	s.mu.RUnlock()
	if cursor < oldest {
		if !write(frame.EncodeGap(cursor, oldest-1)) {
			return 0, ""
		}
		cursor = oldest
	}
	if cursor > next && !ended {
		// Asked for frames not made yet: say where this source is, so an
		// observer of a source that restarted knows why it waits.
		s.logf("subscriber asked from seq %d; this source is at seq %d", cursor, next)
		if !write(frame.EncodeBehind(next)) {
			return 0, ""
		}
	}
	for {
		s.mu.RLock()
		var msg []byte
		oldest, next, wait, ended, stopped := s.oldestLocked(), s.next, s.notify, s.ended, s.stopped
		if cursor >= oldest && cursor < next {
			msg = s.ring[(s.head+int(cursor-oldest))%len(s.ring)].msg
		}
		s.mu.RUnlock()
		switch {
		case stopped:
			return websocket.StatusGoingAway, "source shutting down: reconnect later with ?from=" + strconv.FormatUint(cursor, 10)
		case cursor < oldest:
			s.mu.Lock()
			s.dropped++
			s.mu.Unlock()
			return frame.CloseTooSlow, fmt.Sprintf("too slow: frame %d left the replay buffer; reconnect with ?from=%d", cursor, cursor)
		case msg != nil:
			if !write(msg) {
				return 0, ""
			}
			cursor++
			continue
		case ended && cursor >= next:
			if !write(frame.EncodeEnd(next)) {
				return 0, ""
			}
			return websocket.StatusNormalClosure, "stream ended"
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return 0, ""
		}
	}
}
