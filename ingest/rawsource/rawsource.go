package rawsource

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Limits and defaults.
const (
	MinRate               = 0.1
	MaxRate               = 100_000
	DefaultMaxSubscribers = 64
	MaxSubscribersLimit   = 4096
	DefaultHeartbeat      = time.Second
	subscribeTimeout      = 10 * time.Second
	writeTimeout          = 5 * time.Second
	queueLen              = 4096 // messages a subscriber may lag before it is dropped
	maxClientMessage      = 8 << 10
)

// Config says what to serve.
type Config struct {
	Rate           float64       // ticker messages per second
	Seed           uint64        // content seed
	Heartbeat      time.Duration // per connection; 0: DefaultHeartbeat, negative: none
	MaxSubscribers int           // 0: DefaultMaxSubscribers
	// DropTo, if > 0, makes the DropTo-th connection (1 for the first)
	// miss every DropEvery-th message.
	DropTo, DropEvery int
	Logf              func(format string, args ...any)
}

// Server is the demo feed.
type Server struct {
	cfg   Config
	mu    sync.Mutex
	subs  map[*sub]bool
	conns atomic.Int64
	sent  atomic.Uint64
}

type sub struct {
	ch   chan []byte
	gone chan struct{}
	once sync.Once
}

func (s *sub) kill() { s.once.Do(func() { close(s.gone) }) }

// New checks cfg and returns a server; Run produces the messages.
func New(cfg Config) (*Server, error) {
	if !(cfg.Rate >= MinRate && cfg.Rate <= MaxRate) {
		return nil, fmt.Errorf("rate %v: use %v to %v messages per second", cfg.Rate, MinRate, MaxRate)
	}
	if cfg.MaxSubscribers == 0 {
		cfg.MaxSubscribers = DefaultMaxSubscribers
	}
	if cfg.MaxSubscribers < 1 || cfg.MaxSubscribers > MaxSubscribersLimit {
		return nil, fmt.Errorf("max subscribers %d: use 1 to %d", cfg.MaxSubscribers, MaxSubscribersLimit)
	}
	if cfg.DropTo < 0 || cfg.DropTo > 0 && cfg.DropEvery < 2 {
		return nil, errors.New("dropping messages to a subscriber needs its number (1 for the first) and an interval of 2 or more")
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Server{cfg: cfg, subs: map[*sub]bool{}}, nil
}

// Sent returns the ticker messages produced so far.
func (s *Server) Sent() uint64 { return s.sent.Load() }

// Message returns ticker message i as sent before the connection id is
// added: its content depends on seed and i and the time it was made.
func Message(seed uint64, i uint64, at time.Time) []byte {
	r := rand.New(rand.NewPCG(seed, i))
	px := 6_000_000 + int64(i%5000)*13 + r.Int64N(2000)
	side := "buy"
	if r.IntN(2) == 1 {
		side = "sell"
	}
	return fmt.Appendf(nil, `{"type":"ticker","product_id":"BTC-USD","price":"%d.%02d","side":"%s","size":"0.%04d","trade_id":%d,"time":"%s"`,
		px/100, px%100, side, r.IntN(10000), 1_000_000+i, at.UTC().Format("2006-01-02T15:04:05.000000Z"))
}

// Run produces messages until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	interval := time.Duration(float64(time.Second) / s.cfg.Rate)
	start := time.Now()
	for i := uint64(0); ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		m := Message(s.cfg.Seed, i, time.Now())
		s.mu.Lock()
		for sb := range s.subs {
			select {
			case sb.ch <- m:
			default:
				sb.kill() // too slow: a real feed drops it too
			}
		}
		s.mu.Unlock()
		s.sent.Store(i + 1)
	}
}

// ServeHTTP serves the feed on any path; /healthz answers ok.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		fmt.Fprintf(w, "ok %d messages\n", s.sent.Load())
		return
	}
	s.mu.Lock()
	if len(s.subs) >= s.cfg.MaxSubscribers {
		s.mu.Unlock()
		http.Error(w, "too many subscribers", http.StatusServiceUnavailable)
		return
	}
	s.mu.Unlock()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(maxClientMessage)
	conn := s.conns.Add(1)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	sctx, scancel := context.WithTimeout(ctx, subscribeTimeout)
	_, msg, err := c.Read(sctx)
	scancel()
	if err != nil || !strings.Contains(string(msg), `"subscribe"`) {
		c.Close(websocket.StatusPolicyViolation, `send {"type":"subscribe","channels":["ticker"]} first`)
		return
	}
	sb := &sub{ch: make(chan []byte, queueLen), gone: make(chan struct{})}
	s.mu.Lock()
	s.subs[sb] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sb)
		s.mu.Unlock()
	}()
	s.cfg.Logf("subscriber %d connected from %s", conn, r.RemoteAddr)
	defer s.cfg.Logf("subscriber %d gone", conn)
	go func() { // reads pings and the close
		defer sb.kill()
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}()
	write := func(b []byte) bool {
		wctx, wcancel := context.WithTimeout(ctx, writeTimeout)
		defer wcancel()
		return c.Write(wctx, websocket.MessageText, b) == nil
	}
	var hb <-chan time.Time
	if s.cfg.Heartbeat > 0 {
		t := time.NewTicker(s.cfg.Heartbeat)
		defer t.Stop()
		hb = t.C
	}
	dropping := s.cfg.DropTo > 0 && conn == int64(s.cfg.DropTo)
	hbSeq := 0
	for n := 1; ; {
		select {
		case <-sb.gone:
			c.Close(websocket.StatusPolicyViolation, "too slow")
			return
		case <-hb:
			hbSeq++
			if !write(fmt.Appendf(nil, `{"type":"heartbeat","conn_id":%d,"sequence":%d}`, conn, hbSeq)) {
				return
			}
		case m := <-sb.ch:
			n++
			if dropping && n%s.cfg.DropEvery == 0 {
				continue
			}
			if !write(fmt.Appendf(append([]byte(nil), m...), `,"conn_id":%d}`, conn)) {
				return
			}
		}
	}
}
