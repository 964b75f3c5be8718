package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/ingest/source"
	"github.com/datadragon/datadragon/node"
)

// SoakOptions configure a soak run: a network at the devnet's demo load
// (two observed sources, sensors at 20 frames/s in chunks of 20 and ticks
// at 50 frames/s in chunks of 50) plus a steady push to validator 0's
// gateway, for long enough to see what grows.
type SoakOptions struct {
	Validators int
	Duration   time.Duration
	Sample     time.Duration // how often disk and memory are sampled; 0: Duration/30, at least 5 s
	// PushRate is the steady push in bytes per second (0: none); it is
	// sent in one part a second to the devnet's "uploads" stream.
	PushRate int
	Dir      string // homes; a temporary directory if empty
	BasePort int    // validators' P2P ports start here
	APIPort  int    // validator I's API listens on APIPort+I
	Progress io.Writer
	// RetainBlocks, if set, is every node's retain_blocks (node.json);
	// nil keeps the node's default.
	RetainBlocks *int64
	// SnapshotInterval, if set, is every node's snapshot_interval; nil
	// keeps the node's default (snapshots, which delay compaction).
	SnapshotInterval *int64
	// HeapProfiles, if set, is a directory the run writes two heap
	// profiles to, heap-warm.pb.gz at the end of warm-up and heap-end.pb.gz
	// at the end (each after a collection), for
	// `go tool pprof -base heap-warm.pb.gz heap-end.pb.gz`.
	HeapProfiles string
}

// SoakComponents name what a node keeps on disk, in report order: CometBFT's
// block store, consensus WAL and state (with evidence), the app's state, the
// node's receipt archive, the gateway's logs and sessions, and its
// content-addressed chunk objects.
var SoakComponents = []string{"blocks", "wal", "state", "app", "archive", "gateway", "objects"}

// ArchiveUsed is the bytes the receipt archive's pages hold (its file
// less bbolt's free pages): not a component of the total, which counts
// the file, but what tells the archive's growth between the file's steps.
const ArchiveUsed = "archive_used"

// AppUsed is the same for the app's state file.
const AppUsed = "app_used"

// SoakSample is one observation of the running network.
type SoakSample struct {
	AtS      float64 `json:"at_s"`
	Height   int64   `json:"height"`
	Records  int     `json:"records"` // decided so far
	RSSBytes uint64  `json:"rss_bytes"`
	// AnonBytes is the anonymous part of RSS (RssAnon): RSS less the pages
	// of mapped files — the binary, and the bbolt files (app.db,
	// receipts.db) it maps, whose pages the kernel may drop at any time and
	// which grow with the files.
	AnonBytes uint64 `json:"anon_bytes"`
	HeapBytes uint64 `json:"heap_bytes"`
	// GoBytes is what the Go runtime holds from the system (less what it
	// returned): RSS beyond it is memory allocated outside Go, such as
	// the block caches and memtables of CometBFT's pebble databases.
	GoBytes uint64           `json:"go_bytes"`
	Disk    map[string]int64 `json:"disk_bytes"` // by component, all nodes together
}

// SoakResult is what a soak run measured.
type SoakResult struct {
	Validators int     `json:"validators"`
	DurationS  float64 `json:"duration_s"`
	PushRate   int     `json:"push_bytes_per_s"`
	Records    int     `json:"records"` // decided during the run
	Accepted   int     `json:"accepted"`
	Heights    int64   `json:"heights"`
	// Growth per node per hour, by component and in all: the slope of a
	// least-squares line through the samples from the end of warm-up on,
	// so that a component which saws up and down within a bound (the
	// WAL's head filling and rotating, a database's compactions) counts
	// its trend, not where the last sample fell.
	PerNodePerHour      map[string]float64 `json:"per_node_per_hour_bytes"`
	PerNodePerHourTotal float64            `json:"per_node_per_hour_total_bytes"`
	// What each component holds per node at the end.
	PerNodeEnd      map[string]float64 `json:"per_node_end_bytes"`
	PerNodeEndTotal float64            `json:"per_node_end_total_bytes"`
	// The live heap (after a collection) at the end of warm-up and at the
	// end: what the process keeps, without the garbage RSS also holds.
	LiveHeapWarmBytes uint64 `json:"live_heap_warm_bytes"`
	LiveHeapEndBytes  uint64 `json:"live_heap_end_bytes"`
	// Memory of the whole process: RSS at the end of warm-up and at the
	// end, and the growth between them.
	RSSWarmBytes uint64  `json:"rss_warm_bytes"`
	RSSEndBytes  uint64  `json:"rss_end_bytes"`
	RSSGrowthPct float64 `json:"rss_growth_pct"`
	// The same for anonymous memory, what the process itself holds.
	AnonWarmBytes uint64       `json:"anon_warm_bytes"`
	AnonEndBytes  uint64       `json:"anon_end_bytes"`
	AnonGrowthPct float64      `json:"anon_growth_pct"`
	PeakRSSBytes  uint64       `json:"peak_rss_bytes"`
	CPUSeconds    float64      `json:"cpu_s"` // user + system, the whole process
	CPUPerRecordS float64      `json:"cpu_per_record_s"`
	WarmUpS       float64      `json:"warm_up_s"`
	Samples       []SoakSample `json:"samples"`
}

