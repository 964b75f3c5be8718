package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/source"
	"github.com/datadragon/datadragon/node"
)

// NetworkOptions configure a network benchmark: validators in this process
// observing two sources of fixed-size messages.
type NetworkOptions struct {
	Validators int
	Duration   time.Duration // how long the sources emit
	Rate       float64       // messages per second per stream
	Size       int           // payload bytes per message
	PerChunk   uint64        // messages per chunk
	Dir        string        // where the homes go; a temporary directory if empty
	BasePort   int           // validators' P2P ports start here
	// CommitTimeout is CometBFT's pause after each block (0: 100ms).
	CommitTimeout time.Duration
	Progress      io.Writer // progress lines; nil for none
}

// NetworkResult is what a network benchmark measured.
type NetworkResult struct {
	Validators   int     `json:"validators"`
	Streams      int     `json:"streams"`
	DurationS    float64 `json:"duration_s"`
	Rate         float64 `json:"messages_per_s"` // all streams together
	MessageBytes int     `json:"message_bytes"`
	Chunks       int     `json:"chunks"`   // chunks the sources' frames filled
	Accepted     int     `json:"accepted"` // of those, accepted by the end
	Disputed     int     `json:"disputed"`
	// Latency from a chunk's close (the record's timestamp: the weighted
	// median of the validators' close times) to node 0 committing the
	// block that accepted it.
	LatencyP50MS float64 `json:"latency_p50_ms"`
	LatencyP99MS float64 `json:"latency_p99_ms"`
	LatencyMaxMS float64 `json:"latency_max_ms"`
	BlocksPerS   float64 `json:"blocks_per_s"`
	// Memory of the whole process (every validator and both sources) and
	// that divided by the number of validators.
	PeakRSSBytes    uint64 `json:"peak_rss_bytes"`
	PeakHeapBytes   uint64 `json:"peak_heap_bytes"`
	PerNodeRSSBytes uint64 `json:"per_node_rss_bytes"`
}

// blob is a source generator of fixed-size pseudo-random payloads.
type blob struct {
	size int
	tag  byte
}

func (b blob) Kind() string { return "blob" }

func (b blob) Payload(seq uint64, _ int64) ([]byte, error) {
	out := make([]byte, 0, b.size+sha256.Size)
	block := sha256.Sum256(binary.BigEndian.AppendUint64([]byte{b.tag}, seq))
	for len(out) < b.size {
		out = append(out, block[:]...)
		block = sha256.Sum256(block[:])
	}
	return out[:b.size], nil
}

