package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/ingest/raw"
	"github.com/datadragon/datadragon/ingest/rawchunk"
	"github.com/datadragon/datadragon/ingest/rawsource"
	"github.com/datadragon/datadragon/node"
)

// RawOptions configure a raw-stream benchmark: validators in this process
// observing the demo ticker feed as a raw stream.
type RawOptions struct {
	Validators    int
	Duration      time.Duration
	Rate          float64 // feed messages per second
	Expected      int     // expected messages per content-defined chunk
	Dir           string
	BasePort      int
	CommitTimeout time.Duration
	Progress      io.Writer
}

// RawResult is what a raw-stream benchmark measured.
type RawResult struct {
	Validators int     `json:"validators"`
	DurationS  float64 `json:"duration_s"`
	Rate       float64 `json:"messages_per_s"`
	Expected   int     `json:"expected_messages"`
	Messages   uint64  `json:"messages"` // ticker messages the feed produced
	Accepted   int     `json:"accepted"` // raw chunks accepted
	Disputed   int     `json:"disputed"`
	// Latency from a chunk's close (the record's timestamp: the weighted
	// median of the validators' close times) to node 0 committing the
	// block that accepted it.
	LatencyP50MS float64 `json:"latency_p50_ms"`
	LatencyP99MS float64 `json:"latency_p99_ms"`
	// CPU time of the whole process (validators, consensus, the feed)
	// per feed message and per validator.
	CPUPerMessageUS float64 `json:"cpu_per_message_per_validator_us"`
	// Messages after a reconnection until the chunker cuts the first
	// complete chunk (over 1,000 reconnections at random points of the
	// captured feed): when the validator agrees again.
	ResyncP50 int `json:"resync_messages_p50"`
	ResyncP99 int `json:"resync_messages_p99"`
}

