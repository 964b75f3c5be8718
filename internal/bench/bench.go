// Package bench measures the Rescue hash-chain prover and verifier: time,
// proof size, memory and conjectured and proven security per chain
// length. It backs 'datadragon bench zk'.
//
// Memory is measured two ways, because neither alone is both exact and
// cheap:
//
//   - Peak RSS: the kernel's high-water mark of resident memory (VmHWM in
//     /proc/self/status). It counts everything the process touched — heap,
//     stacks, runtime, binary — but it is process-wide and never goes down,
//     so it is only meaningful for a process that measured a single chain
//     length. 'datadragon bench zk' therefore measures each length in a
//     fresh child process ('datadragon bench zk --one N') and reads the
//     child's VmHWM.
//   - Peak heap: the largest Go heap in use (objects plus unused space of
//     in-use spans, what runtime.MemStats calls HeapInuse) seen by a
//     goroutine that samples runtime/metrics every millisecond while the
//     prover runs. It works in any process but can miss a spike shorter
//     than the sampling interval, and omits stacks and runtime overhead.
package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/datadragon/datadragon/zk/chain"
	"github.com/datadragon/datadragon/zk/stark"
)

// Result is the measurement of one chain length.
type Result struct {
	Length int `json:"length"` // hashes in the chain
	Reps   int `json:"reps"`   // repetitions behind each median
	// ProveMS is the median wall time of chain.Prove, in milliseconds.
	ProveMS float64 `json:"prove_ms"`
	// VerifyMS is the median wall time of decoding the proof bytes and
	// verifying them (chain.ParseProof then chain.Verify), in milliseconds.
	VerifyMS     float64 `json:"verify_ms"`
	ProofBytes   int     `json:"proof_bytes"`
	SecurityBits int     `json:"security_bits"` // conjectured
	ProvenBits   int     `json:"proven_bits"`   // proven (stark.Options.ProvenSecurity)
	// PeakHeapBytes is the largest heap in use sampled while proving.
	PeakHeapBytes uint64 `json:"peak_heap_bytes"`
	// PeakRSSBytes is the peak resident memory of a process that measured
	// only this length; 0 when not measured that way.
	PeakRSSBytes uint64 `json:"peak_rss_bytes,omitempty"`
	// Phases splits the prove time by prover step (median per step).
	Phases []Phase `json:"phases"`
}

// Phase is the median wall time of one prover step, in milliseconds.
type Phase struct {
	Name string  `json:"name"`
	MS   float64 `json:"ms"`
}

// Lengths returns the chain lengths 3·2^k for k = minK … maxK.
func Lengths(minK, maxK int) []int {
	var ls []int
	for k := minK; k <= maxK; k++ {
		ls = append(ls, 3<<k)
	}
	return ls
}

// Seed fixes the random witness of every measurement, so runs compare.
const Seed = 1

// Measure proves a random chain of the given length reps times and
// verifies the proof reps times, in this process.
func Measure(length, reps int, opts stark.Options) (Result, error) {
	if reps < 1 {
		return Result{}, errors.New("bench: reps must be at least 1")
	}
	witness := chain.RandomWitness(length, Seed)
	runtime.GC()

	sampler := startHeapSampler(time.Millisecond)
	prove := make([]time.Duration, reps)
	var proof *chain.Proof
	var names []string
	steps := map[string][]time.Duration{}
	for i := range prove {
		start := time.Now()
		p, phases, err := chain.ProveTimed(witness, opts)
		prove[i] = time.Since(start)
		for _, ph := range phases {
			if _, ok := steps[ph.Name]; !ok {
				names = append(names, ph.Name)
			}
			steps[ph.Name] = append(steps[ph.Name], ph.Duration)
		}
		if err != nil {
			sampler.stop()
			return Result{}, fmt.Errorf("bench: proving length %d: %w", length, err)
		}
		proof = p
	}
	peakHeap := sampler.stop()

	data, err := proof.MarshalBinary()
	if err != nil {
		return Result{}, fmt.Errorf("bench: encoding the proof of length %d: %w", length, err)
	}
	bits := proof.SecurityBits()
	verify := make([]time.Duration, reps)
	for i := range verify {
		start := time.Now()
		p, err := chain.ParseProof(data)
		if err == nil {
			err = chain.Verify(p, bits)
		}
		verify[i] = time.Since(start)
		if err != nil {
			return Result{}, fmt.Errorf("bench: the proof of length %d does not verify: %w", length, err)
		}
	}
	var phases []Phase
	for _, name := range names {
		phases = append(phases, Phase{Name: name, MS: ms(median(steps[name]))})
	}
	return Result{
		Phases:        phases,
		Length:        length,
		Reps:          reps,
		ProveMS:       ms(median(prove)),
		VerifyMS:      ms(median(verify)),
		ProofBytes:    len(data),
		SecurityBits:  bits,
		ProvenBits:    proof.ProvenSecurityBits(),
		PeakHeapBytes: peakHeap,
	}, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// heapSampler records the largest heap in use seen between start and stop.
type heapSampler struct {
	quit chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

var heapMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
}

func heapInUse(samples []metrics.Sample) uint64 {
	metrics.Read(samples)
	var total uint64
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			total += s.Value.Uint64()
		}
	}
	return total
}

