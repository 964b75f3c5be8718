package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
)

// FeedOptions bound the feed. Zero values take the defaults.
type FeedOptions struct {
	// QueueLen is how many records may wait for one subscriber (default
	// 256). A subscriber whose queue is full when a record arrives is
	// dropped: the feed never waits for anyone.
	QueueLen int
	// MaxSubscribers bounds the open subscriptions over all streams
	// (default 1024); more are refused with 503.
	MaxSubscribers int
	// WriteTimeout bounds one message's write (default 10 s); a
	// subscriber whose connection stalls longer is dropped.
	WriteTimeout time.Duration
	// PingInterval is how often an idle subscription is pinged to find
	// dead peers (default 30 s).
	PingInterval time.Duration
}

// CloseTooSlow is the close code (RFC 6455 private range) of a
// subscriber dropped because its queue overflowed; the reason names the
// lowest index it missed. A subscriber whose write stalls for
// FeedOptions.WriteTimeout is disconnected without a close frame (its
// connection cannot take one); one the feed ends at shutdown gets 1001.
const CloseTooSlow websocket.StatusCode = 4001

// Feed fans the records the app decides out to WebSocket subscribers of
// each stream. The node calls Publish from app.Config.OnCommit (or
// node.Options.OnCommit); the Handler serves /v1/streams/{id}/feed. Every
// record is encoded once per block, only for streams somebody follows,
// and handed to each subscriber's bounded queue without waiting, so a slow
// subscriber costs consensus nothing: it is dropped instead.
type Feed struct {
	opts FeedOptions

	mu     sync.Mutex
	subs   map[string]map[*subscriber]struct{}
	n      int
	closed bool

	names atomic.Pointer[map[string]string] // validator address (hex) → name

	published     atomic.Uint64 // records encoded for at least one subscriber
	sent          atomic.Uint64 // messages written to subscribers
	droppedSlow   atomic.Uint64
	droppedStall  atomic.Uint64
	droppedClosed atomic.Uint64
	droppedPing   atomic.Uint64
}

// NewFeed returns an empty feed.
func NewFeed(o FeedOptions) *Feed {
	if o.QueueLen <= 0 {
		o.QueueLen = 256
	}
	if o.MaxSubscribers <= 0 {
		o.MaxSubscribers = 1024
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	return &Feed{opts: o, subs: map[string]map[*subscriber]struct{}{}}
}

// feedMsg is one encoded record.
type feedMsg struct {
	index uint64
	data  []byte
}

// subscriber is one subscription.
type subscriber struct {
	stream string
	ch     chan feedMsg
	done   chan struct{} // closed when the feed drops the subscriber
	once   sync.Once
	code   websocket.StatusCode
	reason string
	// lost is the lowest index that overflowed the queue (CloseTooSlow);
	// a position if positions is set (a raw stream's records).
	lost      uint64
	positions bool
}

func (s *subscriber) drop(code websocket.StatusCode, reason string, lost uint64) {
	s.once.Do(func() {
		s.code, s.reason, s.lost = code, reason, lost
		close(s.done)
	})
}

// Publish hands the records of one committed block to their streams'
// subscribers. It never blocks on a subscriber; call it from
// app.Config.OnCommit.
func (f *Feed) Publish(sum app.CommitSummary) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.n == 0 {
		return
	}
	var names map[string]string
	if p := f.names.Load(); p != nil {
		names = *p
	}
	for _, rec := range streamOrder(sum.Records) {
		if rec == nil {
			continue
		}
		subs := f.subs[rec.Stream]
		if len(subs) == 0 {
			continue
		}
		data, err := json.Marshal(recordFromWire(rec, names))
		if err != nil {
			continue
		}
		f.published.Add(1)
		msg := feedMsg{index: rec.Index, data: data}
		if rec.Raw != nil {
			msg.index = rec.Raw.Position // what the records endpoint's from means for a raw stream
		}
		for s := range subs {
			select {
			case s.ch <- msg:
			default:
				f.removeLocked(s)
				f.droppedSlow.Add(1)
				s.positions = rec.Raw != nil
				s.drop(CloseTooSlow, "", msg.index)
			}
		}
	}
}

// streamOrder returns a block's records with each raw stream's in
// position order, in the slots they held: the block lists records by
// chunk key, which for a raw chunk is its id, not its place in the stream.
func streamOrder(recs []*wire.Record) []*wire.Record {
	slots := map[string][]int{}
	for i, r := range recs {
		if r != nil && r.Raw != nil {
			slots[r.Stream] = append(slots[r.Stream], i)
		}
	}
	if len(slots) == 0 {
		return recs
	}
	out := slices.Clone(recs)
	for _, idx := range slots {
		rs := make([]*wire.Record, len(idx))
		for j, i := range idx {
			rs[j] = recs[i]
		}
		slices.SortFunc(rs, func(x, y *wire.Record) int { return cmp.Compare(x.Raw.Position, y.Raw.Position) })
		for j, i := range idx {
			out[i] = rs[j]
		}
	}
	return out
}

// Close drops every subscriber (close code 1001, "node shutting down") and
// refuses new ones. http.Server.Shutdown does not end WebSocket
// connections; call Close after it.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for _, subs := range f.subs {
		for s := range subs {
			f.removeLocked(s)
			f.droppedClosed.Add(1)
			s.drop(websocket.StatusGoingAway, "node shutting down; reconnect to another node or later", 0)
		}
	}
}

// Subscribers returns the number of open subscriptions.
func (f *Feed) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// subscribe registers a subscriber of stream, or says why not.
func (f *Feed) subscribe(stream string) (*subscriber, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errFeedClosed
	}
	if f.n >= f.opts.MaxSubscribers {
		return nil, fmt.Errorf("this node already serves %d feed subscribers; retry later or ask another node", f.n)
	}
	s := &subscriber{stream: stream, ch: make(chan feedMsg, f.opts.QueueLen), done: make(chan struct{})}
	m := f.subs[stream]
	if m == nil {
		m = map[*subscriber]struct{}{}
		f.subs[stream] = m
	}
	m[s] = struct{}{}
	f.n++
	return s, nil
}

var errFeedClosed = fmt.Errorf("the node is shutting down; reconnect to another node or later")

func (f *Feed) unsubscribe(s *subscriber) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removeLocked(s)
}

func (f *Feed) removeLocked(s *subscriber) {
	m := f.subs[s.stream]
	if _, ok := m[s]; !ok {
		return
	}
	delete(m, s)
	if len(m) == 0 {
		delete(f.subs, s.stream)
	}
	f.n--
}

// setNames gives the feed the validators' names for its messages.
func (f *Feed) setNames(names map[string]string) { f.names.Store(&names) }

func (f *Feed) hasNames() bool { return f.names.Load() != nil }

// slowReason is the close reason of a subscriber dropped for slowness:
// where to catch up. It fits the 123 bytes a close reason may have.
func slowReason(lowest uint64, queue int, positions bool) string {
	unit := "index"
	if positions {
		unit = "position"
	}
	return fmt.Sprintf("too slow: queue of %d records full; fetch from %s %d via the records API, then reconnect", queue, unit, lowest)
}
