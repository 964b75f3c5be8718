package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/ingest/rawchunk"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// tickerFeed is a third-party ticker feed, written here and not taken
// from DataDragon's source: no seq, no replay, a subscribe message
// required, a heartbeat every 10 messages and a per-connection id. It
// admits connections one at a time as its gates open, drops connection
// dropConn after dropAfter, and sends connection tamperConn other prices
// in some messages (without moving any chunk boundary, so that validator
// names the same chunks with other digests).
type tickerFeed struct {
	rate       float64
	dropConn   int
	dropAfter  int // messages after the fourth connection's start
	tamperConn int
	norm       digest.Normalize
	target     uint64 // the stream's boundary target, to keep boundaries where they are

	mu       sync.Mutex
	cond     *sync.Cond
	log      [][]byte // every message produced, as sent to an honest subscriber without conn id
	conns    int
	admitted int           // connections allowed so far
	starts   map[int]int   // connection → position of its first message
	tampered map[int]bool  // positions changed for tamperConn
	stop     chan struct{} //
}

func newTickerFeed(rate float64, norm digest.Normalize, expected int) *tickerFeed {
	f := &tickerFeed{rate: rate, norm: norm, target: math.MaxUint64 / uint64(expected), starts: map[int]int{}, tampered: map[int]bool{}, stop: make(chan struct{}), dropConn: -1, tamperConn: -1}
	f.cond = sync.NewCond(&f.mu)
	return f
}

func (f *tickerFeed) ticker(i int, conn int, px int) []byte {
	return fmt.Appendf(nil, `{"type":"ticker","conn":%d,"product":"BTC-USD","price":"%d.%02d","trade_id":%d}`, conn, 60000+px/100, px%100, 9_000_000+i)
}

func (f *tickerFeed) low(m []byte) bool {
	n, _ := f.norm.Apply(m)
	b := digest.Boundary(n)
	return binary.BigEndian.Uint64(b[:8]) < f.target
}

func (f *tickerFeed) produce() {
	t := time.NewTicker(time.Duration(float64(time.Second) / f.rate))
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		px := (i * 7919) % 100000
		f.mu.Lock()
		f.log = append(f.log, f.ticker(i, 0, px))
		f.cond.Broadcast()
		f.mu.Unlock()
	}
}

func (f *tickerFeed) admit() {
	f.mu.Lock()
	f.admitted++
	f.mu.Unlock()
}

func (f *tickerFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.conns >= f.admitted {
		f.mu.Unlock()
		http.Error(w, "not yet", http.StatusServiceUnavailable)
		return
	}
	f.conns++
	conn := f.conns
	f.mu.Unlock()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, sub, err := c.Read(rctx)
	cancel()
	if err != nil || !strings.Contains(string(sub), `"subscribe"`) {
		c.Close(websocket.StatusPolicyViolation, "send a subscribe message first")
		return
	}
	go func() { // read pings and closes
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}()
	f.mu.Lock()
	pos := len(f.log)
	f.starts[conn] = pos
	f.mu.Unlock()
	for n := 0; ; n++ {
		f.mu.Lock()
		for pos >= len(f.log) {
			select {
			case <-f.stop:
				f.mu.Unlock()
				return
			default:
			}
			f.cond.Wait()
		}
		i := pos
		pos++
		msg := f.log[i]
		f.mu.Unlock()
		f.mu.Lock()
		s4, ok4 := f.starts[4]
		s5, ok5 := f.starts[5]
		f.mu.Unlock()
		// The drop comes once every validator has been connected for a
		// while, so the chunk it breaks is after the latest start.
		if conn == f.dropConn && ok4 && i > s4+f.dropAfter {
			return // the connection drops, mid-chunk
		}
		px := (i * 7919) % 100000
		out := f.ticker(i, conn, px)
		// Tampering starts once the dropped connection is back, so that no
		// chunk has both a gap and a lie (2 of 4 would then be no majority).
		if conn == f.tamperConn && i%40 == 7 && ok5 && i > s5+f.dropAfter {
			alt := f.ticker(i, conn, px+1)
			if !f.low(msg) && !f.low(alt) {
				out = alt
				f.mu.Lock()
				f.tampered[i] = true
				f.mu.Unlock()
			}
		}
		if n%10 == 0 {
			hb := fmt.Appendf(nil, `{"type":"heartbeat","conn":%d,"sequence":%d}`, conn, n)
			if c.Write(ctx, websocket.MessageText, hb) != nil {
				return
			}
		}
		if c.Write(ctx, websocket.MessageText, out) != nil {
			return
		}
	}
}