func startHeapSampler(interval time.Duration) *heapSampler {
	s := &heapSampler{quit: make(chan struct{})}
	samples := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		samples[i].Name = name
	}
	s.peak = heapInUse(samples)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				s.peak = max(s.peak, heapInUse(samples))
				return
			case <-t.C:
				s.peak = max(s.peak, heapInUse(samples))
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak.
func (s *heapSampler) stop() uint64 {
	close(s.quit)
	s.wg.Wait()
	return s.peak
}

// PeakRSS returns this process's peak resident set size so far (VmHWM).
// It needs Linux's /proc.
func PeakRSS() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("bench: peak RSS needs /proc/self/status: %w", err)
	}
	return parseVmHWM(b)
}

func parseVmHWM(status []byte) (uint64, error) { return statusKB(status, "VmHWM") }

// statusKB reads one "Field:  N kB" line of /proc/self/status, in bytes.
func statusKB(status []byte, field string) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("bench: no %s line in /proc/self/status", field)
}

// RunChild runs a command that prints one Result as JSON (such as
// 'datadragon bench zk --one N') and returns that result. The child's
// stderr is passed to stderr.
func RunChild(exe string, args []string, stderr io.Writer) (Result, error) {
	cmd := exec.Command(exe, args...)
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return Result{}, fmt.Errorf("bench: %s %s: %w", exe, strings.Join(args, " "), err)
	}
	var r Result
	if err := json.Unmarshal(out, &r); err != nil {
		return Result{}, fmt.Errorf("bench: reading the child's result %q: %w", out, err)
	}
	return r, nil
}

// Report is the machine-readable output of a benchmark run.
type Report struct {
	GoVersion string    `json:"go_version"`
	OS        string    `json:"os"`
	Arch      string    `json:"arch"`
	CPUs      int       `json:"cpus"`
	Options   Options   `json:"options"`
	Memory    string    `json:"memory_method"`
	Results   []Result  `json:"results"`
	Started   time.Time `json:"started"`
}

// Options are stark.Options with JSON names.
type Options struct {
	Blowup          int  `json:"blowup"`
	Queries         int  `json:"queries"`
	GrindingBits    int  `json:"grinding_bits"`
	FoldingFactor   int  `json:"folding_factor"`
	LastLayerDegree int  `json:"last_layer_degree"`
	ZeroKnowledge   bool `json:"zero_knowledge"`
}

// NewReport describes this machine and the options of a run.
func NewReport(o stark.Options, memoryMethod string) *Report {
	return &Report{
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		CPUs:      runtime.GOMAXPROCS(0),
		Options: Options{
			Blowup:          o.Blowup,
			Queries:         o.Queries,
			GrindingBits:    o.GrindingBits,
			FoldingFactor:   o.FoldingFactor,
			LastLayerDegree: o.LastLayerDegree,
			ZeroKnowledge:   o.ZeroKnowledge,
		},
		Memory:  memoryMethod,
		Started: time.Now().UTC().Truncate(time.Second),
	}
}

// WriteTable prints results as an aligned table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "hashes\tprove\tverify\tproof\tpeak RSS\tpeak heap\tbits\tproven\t\n")
	for _, r := range rs {
		rss := "-"
		if r.PeakRSSBytes > 0 {
			rss = mib(r.PeakRSSBytes)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.1f KB\t%s\t%s\t%d\t%d\t\n",
			r.Length, formatMS(r.ProveMS), formatMS(r.VerifyMS), float64(r.ProofBytes)/1000,
			rss, mib(r.PeakHeapBytes), r.SecurityBits, r.ProvenBits)
	}
	return tw.Flush()
}

// WritePhases prints where the prove time goes: one row per prover step,
// one column per chain length.
func WritePhases(w io.Writer, rs []Result) error {
	if len(rs) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "prover step (ms)\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t", r.Length)
	}
	fmt.Fprintln(tw)
	for i, ph := range rs[len(rs)-1].Phases {
		fmt.Fprintf(tw, "%s\t", ph.Name)
		for _, r := range rs {
			v := "-"
			if i < len(r.Phases) && r.Phases[i].Name == ph.Name {
				v = fmt.Sprintf("%.1f", r.Phases[i].MS)
			}
			fmt.Fprintf(tw, "%s\t", v)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func formatMS(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.1f ms", v)
}