// Soak runs the soak benchmark.
func Soak(o SoakOptions) (SoakResult, error) {
	res := SoakResult{Validators: o.Validators, PushRate: o.PushRate}
	if o.Validators < 1 || o.Duration < 10*time.Second || o.PushRate < 0 {
		return res, errors.New("bench: soak needs at least one validator, 10 s, and a push rate ≥ 0")
	}
	sample := o.Sample
	if sample <= 0 {
		sample = max(5*time.Second, o.Duration/30)
	}
	progress := func(f string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, f+"\n", a...)
		}
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "datadragon-bench-soak-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(d)
		dir = d
	}

	// The devnet's two demo sources, on free loopback ports.
	srcCtx, stopSources := context.WithCancel(context.Background())
	defer stopSources()
	var streams []app.Stream
	for _, s := range []struct {
		id   string
		g    gen.Generator
		rate float64
		per  uint64
	}{{"sensors", gen.NewSensor(1), 20, 20}, {"ticks", gen.NewTicker(1), 50, 50}} {
		srv, err := source.New(source.Config{Generator: s.g, Rate: s.rate})
		if err != nil {
			return res, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return res, err
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ln)
		defer hs.Close()
		go srv.Run(srcCtx)
		streams = append(streams, app.Stream{ID: s.id, Source: "ws://" + ln.Addr().String() + "/stream", Chunk: app.ChunkPolicy{Messages: s.per}})
	}
	streams = append(streams, app.Stream{ID: "uploads", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 16}, OpenLoopback: true})
	members, err := node.InitHomes(node.InitOptions{
		Dir: dir, Validators: o.Validators, ChainID: "dd-bench-soak", Host: "127.0.0.1",
		BasePort: o.BasePort, APIBasePort: o.APIPort, Power: 10, CommitTimeout: 100 * time.Millisecond,
		AppState: node.AppState(streams, 0),
	})
	if err != nil {
		return res, err
	}
	for _, m := range members {
		cfg, err := node.LoadConfig(m.Home)
		if err != nil {
			return res, err
		}
		if o.RetainBlocks != nil {
			cfg.RetainBlocks = o.RetainBlocks
		}
		if o.SnapshotInterval != nil {
			cfg.SnapshotInterval = o.SnapshotInterval
		}
		if err := cfg.Save(m.Home); err != nil {
			return res, err
		}
	}
	var mu sync.Mutex
	records, accepted := 0, 0
	onCommit := func(s app.CommitSummary) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range s.Records {
			records++
			if r.Status == wire.StatusAccepted {
				accepted++
			}
		}
	}
	nodes := make([]*node.Node, 0, len(members))
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
			return res, err
		}
		nodes = append(nodes, n)
		if err := n.Start(); err != nil {
			return res, err
		}
	}
	if err := waitAllAt(nodes, 2, time.Minute); err != nil {
		return res, err
	}

	// The steady push: one part a second, all of one upload.
	pushErr := make(chan error, 1)
	pushCtx, stopPush := context.WithCancel(context.Background())
	defer stopPush()
	if o.PushRate > 0 {
		go func() {
			pushErr <- steadyPush(pushCtx, fmt.Sprintf("http://127.0.0.1:%d/v1/push/uploads", o.APIPort), o.PushRate)
		}()
	}

	homes := make([]string, len(members))
	for i, m := range members {
		homes[i] = m.Home
	}
	cpu0 := cpuSeconds()
	h0 := nodes[0].Height()
	start := time.Now()
	take := func() SoakSample {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss, anon := currentRSS()
		mu.Lock()
		n := records
		mu.Unlock()
		d := diskByComponent(homes)
		// The archive's file grows in bbolt's steps and reuses freed
		// pages: the bytes its pages hold tell its growth between steps.
		for _, nd := range nodes {
			d[ArchiveUsed] += nd.ArchiveUsedBytes()
			d[AppUsed] += nd.AppUsedBytes()
		}
		return SoakSample{AtS: time.Since(start).Seconds(), Height: nodes[0].Height(), Records: n, RSSBytes: rss, AnonBytes: anon, HeapBytes: ms.HeapAlloc, GoBytes: ms.Sys - ms.HeapReleased, Disk: d}
	}
	// liveHeap collects and then reads what the heap holds, writing a heap
	// profile named name if asked to.
	liveHeap := func(name string) (uint64, error) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if o.HeapProfiles == "" {
			return ms.HeapAlloc, nil
		}
		f, err := os.Create(filepath.Join(o.HeapProfiles, name))
		if err != nil {
			return 0, fmt.Errorf("bench: the heap profile: %w", err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			f.Close()
			return 0, fmt.Errorf("bench: the heap profile %s: %w", f.Name(), err)
		}
		return ms.HeapAlloc, f.Close()
	}
	if o.HeapProfiles != "" {
		if err := os.MkdirAll(o.HeapProfiles, 0o755); err != nil {
			return res, fmt.Errorf("bench: the heap profiles' directory: %w", err)
		}
	}
	progress("bench soak: %d validators, demo load (sensors 20/s, ticks 50/s) + push %d B/s, for %v, sampled every %v", o.Validators, o.PushRate, o.Duration, sample)
	res.Samples = append(res.Samples, take())
	// Warm-up: the first fifth of the run (caches fill, the first
	// segments of every log are made, the block window fills); growth is
	// measured after it.
	warmAt := o.Duration / 5
	warmIdx := -1
	for time.Since(start) < o.Duration {
		select {
		case err := <-pushErr:
			return res, fmt.Errorf("bench: the steady push stopped: %w", err)
		case <-time.After(min(sample, o.Duration-time.Since(start))):
		}
		s := take()
		res.Samples = append(res.Samples, s)
		if warmIdx < 0 && s.AtS >= warmAt.Seconds() {
			warmIdx = len(res.Samples) - 1
			if res.LiveHeapWarmBytes, err = liveHeap("heap-warm.pb.gz"); err != nil {
				return res, err
			}
		}
		var total int64
		for _, c := range SoakComponents {
			total += s.Disk[c]
		}
		progress("  %4.0fs: height %d, %d records, RSS %s (anonymous %s, Go %s), disk %s for %d nodes", s.AtS, s.Height, s.Records, mib(s.RSSBytes), mib(s.AnonBytes), mib(s.GoBytes), mib(uint64(total)), o.Validators)
	}
	stopPush()
	if res.LiveHeapEndBytes, err = liveHeap("heap-end.pb.gz"); err != nil {
		return res, err
	}
	end := res.Samples[len(res.Samples)-1]
	res.DurationS = end.AtS
	res.CPUSeconds = cpuSeconds() - cpu0
	res.Heights = end.Height - h0
	mu.Lock()
	res.Records, res.Accepted = records, accepted
	mu.Unlock()
	if res.Records > 0 {
		res.CPUPerRecordS = res.CPUSeconds / float64(res.Records)
	}
	if warmIdx < 0 {
		warmIdx = 0
	}
	warm := res.Samples[warmIdx]
	res.WarmUpS = warm.AtS
	after := res.Samples[warmIdx:]
	perNode := 3600 / float64(o.Validators)
	res.PerNodePerHour = map[string]float64{}
	res.PerNodeEnd = map[string]float64{}
	for _, c := range append(append([]string(nil), SoakComponents...), ArchiveUsed, AppUsed) {
		res.PerNodePerHour[c] = slope(after, c) * perNode
		res.PerNodeEnd[c] = float64(end.Disk[c]) / float64(o.Validators)
	}
	for _, c := range SoakComponents {
		res.PerNodePerHourTotal += res.PerNodePerHour[c]
		res.PerNodeEndTotal += res.PerNodeEnd[c]
	}
	res.RSSWarmBytes, res.RSSEndBytes = warm.RSSBytes, end.RSSBytes
	if warm.RSSBytes > 0 {
		res.RSSGrowthPct = 100 * (float64(end.RSSBytes) - float64(warm.RSSBytes)) / float64(warm.RSSBytes)
	}
	res.AnonWarmBytes, res.AnonEndBytes = warm.AnonBytes, end.AnonBytes
	if warm.AnonBytes > 0 {
		res.AnonGrowthPct = 100 * (float64(end.AnonBytes) - float64(warm.AnonBytes)) / float64(warm.AnonBytes)
	}
	res.PeakRSSBytes, _ = PeakRSS()
	return res, nil
}