// Raw runs the raw-stream benchmark.
func Raw(o RawOptions) (RawResult, error) {
	if o.Validators < 1 || o.Duration <= 0 || o.Rate <= 0 || o.Expected < 1 {
		return RawResult{}, errors.New("bench: raw options out of range")
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "datadragon-bench-raw-")
		if err != nil {
			return RawResult{}, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	feed, err := rawsource.New(rawsource.Config{Rate: o.Rate, Seed: 1, MaxSubscribers: o.Validators + 2})
	if err != nil {
		return RawResult{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return RawResult{}, err
	}
	hs := &http.Server{Handler: feed, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	url := "ws://" + ln.Addr().String() + "/feed"
	subscribe := []string{`{"type":"subscribe","channels":["ticker"]}`}
	spec := &app.RawSpec{Subscribe: subscribe, ExpectedMessages: o.Expected,
		Normalize: digest.Normalize{IgnoreField: "type", IgnoreValues: []string{"heartbeat"}, DropFields: []string{"conn_id"}}}
	stream := app.Stream{ID: "raw-bench", Mode: app.ModeRaw, Source: url, Raw: spec}
	if o.CommitTimeout == 0 {
		o.CommitTimeout = 100 * time.Millisecond
	}
	members, err := node.InitHomes(node.InitOptions{
		Dir: dir, Validators: o.Validators, ChainID: "datadragon-bench", Host: "127.0.0.1",
		BasePort: o.BasePort, Power: 10, CommitTimeout: o.CommitTimeout,
		AppState: node.AppState([]app.Stream{stream}, 0),
	})
	if err != nil {
		return RawResult{}, err
	}
	var mu sync.Mutex
	var latencies []float64
	res := RawResult{Validators: o.Validators, DurationS: o.Duration.Seconds(), Rate: o.Rate, Expected: o.Expected}
	onCommit := func(s app.CommitSummary) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		for _, r := range s.Records {
			switch {
			case r.Status == wire.StatusAccepted && r.Raw != nil:
				res.Accepted++
				latencies = append(latencies, float64(now.UnixMicro()-r.TimeMs*1000)/1000)
			case r.Status == wire.StatusDisputed:
				res.Disputed++
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
			return RawResult{}, err
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if err := n.Start(); err != nil {
			return RawResult{}, err
		}
	}
	// A capture of the feed, for the resynchronisation measurement.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var captured [][]byte
	capDone := make(chan struct{})
	go func() {
		defer close(capDone)
		raw.Run(ctx, raw.Config{URL: url, Subscribe: subscribe}, func(ev raw.Event) error {
			if m, ok := ev.(raw.Message); ok && len(captured) < 1<<20 {
				captured = append(captured, m.Data)
			}
			return nil
		})
	}()
	// The feed starts once every validator is up (see waitAllAt).
	if err := waitAllAt(nodes, 2, time.Minute); err != nil {
		return RawResult{}, err
	}
	go feed.Run(ctx)
	cpu0 := cpuTime()
	start := time.Now()
	fmt.Fprintf(progress, "bench raw: %d validators, a raw feed of %.0f msg/s, chunks of about %d, for %v\n", o.Validators, o.Rate, o.Expected, o.Duration)
	for elapsed := time.Duration(0); elapsed < o.Duration; elapsed = time.Since(start) {
		time.Sleep(min(5*time.Second, o.Duration-elapsed))
		mu.Lock()
		fmt.Fprintf(progress, "  %3.0fs: height %d, %d raw chunks accepted\n", time.Since(start).Seconds(), nodes[0].Height(), res.Accepted)
		mu.Unlock()
	}
	cpu := cpuTime() - cpu0
	res.Messages = feed.Sent()
	time.Sleep(2 * time.Second) // the last chunks are decided
	cancel()
	<-capDone

	mu.Lock()
	if n := len(latencies); n > 0 {
		slices.Sort(latencies)
		res.LatencyP50MS = latencies[n/2]
		res.LatencyP99MS = latencies[min(n-1, n*99/100)]
	}
	mu.Unlock()
	if res.Messages > 0 {
		res.CPUPerMessageUS = float64(cpu.Microseconds()) / float64(res.Messages) / float64(o.Validators)
	}
	res.ResyncP50, res.ResyncP99 = resync(stream.ID, spec, captured)
	return res, nil
}

// resync cuts the captured feed once from the start, then restarts the
// chunker at 1,000 random points and counts the messages until it closes
// its first complete chunk, which must be one of the reference's.
func resync(stream string, spec *app.RawSpec, msgs [][]byte) (p50, p99 int) {
	ref := map[digest.Digest]bool{}
	c, err := rawchunk.New(stream, spec.Policy(), spec.Normalize)
	if err != nil || len(msgs) < 1000 {
		return 0, 0
	}
	for _, m := range msgs {
		for _, ch := range c.Add(m) {
			ref[ch.Digest] = true
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	var counts []int
	for range 1000 {
		at := r.IntN(len(msgs) / 2)
		c, _ := rawchunk.New(stream, spec.Policy(), spec.Normalize)
		for i := at; i < len(msgs); i++ {
			cs := c.Add(msgs[i])
			if len(cs) > 0 && cs[0].Status == rawchunk.Complete {
				if ref[cs[0].Digest] {
					// Agreement begins at the chunk just closed; count the
					// messages seen before its first.
					counts = append(counts, i-at-cs[0].Count)
				}
				break
			}
		}
	}
	if len(counts) == 0 {
		return 0, 0
	}
	slices.Sort(counts)
	return counts[len(counts)/2], counts[min(len(counts)-1, len(counts)*99/100)]
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// WriteText prints the result for people.
func (r RawResult) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, `%d validators, a raw feed of %.0f messages/s for %.0f s, content-defined chunks of about %d
messages:         %d
accepted:         %d raw chunks (disputed %d)
close → accepted: p50 %.0f ms, p99 %.0f ms
CPU:              %.1f µs per message per validator (whole process: consensus, API, feed)
resync:           agrees again %d messages after a reconnection (p50), %d (p99)
`, r.Validators, r.Rate, r.DurationS, r.Expected, r.Messages, r.Accepted, r.Disputed, r.LatencyP50MS, r.LatencyP99MS, r.CPUPerMessageUS, r.ResyncP50, r.ResyncP99)
	return err
}
