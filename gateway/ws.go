package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/datadragon/datadragon/app/wire"
)

// Defaults of the WebSocket push limits (Config).
const (
	DefaultWSIdleTimeout       = 60 * time.Second
	DefaultWSFrameTimeout      = 30 * time.Second
	DefaultMaxWSConns          = 1024
	DefaultMaxWSConnsPerClient = 8

	// wsQueueBytes bounds the frames of one connection read but not yet
	// logged: past it the connection is not read until the log catches
	// up, so a fast producer costs the node this much memory, not what
	// the producer sends.
	wsQueueBytes = 8 << 20
)

// wsMessage is a control frame of the WebSocket push.
type wsMessage struct {
	Type  string `json:"type"`  // hello, ack, error (server); flush, end (client)
	Acked uint64 `json:"acked"` // bytes of the session durable
	Seq   uint64 `json:"last_seq,omitempty"`
	Error string `json:"error,omitempty"`
}

// wsConns counts open push WebSockets, in all and per client, against the
// caps.
type wsConns struct {
	mu       sync.Mutex
	total    int
	byClient map[string]int
}

// admit takes a connection slot for client, or says why not.
func (g *Gateway) wsAdmit(client string) (release func(), err error) {
	w := &g.ws
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.total >= g.cfg.MaxWSConns:
		g.metrics.wsRefused.WithLabelValues("node_cap").Inc()
		return nil, &httpError{http.StatusServiceUnavailable, fmt.Sprintf("this node has %d push WebSockets open, its limit: retry later, or push to another node", w.total)}
	case w.byClient[client] >= g.cfg.MaxWSConnsPerClient:
		g.metrics.wsRefused.WithLabelValues("client_cap").Inc()
		return nil, &httpError{http.StatusTooManyRequests, fmt.Sprintf("you have %d push WebSockets open to this node, the limit per client: close one, or send more sessions over fewer connections", w.byClient[client])}
	}
	w.total++
	w.byClient[client]++
	g.metrics.wsOpen.Inc()
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.total--
		if w.byClient[client]--; w.byClient[client] == 0 {
			delete(w.byClient, client)
		}
		g.metrics.wsOpen.Dec()
	}, nil
}

// notePeak records the most bytes a connection has had queued, for tests.
func (g *Gateway) notePeak(n int) {
	for {
		p := g.wsPeak.Load()
		if int64(n) <= p || g.wsPeak.CompareAndSwap(p, int64(n)) {
			return
		}
	}
}

