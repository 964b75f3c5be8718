package bench

import (
	"bytes"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/zk/chain"
	"github.com/datadragon/datadragon/zk/stark"
)

func TestLengths(t *testing.T) {
	if got := Lengths(0, 13); len(got) != 14 || got[0] != 3 || got[11] != 6144 || got[13] != 24576 {
		t.Errorf("Lengths(0, 13) = %v", got)
	}
	if got := Lengths(2, 1); len(got) != 0 {
		t.Errorf("empty range gave %v", got)
	}
}

func TestMedian(t *testing.T) {
	if got := median([]time.Duration{5, 1, 3}); got != 3 {
		t.Errorf("median = %d", got)
	}
	in := []time.Duration{9, 1}
	median(in)
	if !slices.Equal(in, []time.Duration{9, 1}) {
		t.Error("median reordered its input")
	}
}

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tx\nVmPeak:\t  2000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n"
	if got, err := parseVmHWM([]byte(status)); err != nil || got != 1234<<10 {
		t.Errorf("got %d, %v", got, err)
	}
	for _, bad := range []string{"VmRSS:\t1 kB\n", "VmHWM:\tlots kB\n", "VmHWM:\t12 MB\n"} {
		if _, err := parseVmHWM([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if runtime.GOOS == "linux" {
		if rss, err := PeakRSS(); err != nil || rss < 1<<20 {
			t.Errorf("PeakRSS() = %d, %v", rss, err)
		}
	}
}

func TestHeapSamplerSeesAllocation(t *testing.T) {
	s := startHeapSampler(time.Millisecond)
	buf := make([]byte, 32<<20)
	time.Sleep(5 * time.Millisecond)
	peak := s.stop()
	runtime.KeepAlive(buf)
	if peak < 32<<20 {
		t.Errorf("peak heap %d after allocating 32 MiB", peak)
	}
}

func TestMeasure(t *testing.T) {
	opts := stark.DefaultOptions()
	opts.GrindingBits = 0
	r, err := Measure(3, 2, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Length != 3 || r.Reps != 2 || r.ProveMS <= 0 || r.VerifyMS <= 0 || r.ProofBytes <= 0 || r.PeakHeapBytes == 0 || r.PeakRSSBytes != 0 {
		t.Errorf("implausible %+v", r)
	}
	if want := opts.Queries*bits.TrailingZeros(uint(opts.Blowup)) - 1; r.SecurityBits != want {
		t.Errorf("%d bits, want %d (queries times log2(blowup), no grinding, less one)", r.SecurityBits, want)
	}
	if want := opts.ProvenSecurity(1 << 5); r.ProvenBits != want || r.ProvenBits >= r.SecurityBits {
		t.Errorf("%d proven bits, want %d, below the conjectured %d", r.ProvenBits, want, r.SecurityBits)
	}
	if _, err := Measure(3, 0, opts); err == nil {
		t.Error("reps 0 accepted")
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	err := WriteTable(&b, []Result{
		{Length: 3, ProveMS: 12.34, VerifyMS: 0.5, ProofBytes: 31234, SecurityBits: 128, ProvenBits: 72, PeakHeapBytes: 3 << 20},
		{Length: 24576, ProveMS: 2345, VerifyMS: 3.25, ProofBytes: 98765, SecurityBits: 128, PeakHeapBytes: 200 << 20, PeakRSSBytes: 250 << 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want header and 2 rows:\n%s", b.String())
	}
	for _, want := range []string{"12.3 ms", "0.5 ms", "31.2 KB", "3.0 MiB", "-", "128", "72"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row 1 lacks %q: %q", want, lines[1])
		}
	}
	for _, want := range []string{"24576", "2.35 s", "3.2 ms", "98.8 KB", "250.0 MiB", "200.0 MiB"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("row 2 lacks %q: %q", want, lines[2])
		}
	}
	// Right-aligned columns end at the same place.
	if len(strings.TrimRight(lines[0], " ")) != len(strings.TrimRight(lines[2], " ")) {
		t.Errorf("columns not aligned:\n%s", b.String())
	}
}

// The same measurements through the testing package:
//
//	go test -run '^$' -bench . ./internal/bench
func BenchmarkProve(b *testing.B) {
	for _, k := range []int{0, 5, 11, 13} {
		n := 3 << k
		b.Run(fmt.Sprintf("hashes=%d", n), func(b *testing.B) {
			benchmarkProve(b, n)
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{3, 6144} {
		b.Run(fmt.Sprintf("hashes=%d", n), func(b *testing.B) {
			benchmarkVerify(b, n)
		})
	}
}

func benchmarkProve(b *testing.B, n int) {
	w := chain.RandomWitness(n, Seed)
	opts := stark.DefaultOptions()
	var size int
	for b.Loop() {
		p, err := chain.Prove(w, opts)
		if err != nil {
			b.Fatal(err)
		}
		data, err := p.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "proof-bytes")
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "hashes/s")
}

func benchmarkVerify(b *testing.B, n int) {
	p, err := chain.Prove(chain.RandomWitness(n, Seed), stark.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	data, err := p.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	minBits := p.SecurityBits()
	for b.Loop() {
		q, err := chain.ParseProof(data)
		if err == nil {
			err = chain.Verify(q, minBits)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func TestNetworkResultText(t *testing.T) {
	r := NetworkResult{Validators: 4, Streams: 2, DurationS: 60, Rate: 2000, MessageBytes: 1024, Chunks: 1200,
		Accepted: 1199, Disputed: 1, LatencyP50MS: 294.4, LatencyP99MS: 676, LatencyMaxMS: 1176, BlocksPerS: 5.9,
		PeakRSSBytes: 468 << 20, PerNodeRSSBytes: 117 << 20, PeakHeapBytes: 382 << 20}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"4 validators, 2 streams, 2000 messages/s of 1024 B for 60 s", "1199 (disputed 1)",
		"p50 294 ms, p99 676 ms, max 1176 ms", "5.9 per second", "468.0 MiB", "117.0 MiB", "382.0 MiB"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestDiskByComponent: each file of a node's home counts in its component,
// the gateway's stored objects apart from its logs.
func TestDiskByComponent(t *testing.T) {
	home := t.TempDir()
	files := map[string]int{
		"data/blockstore.db/000001.sst": 100, "data/cs.wal/wal": 20, "data/state.db/1.log": 3, "data/evidence.db/1.log": 4,
		"data/app/app.db": 50, "data/gateway/uploads/log/0.wal": 7, "data/gateway/sessions.json": 1,
		"data/gateway/objects/ab/abcd": 9, "config/genesis.json": 1000,
	}
	for p, n := range files {
		full := filepath.Join(home, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := diskByComponent([]string{home, home})
	want := map[string]int64{"blocks": 200, "wal": 40, "state": 14, "app": 100, "gateway": 16, "objects": 18}
	for _, c := range SoakComponents {
		if got[c] != want[c] {
			t.Errorf("%s: %d bytes, want %d", c, got[c], want[c])
		}
	}
}

func TestSoakResultText(t *testing.T) {
	r := SoakResult{Validators: 4, DurationS: 600, PushRate: 65536, Records: 1200, Accepted: 1199, Heights: 3000, WarmUpS: 120,
		PerNodePerHour: map[string]float64{"blocks": 1.5e9, "wal": 2e9, "app": 4.7e7}, PerNodePerHourTotal: 3.547e9,
		PerNodeEnd: map[string]float64{"blocks": 3e7, "wal": 1.8e7, "app": 4e6}, PerNodeEndTotal: 5.2e7,
		RSSWarmBytes: 200 << 20, RSSEndBytes: 210 << 20, RSSGrowthPct: 5, PeakRSSBytes: 220 << 20, CPUSeconds: 120, CPUPerRecordS: 0.1,
		LiveHeapWarmBytes: 60 << 20, LiveHeapEndBytes: 61 << 20, AnonWarmBytes: 150 << 20, AnonEndBytes: 153 << 20, AnonGrowthPct: 2}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"4 validators for 600 s", "after a 120 s warm-up", "1200 (1199 accepted), 3000 heights",
		"wal          2000.0 MB/h       18.0 MB", "total        3547.0 MB/h       52.0 MB", "(+5.0 %)", "100.0 ms per record",
		"live heap:         60.0 MiB after warm-up, 61.0 MiB at the end", "anonymous:       150.0 MiB after warm-up, 153.0 MiB at the end (+2.0 %"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	// Largest first.
	if strings.Index(b.String(), "wal") > strings.Index(b.String(), "blocks") {
		t.Errorf("components not largest first:\n%s", b.String())
	}
}

// TestSlope: the growth is the trend through every sample, so a component
// that saws within a bound counts about nothing, whichever sample is last.
func TestSlope(t *testing.T) {
	var steady, saw []SoakSample
	for i := range 61 {
		at := float64(i * 10)
		steady = append(steady, SoakSample{AtS: at, Disk: map[string]int64{"app": int64(1000 + 50*at)}})
		// A saw-tooth between 10 and 20 MB with a 100 s period, ending at its top.
		saw = append(saw, SoakSample{AtS: at, Disk: map[string]int64{"wal": int64(10e6 + 1e5*float64((i+1)%10*10))}})
	}
	if got := slope(steady, "app"); got < 49.999 || got > 50.001 {
		t.Errorf("a steady 50 B/s: slope %f", got)
	}
	// Endpoints would say (20 MB − 11 MB) / 600 s = 15 kB/s.
	if got := slope(saw, "wal"); got < -2000 || got > 2000 {
		t.Errorf("a bounded saw-tooth: slope %f B/s, want about 0", got)
	}
	if got := slope(steady[:1], "app"); got != 0 {
		t.Errorf("one sample: slope %f, want 0", got)
	}
}