func (f *tickerFeed) close() {
	close(f.stop)
	f.mu.Lock()
	f.cond.Broadcast()
	f.mu.Unlock()
}

// TestRawFeedFourValidatorsAgree: four validators subscribe to an
// unmodified third-party feed at different moments; every chunk after
// the latest start is accepted with the digest recomputed independently
// from what the feed sent; a validator whose connection dropped attests a
// gap for that chunk and agrees again from the next boundary; the
// validator fed other content is outvoted and flagged faulty.
func TestRawFeedFourValidatorsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	spec := app.RawSpec{
		Subscribe:        []string{`{"type":"subscribe","channels":["ticker"]}`},
		Header:           map[string]string{"User-Agent": "datadragon-test"},
		ExpectedMessages: 16,
		Normalize:        digest.Normalize{IgnoreField: "type", IgnoreValues: []string{"heartbeat"}, DropFields: []string{"conn"}},
	}
	feed := newTickerFeed(200, spec.Normalize, spec.ExpectedMessages)
	feed.dropConn, feed.dropAfter, feed.tamperConn = 2, 200, 3
	go feed.produce()
	hs := httptest.NewServer(feed)
	t.Cleanup(func() { feed.close(); hs.Close() })
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/feed"

	// Gates: one validator at once, the next ones 0.7 s apart; later
	// gates admit the dropped validator's reconnection.
	go func() {
		for k := 0; k < 8; k++ {
			feed.admit()
			time.Sleep(700 * time.Millisecond)
		}
	}()
	net := startStreams(t, 4, 27900, []app.Stream{{ID: "raw-ticks", Mode: app.ModeRaw, Source: url, Raw: &spec}}, 5, nil)

	records := func(n *Node) map[string]*app.RecordView {
		recs, _, err := n.App().Records("raw-ticks", 0, app.MaxPageSize)
		if err != nil {
			return nil
		}
		out := map[string]*app.RecordView{}
		for _, r := range recs {
			if r.Raw != nil {
				out[r.Raw.ChunkID] = r
			}
		}
		return out
	}
	net.waitForIn("200 raw chunks accepted", 3*time.Minute, func() bool { return len(records(net.nodes[0])) >= 200 })

	// The reference: what the feed sent, cut independently.
	feed.mu.Lock()
	sent := append([][]byte(nil), feed.log...)
	latest := 0
	for conn := 1; conn <= 4; conn++ {
		latest = max(latest, feed.starts[conn])
	}
	dropStart := feed.starts[feed.dropConn]
	reconnect := feed.starts[5]
	tampered := map[int]bool{}
	for k, v := range feed.tampered {
		tampered[k] = v
	}
	feed.mu.Unlock()
	c, err := rawchunk.New("raw-ticks", spec.Policy(), spec.Normalize)
	if err != nil {
		t.Fatal(err)
	}
	type refChunk struct {
		ch          rawchunk.Chunk
		first, last int // positions in sent
	}
	var ref []refChunk
	open := -1
	for i, m := range sent {
		for _, ch := range c.Add(m) {
			ref = append(ref, refChunk{ch, open, i - 1})
		}
		if c.Synced() && (open < 0 || len(ref) > 0 && ref[len(ref)-1].last == i-1) {
			open = i
		}
	}

	recs := records(net.nodes[0])
	names := map[string]int{}
	for i, m := range net.members {
		names[m.Name] = i
	}
	var agreedAfter, gapsOf, faultyOf = 0, map[int]int{}, map[int]int{}
	firstAgreed := map[int]int{} // validator → first message of the first chunk it agreed on after the reconnection
	refByID := map[string]refChunk{}
	for _, rc := range ref {
		refByID[rc.ch.ID.String()] = rc
	}
	for _, rc := range ref {
		r, ok := recs[rc.ch.ID.String()]
		if rc.first <= latest || rc.last+1 >= len(sent)-400 {
			continue // before the latest start, or too recent to be decided
		}
		if !ok || r.Status != "accepted" {
			t.Fatalf("chunk %s (messages %d–%d, after the latest start %d) has no accepted record", rc.ch.ID, rc.first, rc.last, latest)
		}
		if r.Digest != rc.ch.Digest.String() || r.Raw.Close != rc.ch.Close.String() {
			t.Fatalf("chunk %s: record digest %s, recomputed from the sent messages %s", rc.ch.ID, r.Digest, rc.ch.Digest)
		}
		agreedAfter++
	}
	// Outcomes over every accepted record, the earliest included.
	for id, r := range recs {
		rc, ok := refByID[id]
		if !ok {
			t.Fatalf("accepted chunk %s is no chunk of what the feed sent", id)
		}
		if r.Digest != rc.ch.Digest.String() {
			t.Fatalf("chunk %s: accepted digest %s, recomputed %s", id, r.Digest, rc.ch.Digest)
		}
		hasTamper := false
		for i := rc.first; i <= rc.last; i++ {
			hasTamper = hasTamper || tampered[i]
		}
		for _, a := range r.Attestations {
			v := names[a.Name]
			switch a.Outcome {
			case "agreed":
				if f, ok := firstAgreed[v]; reconnect > 0 && rc.first >= reconnect && (!ok || rc.first < f) {
					firstAgreed[v] = rc.first
				}
			case "gap":
				gapsOf[v]++
			case "faulty":
				faultyOf[v]++
				if !hasTamper {
					t.Errorf("validator %d faulty on chunk %s, which the feed did not tamper with", v, rc.ch.ID)
				}
			}
		}
	}
	if agreedAfter < 30 {
		t.Fatalf("only %d chunks after the latest start were checked", agreedAfter)
	}
	// Connection 2 dropped mid-chunk: its validator attested one gap; the
	// validator fed other prices (connection 3) is the only faulty one.
	if len(gapsOf) != 1 {
		t.Fatalf("gaps by validator: %v, want one validator with a gap", gapsOf)
	}
	for v, n := range gapsOf {
		if n != 1 {
			t.Fatalf("validator %d attested %d gaps for one dropped connection", v, n)
		}
	}
	if len(faultyOf) != 1 {
		t.Fatalf("faulty by validator: %v, want exactly the one fed other content", faultyOf)
	}
	for v := range gapsOf {
		f, ok := firstAgreed[v]
		if !ok {
			t.Fatalf("the reconnected validator %d never agreed again", v)
		}
		t.Logf("reconnected validator agreed again %d messages after its reconnection", f-reconnect)
	}
	t.Logf("%d chunks checked; dropped connection started at message %d, reconnected at %d; %d messages sent", agreedAfter, dropStart, reconnect, len(sent))

	// A receipt of one raw record verifies offline, with the data as a
	// subscriber captured it: its connection id and heartbeats included,
	// one message per line. Other data is refused.
	var pick refChunk
	for _, rc := range ref {
		if r, ok := recs[rc.ch.ID.String()]; ok && rc.first > latest && r.Settled {
			pick = rc
			break
		}
	}
	rv := recs[pick.ch.ID.String()]
	rcpt, err := net.nodes[1].Receipt(rv.Stream, rv.Index)
	if err != nil {
		t.Fatal(err)
	}
	var captured bytes.Buffer
	for i := pick.first; i <= pick.last; i++ {
		if i%7 == 0 {
			fmt.Fprintf(&captured, "{\"type\":\"heartbeat\",\"conn\":9,\"sequence\":%d}\n", i)
		}
		captured.Write(feed.ticker(i, 9, (i*7919)%100000))
		captured.WriteByte('\n')
	}
	cfg, err := LoadConfig(net.members[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	gdoc, err := cmttypes.GenesisDocFromFile(cfg.comet(net.members[0].Home).GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := receipt.Verify(rcpt, gdoc, captured.Bytes()); err != nil {
		t.Fatalf("raw receipt with captured data: %v", err)
	}
	short := bytes.TrimSuffix(captured.Bytes(), []byte("\n"))
	short = short[:bytes.LastIndexByte(short, '\n')+1]
	if err := receipt.Verify(rcpt, gdoc, short); receipt.BrokenLink(err) != "data" {
		t.Fatalf("a chunk missing its last message: %v", err)
	}
}

// TestRegisteredRawStreamWithRules: a raw stream registered by its
// owner's transaction, cut by windows of a field its messages carry, is
// followed by every node, and its rules are the accepted verdict; its
// feed and cutting cannot change by a later registration.
func TestRegisteredRawStreamWithRules(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	spec := app.RawSpec{
		Subscribe: []string{`{"type":"subscribe"}`},
		TimeField: "trade_id", WindowMs: 20, // windows of 20 trade ids
		Normalize: digest.Normalize{IgnoreField: "type", IgnoreValues: []string{"heartbeat"}, DropFields: []string{"conn"}},
	}
	feed := newTickerFeed(200, spec.Normalize, 1)
	for range 8 {
		feed.admit()
	}
	go feed.produce()
	hs := httptest.NewServer(feed)
	t.Cleanup(func() { feed.close(); hs.Close() })
	// Snapshots every 4 heights: the registry and the raw buckets must be
	// in them (a bucket the snapshot writer does not know marks the state
	// corrupt, since the block committed to it).
	interval, keepSnaps := int64(4), 2
	net := startStreamsWith(t, 4, 28300, nil, 5, func(i int, c *Config) {
		if i == 0 {
			c.SnapshotInterval, c.SnapshotKeep = &interval, keepSnaps
		}
	})

	stream := app.Stream{ID: "raw-rules", Mode: app.ModeRaw, Source: "ws" + strings.TrimPrefix(hs.URL, "http") + "/feed", Raw: &spec,
		Rules: json.RawMessage(`{"fields":[{"path":"volume","required":true}]}`)}
	_, owner, _ := ziggy.GenerateKey(rand.Reader)
	register := func(s app.Stream, nonce uint64) []byte {
		b, _ := json.Marshal(s)
		sig, err := ziggy.Sign(owner, wire.RegisterSignBytes("dd-test", owner.Public().Bytes(), nonce, b))
		if err != nil {
			t.Fatal(err)
		}
		tx, _ := (&wire.RegisterTx{Spec: b, Owner: owner.Public().Bytes(), Nonce: nonce, Signature: sig}).Marshal()
		return tx
	}
	gc := &gatewayChain{app: net.nodes[0].App(), rpc: local.New(net.nodes[0].cmt)}
	net.waitFor("the registration in the mempool", func() bool {
		code, _, err := gc.Submit(register(stream, 1))
		if err == nil && code != app.CodeOK {
			t.Fatalf("registration refused: code %d", code)
		}
		return err == nil
	})
	var got *app.RecordView
	net.waitForIn("an accepted record of the registered raw stream", 3*time.Minute, func() bool {
		recs, _, err := net.nodes[1].App().Records("raw-rules", 0, 100)
		for _, r := range recs {
			if err == nil && r.Status == "accepted" && r.Raw != nil {
				got = r
				return true
			}
		}
		return false
	})
	if got.Verdict != wire.Violation(4).String() {
		t.Fatalf("verdict %q, want %s (a required field missing)", got.Verdict, wire.Violation(4))
	}
	if got.Raw.Messages != 20 {
		t.Fatalf("a window of 20 trade ids holds %d messages", got.Raw.Messages)
	}

	// Its receipt verifies offline with the messages as the feed sent them
	// and the spec its owner registered (the genesis does not hold the
	// normalisation); without the spec, or with a wrong one, it does not.
	var rcpt *receipt.Receipt
	net.waitFor("the raw record's receipt", func() bool {
		var err error
		rcpt, err = net.nodes[1].Receipt(got.Stream, got.Index)
		return err == nil
	})
	feed.mu.Lock()
	sent := append([][]byte(nil), feed.log...)
	feed.mu.Unlock()
	cut, err := rawchunk.New("raw-rules", spec.Policy(), spec.Normalize)
	if err != nil {
		t.Fatal(err)
	}
	firstOf := map[string]int{} // chunk id → the position in sent of its first message
	for i, m := range sent {
		for _, ch := range cut.Add(m) {
			firstOf[ch.Close.String()] = i
		}
	}
	from, ok1 := firstOf[got.Raw.ChunkID]
	to, ok2 := firstOf[got.Raw.Close]
	if !ok1 || !ok2 {
		t.Fatalf("chunk %s (or its close) not found in what the feed sent", got.Raw.ChunkID)
	}
	captured := bytes.Join(sent[from:to], []byte("\n"))
	cfg, err := LoadConfig(net.members[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	gdoc, err := cmttypes.GenesisDocFromFile(cfg.comet(net.members[0].Home).GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	registered, _ := json.Marshal(stream)
	rs, err := receipt.ParseRawSpec(registered)
	if err != nil {
		t.Fatal(err)
	}
	if err := receipt.VerifyWithSpec(rcpt, gdoc, captured, rs, nil); err != nil {
		t.Fatalf("the registered raw stream's receipt with its spec: %v", err)
	}
	if err := receipt.Verify(rcpt, gdoc, captured); receipt.BrokenLink(err) != "data" || !strings.Contains(err.Error(), "--spec") {
		t.Fatalf("without the spec: %v", err)
	}
	wrongSpec := stream
	wrongRaw := spec
	wrongRaw.Normalize.DropFields = nil // keeps the connection id
	wrongSpec.Raw = &wrongRaw
	wb, _ := json.Marshal(wrongSpec)
	ws, err := receipt.ParseRawSpec(wb)
	if err != nil {
		t.Fatal(err)
	}
	if err := receipt.VerifyWithSpec(rcpt, gdoc, captured, ws, nil); receipt.BrokenLink(err) != "data" || !strings.Contains(err.Error(), "not the one stream raw-rules was registered with") {
		t.Fatalf("with a wrong spec: %v", err)
	}
	// DATADRAGON_RAW_FIXTURE=DIR writes what the CLI's test of verify --spec
	// reads (cmd/datadragon/testdata/raw).
	if dir := os.Getenv("DATADRAGON_RAW_FIXTURE"); dir != "" {
		rb, _ := json.Marshal(rcpt)
		gb, _ := os.ReadFile(cfg.comet(net.members[0].Home).GenesisFile())
		for name, b := range map[string][]byte{"receipt.json": rb, "genesis.json": gb, "captured.txt": append(captured, '\n'), "spec.json": registered, "wrong-spec.json": wb} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	// A snapshot taken after the registration and the raw records.
	net.waitFor("a snapshot after the first raw record", func() bool {
		ls, err := net.nodes[0].App().ListSnapshots(context.Background(), &abci.ListSnapshotsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ls.Snapshots {
			if int64(s.Height) > got.Height {
				return true
			}
		}
		return false
	})
	if _, err := net.nodes[0].App().Scrub(context.Background()); err != nil {
		t.Fatalf("the state after a snapshot of a registered raw stream: %v", err)
	}

	changed := stream
	other := spec
	other.WindowMs = 40
	changed.Raw = &other
	code, _, err := gc.Submit(register(changed, 2))
	if err != nil || code != app.CodeBadSpec {
		t.Fatalf("a re-registration changing the cutting: code %d (%v), want %d", code, err, app.CodeBadSpec)
	}
}