// wsClient names the client a connection counts against: its IP address,
// IPv6 addresses grouped by /64 (one host usually holds a whole /64).
func wsClient(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip4 := ip.To4(); ip4 != nil {
		return ip4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// handleWS takes one message per binary frame. The server answers every
// batch with {"type":"ack","acked":BYTES} once it is durable; a producer
// that reconnects with the same session gets {"type":"hello","acked":…}
// and resends what follows.
//
// A connection is cut off (close code 1008) when no frame begins for
// Config.WSIdleTimeout, or a frame that began is not whole within
// Config.WSFrameTimeout; a frame over wire.MaxChunkDataBytes is refused
// with close code 1009 (message too big) as soon as its first byte past
// the limit arrives, is never held whole, and changes nothing else. Connections beyond the caps are refused before the
// upgrade: 429 past the per-client cap, 503 past the node's.
func (g *Gateway) handleWS(w http.ResponseWriter, r *http.Request) {
	ps, spec, err := g.pushStreamFor(r.PathValue("stream"), true)
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := authorize(r, spec); err != nil {
		writeErr(w, err)
		return
	}
	id, err := parseSession(r.URL.Query().Get("session"))
	if err != nil {
		writeErr(w, err)
		return
	}
	release, err := g.wsAdmit(wsClient(r.RemoteAddr))
	if err != nil {
		w.Header().Set("Retry-After", "10")
		writeErr(w, err)
		return
	}
	defer release()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(wire.MaxChunkDataBytes)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	st, _ := ps.session(id)
	if err := writeWS(ctx, c, wsMessage{Type: "hello", Acked: st.acked}); err != nil {
		return
	}

	// The deadline: a timer that, when it fires, closes the connection
	// with the reason, and cuts it a moment later if the client does not
	// take part in the close.
	var (
		reasonMu sync.Mutex
		reason   string
	)
	cutoff := func(why, metric string) {
		reasonMu.Lock()
		if reason != "" || ctx.Err() != nil {
			reasonMu.Unlock()
			return
		}
		reason = why
		reasonMu.Unlock()
		g.metrics.wsClosed.WithLabelValues(metric).Inc()
		go c.Close(websocket.StatusPolicyViolation, why)
		time.AfterFunc(time.Second, cancel)
	}
	// One timer for both deadlines: between frames it measures idleness,
	// inside one the time the frame takes.
	var inFrame atomic.Bool
	timer := time.AfterFunc(g.cfg.WSIdleTimeout, func() {
		if inFrame.Load() {
			cutoff(fmt.Sprintf("a frame took more than %v to arrive", g.cfg.WSFrameTimeout), "frame_timeout")
		} else {
			cutoff(fmt.Sprintf("no frame for %v: reconnect when you have data", g.cfg.WSIdleTimeout), "idle")
		}
	})
	defer timer.Stop()

	type frame struct {
		data []byte
		ctl  string
		err  error
	}
	frames := make(chan frame, 256)
	// The bytes of frames read and not yet logged, bounded by the
	// gateway's wsQueue (a frame is always taken into an empty queue).
	var (
		qmu    sync.Mutex
		queued int
	)
	qcond := sync.NewCond(&qmu)
	take := func(n int) bool {
		qmu.Lock()
		defer qmu.Unlock()
		for queued > 0 && queued+n > g.wsQueue && ctx.Err() == nil {
			qcond.Wait()
		}
		queued += n
		g.notePeak(queued)
		return ctx.Err() == nil
	}
	give := func(n int) {
		qmu.Lock()
		queued -= n
		qcond.Broadcast()
		qmu.Unlock()
	}
	defer func() {
		cancel() // wakes a reader waiting for room, and ends it
		give(0)
	}()
	go func() {
		defer close(frames)
		send := func(f frame) bool {
			select {
			case frames <- f:
				return true
			case <-ctx.Done(): // the handler has returned
				return false
			}
		}
		for {
			inFrame.Store(false)
			timer.Reset(g.cfg.WSIdleTimeout)
			typ, rd, err := c.Reader(ctx)
			var b []byte
			if err == nil {
				inFrame.Store(true)
				timer.Reset(g.cfg.WSFrameTimeout)
				b, err = io.ReadAll(rd)
				timer.Stop() // no deadline while the frame waits for the log
			}
			if err != nil {
				send(frame{err: err})
				return
			}
			if typ == websocket.MessageText {
				var m wsMessage
				if json.Unmarshal(b, &m) != nil || (m.Type != "flush" && m.Type != "end") {
					send(frame{err: errors.New(`control frames are {"type":"flush"} or {"type":"end"}`)})
					return
				}
				if !send(frame{ctl: m.Type}) {
					return
				}
				continue
			}
			if !take(len(b)) || !send(frame{data: b}) {
				return
			}
		}
	}()
	var readErr error
	for f := range frames {
		if f.err != nil {
			readErr = f.err
			break
		}
		// Take what else has arrived, up to 4 MiB, into one durable batch.
		msgs, size, ctl := [][]byte(nil), 0, f.ctl
		if f.ctl == "" {
			msgs, size = append(msgs, f.data), len(f.data)
		}
	more:
		for ctl == "" && size < 4<<20 {
			select {
			case nf, ok := <-frames:
				if !ok {
					break more
				}
				if nf.err != nil {
					readErr = nf.err
					break more
				}
				if nf.ctl != "" {
					ctl = nf.ctl
					break more
				}
				msgs, size = append(msgs, nf.data), size+len(nf.data)
			default:
				break more
			}
		}
		if len(msgs) > 0 || ctl != "" {
			st, _ := ps.session(id)
			err := ps.appendSession(id, st.acked, msgs, ctl == "end")
			give(size)
			if err != nil {
				writeWS(ctx, c, wsMessage{Type: "error", Error: err.Error()})
				g.metrics.wsClosed.WithLabelValues("error").Inc()
				return
			}
			if ctl == "flush" {
				ps.flushSession(id)
			}
			st, _ = ps.session(id)
			next, _ := ps.log.Next()
			if err := writeWS(ctx, c, wsMessage{Type: "ack", Acked: st.acked, Seq: next - 1}); err != nil {
				return
			}
			if ctl == "end" {
				g.metrics.wsClosed.WithLabelValues("ended").Inc()
				c.Close(websocket.StatusNormalClosure, "ended")
				return
			}
		}
		if readErr != nil {
			break
		}
	}
	timer.Stop()
	reasonMu.Lock()
	cut := reason != ""
	reasonMu.Unlock()
	switch {
	case cut:
		// The deadline's close is under way.
	case errors.Is(readErr, websocket.ErrMessageTooBig):
		// The library has refused the frame with close code 1009.
		g.metrics.wsClosed.WithLabelValues("too_big").Inc()
	case websocket.CloseStatus(readErr) != -1 || errors.Is(readErr, context.Canceled) || errors.Is(readErr, io.EOF):
		g.metrics.wsClosed.WithLabelValues("client").Inc()
	case readErr != nil:
		g.metrics.wsClosed.WithLabelValues("bad_frame").Inc()
		c.Close(websocket.StatusPolicyViolation, truncate(readErr.Error()))
	}
}