// slope is the least-squares slope, in bytes a second, of component c over
// the samples (0 for fewer than two).
func slope(samples []SoakSample, c string) float64 {
	if len(samples) < 2 {
		return 0
	}
	var st, sy float64
	for _, s := range samples {
		st += s.AtS
		sy += float64(s.Disk[c])
	}
	n := float64(len(samples))
	mt, my := st/n, sy/n
	var num, den float64
	for _, s := range samples {
		dt := s.AtS - mt
		num += dt * (float64(s.Disk[c]) - my)
		den += dt * dt
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// steadyPush sends rate random bytes a second to one upload of the push
// stream at base until ctx ends, then ends the upload.
func steadyPush(ctx context.Context, base string, rate int) error {
	var idb [16]byte
	rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	client := &http.Client{Timeout: time.Minute}
	part := make([]byte, rate)
	off := 0
	send := func(b []byte, end int) error {
		r, err := client.Post(fmt.Sprintf("%s?upload=%s&offset=%d&end=%d", base, id, off, end), "application/octet-stream", bytes.NewReader(b))
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(io.LimitReader(r.Body, 1<<12))
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			return fmt.Errorf("upload part at %d: %d %s", off, r.StatusCode, msg)
		}
		off += len(b)
		return nil
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			rand.Read(part[:1])
			return send(part[:1], 1)
		case <-t.C:
		}
		rand.Read(part)
		if err := send(part, 0); err != nil {
			return err
		}
	}
}