// Network runs the benchmark.
func Network(o NetworkOptions) (NetworkResult, error) {
	if o.Validators < 1 || o.Duration <= 0 || o.Rate <= 0 || o.Size < 1 || o.PerChunk < 1 {
		return NetworkResult{}, errors.New("bench: network options out of range")
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "datadragon-bench-network-")
		if err != nil {
			return NetworkResult{}, err
		}
		defer os.RemoveAll(d)
		dir = d
	}

	// Two sources on free loopback ports.
	srcCtx, stopSources := context.WithCancel(context.Background())
	defer stopSources()
	var servers []*source.Server
	var streams []app.Stream
	for i, id := range []string{"alpha", "beta"} {
		srv, err := source.New(source.Config{Generator: blob{size: o.Size, tag: byte(i)}, Rate: o.Rate,
			BufferFrames: int(o.Rate * 30), BufferBytes: int64(o.Rate*30) * int64(o.Size+64)})
		if err != nil {
			return NetworkResult{}, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return NetworkResult{}, err
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ln)
		defer hs.Close()
		servers = append(servers, srv)
		streams = append(streams, app.Stream{ID: id, Source: "ws://" + ln.Addr().String() + "/stream",
			Chunk: app.ChunkPolicy{Messages: o.PerChunk}})
	}

	if o.CommitTimeout == 0 {
		o.CommitTimeout = 100 * time.Millisecond
	}
	members, err := node.InitHomes(node.InitOptions{
		Dir: dir, Validators: o.Validators, ChainID: "datadragon-bench", Host: "127.0.0.1",
		BasePort: o.BasePort, Power: 10, CommitTimeout: o.CommitTimeout,
		AppState: node.AppState(streams, 0),
	})
	if err != nil {
		return NetworkResult{}, err
	}

	var mu sync.Mutex
	var latencies []float64
	decided := map[wire.ChunkKey]wire.Status{}
	var firstBlock, lastBlock time.Time
	var blocks int
	onCommit := func(s app.CommitSummary) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if firstBlock.IsZero() {
			firstBlock = now
		}
		lastBlock = now
		blocks++
		for _, r := range s.Records {
			decided[r.Key()] = r.Status
			if r.Status == wire.StatusAccepted {
				latencies = append(latencies, float64(now.UnixMicro()-r.TimeMs*1000)/1000)
			}
		}
	}
	var nodes []*node.Node
	defer func() {
		for _, n := range nodes {
			n.Stop()
		}
	}()
	for i, m := range members {
		opts := node.Options{}
		if i == 0 {
			opts.OnCommit = onCommit
		}
		n, err := node.Open(m.Home, opts)
		if err != nil {
			return NetworkResult{}, err
		}
		nodes = append(nodes, n)
	}
	runtime := startHeapSampler(10 * time.Millisecond)
	for _, n := range nodes {
		if err := n.Start(); err != nil {
			runtime.stop()
			return NetworkResult{}, err
		}
	}
	// The sources start once every validator is up: a chunk closed while
	// the validators are still connecting waits for the chain's first
	// heights, a start-up cost the latency would otherwise count (a dozen
	// chunks of a minute's run, its whole p99).
	if err := waitAllAt(nodes, 2, time.Minute); err != nil {
		runtime.stop()
		return NetworkResult{}, err
	}
	for _, srv := range servers {
		go srv.Run(srcCtx)
	}
	start := time.Now()
	fmt.Fprintf(progress, "bench network: %d validators, 2 streams × %.0f msg/s × %d B for %v\n", o.Validators, o.Rate, o.Size, o.Duration)
	for elapsed := time.Duration(0); elapsed < o.Duration; elapsed = time.Since(start) {
		time.Sleep(min(5*time.Second, o.Duration-elapsed))
		mu.Lock()
		fmt.Fprintf(progress, "  %3.0fs: height %d, %d chunks decided\n", time.Since(start).Seconds(), nodes[0].Height(), len(decided))
		mu.Unlock()
	}
	stopSources()
	// Every chunk the sources filled must now be decided.
	chunks := 0
	var want []wire.ChunkKey
	for i, srv := range servers {
		full := srv.Next() / o.PerChunk
		chunks += int(full)
		for idx := range full {
			want = append(want, wire.ChunkKey{Stream: streams[i].ID, Index: idx})
		}
	}
	drain := time.Now().Add(30 * time.Second)
	for time.Now().Before(drain) {
		mu.Lock()
		missing := slices.ContainsFunc(want, func(k wire.ChunkKey) bool { _, ok := decided[k]; return !ok })
		mu.Unlock()
		if !missing {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	peakHeap := runtime.stop()
	rss, _ := PeakRSS()

	mu.Lock()
	defer mu.Unlock()
	res := NetworkResult{
		Validators: o.Validators, Streams: 2, DurationS: o.Duration.Seconds(),
		Rate: 2 * o.Rate, MessageBytes: o.Size, Chunks: chunks,
		PeakRSSBytes: rss, PeakHeapBytes: peakHeap, PerNodeRSSBytes: rss / uint64(o.Validators),
	}
	for _, k := range want {
		switch decided[k] {
		case wire.StatusAccepted:
			res.Accepted++
		case wire.StatusDisputed:
			res.Disputed++
		}
	}
	if n := len(latencies); n > 0 {
		slices.Sort(latencies)
		res.LatencyP50MS = latencies[n/2]
		res.LatencyP99MS = latencies[min(n-1, n*99/100)]
		res.LatencyMaxMS = latencies[n-1]
	}
	if blocks > 1 {
		res.BlocksPerS = float64(blocks-1) / lastBlock.Sub(firstBlock).Seconds()
	}
	return res, nil
}

// WriteText prints the result for people.
func (r NetworkResult) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, `%d validators, %d streams, %.0f messages/s of %d B for %.0f s
chunks filled:    %d
accepted:         %d (disputed %d)
close → accepted: p50 %.0f ms, p99 %.0f ms, max %.0f ms
blocks:           %.1f per second
memory:           peak RSS %s for the process, %s per validator; peak Go heap %s
`, r.Validators, r.Streams, r.Rate, r.MessageBytes, r.DurationS, r.Chunks, r.Accepted, r.Disputed,
		r.LatencyP50MS, r.LatencyP99MS, r.LatencyMaxMS, r.BlocksPerS,
		mib(r.PeakRSSBytes), mib(r.PerNodeRSSBytes), mib(r.PeakHeapBytes))
	return err
}