// diskByComponent sums, over the homes, the bytes of each component's
// files.
func diskByComponent(homes []string) map[string]int64 {
	out := make(map[string]int64, len(SoakComponents))
	for _, h := range homes {
		data := filepath.Join(h, "data")
		out["blocks"] += dirBytes(filepath.Join(data, "blockstore.db"))
		out["wal"] += dirBytes(filepath.Join(data, "cs.wal"))
		out["state"] += dirBytes(filepath.Join(data, "state.db")) + dirBytes(filepath.Join(data, "evidence.db"))
		out["app"] += dirBytes(filepath.Join(data, "app"))
		out["archive"] += dirBytes(filepath.Join(data, node.ArchiveFile))
		gw := dirBytes(filepath.Join(data, "gateway"))
		obj := dirBytes(filepath.Join(data, "gateway", "objects"))
		out["gateway"] += gw - obj
		out["objects"] += obj
	}
	return out
}

// dirBytes is the size of the regular files under dir (0 if it is absent).
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file removed while walking: not counted
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// currentRSS is this process's resident set size now (VmRSS) and its
// anonymous part (RssAnon); 0 where the system does not say.
func currentRSS() (rss, anon uint64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	rss, _ = statusKB(b, "VmRSS")
	anon, _ = statusKB(b, "RssAnon")
	return rss, anon
}

// cpuSeconds is the user and system time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// WriteText prints the result for people.
func (r SoakResult) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "soak: %d validators for %.0f s at the demo load + push %d B/s (growth measured after a %.0f s warm-up)\n",
		r.Validators, r.DurationS, r.PushRate, r.WarmUpS)
	fmt.Fprintf(&b, "records decided:   %d (%d accepted), %d heights\n", r.Records, r.Accepted, r.Heights)
	fmt.Fprintf(&b, "disk per node:     growth per hour (trend after warm-up), size at the end\n")
	comps := append([]string(nil), SoakComponents...)
	sort.SliceStable(comps, func(i, j int) bool { return r.PerNodePerHour[comps[i]] > r.PerNodePerHour[comps[j]] })
	for _, c := range comps {
		fmt.Fprintf(&b, "  %-8s %10.1f MB/h %10.1f MB\n", c, r.PerNodePerHour[c]/1e6, r.PerNodeEnd[c]/1e6)
	}
	fmt.Fprintf(&b, "  %-8s %10.1f MB/h %10.1f MB\n", "total", r.PerNodePerHourTotal/1e6, r.PerNodeEndTotal/1e6)
	fmt.Fprintf(&b, "  (pages in use: the archive's %.1f MB/h, %.1f MB; the app's %.1f MB/h, %.1f MB)\n",
		r.PerNodePerHour[ArchiveUsed]/1e6, r.PerNodeEnd[ArchiveUsed]/1e6, r.PerNodePerHour[AppUsed]/1e6, r.PerNodeEnd[AppUsed]/1e6)
	fmt.Fprintf(&b, "memory:            RSS %s after warm-up, %s at the end (%+.1f %%), peak %s\n",
		mib(r.RSSWarmBytes), mib(r.RSSEndBytes), r.RSSGrowthPct, mib(r.PeakRSSBytes))
	fmt.Fprintf(&b, "  anonymous:       %s after warm-up, %s at the end (%+.1f %%; the rest is mapped files)\n",
		mib(r.AnonWarmBytes), mib(r.AnonEndBytes), r.AnonGrowthPct)
	fmt.Fprintf(&b, "live heap:         %s after warm-up, %s at the end\n", mib(r.LiveHeapWarmBytes), mib(r.LiveHeapEndBytes))
	fmt.Fprintf(&b, "cpu:               %.1f s in all, %.1f ms per record\n", r.CPUSeconds, 1000*r.CPUPerRecordS)
	_, err := io.WriteString(w, b.String())
	return err
}
