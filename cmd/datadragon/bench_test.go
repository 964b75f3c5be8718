package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/datadragon/datadragon/internal/bench"
)

func TestBenchZKTable(t *testing.T) {
	args := []string{"bench", "zk", "--in-process", "--max-k", "1", "--reps", "1", "--grinding", "0"}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	for _, want := range []string{"hashes", "prove", "verify", "proof", "peak heap", "bits", "grinding bits"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	table, phases, ok := strings.Cut(out, "where the prove time goes:")
	if !ok {
		t.Fatalf("no breakdown of the prove time:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if first, last := strings.Fields(lines[len(lines)-2]), strings.Fields(lines[len(lines)-1]); first[0] != "3" || last[0] != "6" {
		t.Errorf("want rows for 3 and 6 hashes:\n%s", out)
	}
	for _, step := range []string{"trace generation", "constraint evaluation", "FRI commit", "proof of work"} {
		if !strings.Contains(phases, step) {
			t.Errorf("breakdown lacks %q:\n%s", step, phases)
		}
	}
	if !strings.Contains(errOut, "[1/2] 3 hashes") || !strings.Contains(errOut, "[2/2] 6 hashes") {
		t.Errorf("no progress on stderr: %q", errOut)
	}
}

// The default mode measures each length in a child process (here the test
// binary standing in for datadragon, see TestMain) and reports its peak RSS.
func TestBenchZKChildProcessJSON(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS needs /proc")
	}
	t.Setenv("DATADRAGON_AS_CLI", "1")
	args := []string{"bench", "zk", "--json", "--max-k", "0", "--reps", "1", "--grinding", "0"}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	var r bench.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json output is not a report: %v\n%s", err, out)
	}
	if len(r.Results) != 1 {
		t.Fatalf("want 1 result, got %+v", r)
	}
	got := r.Results[0]
	if got.Length != 3 || got.Reps != 1 || got.ProveMS <= 0 || got.VerifyMS <= 0 || got.ProofBytes <= 0 || got.SecurityBits < 100 {
		t.Errorf("implausible result %+v", got)
	}
	// The child must have run with the parent's options.
	if r.Options.GrindingBits != 0 || got.SecurityBits >= 128 {
		t.Errorf("options %+v, %d bits: the child did not use --grinding 0", r.Options, got.SecurityBits)
	}
	if got.PeakRSSBytes < got.PeakHeapBytes || got.PeakRSSBytes < 1<<20 {
		t.Errorf("peak RSS %d, peak heap %d", got.PeakRSSBytes, got.PeakHeapBytes)
	}
	if !strings.Contains(r.Memory, "VmHWM of a child process") {
		t.Errorf("memory method %q", r.Memory)
	}
}

func TestBenchZKUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-k", "99"}, "--max-k"},
		{[]string{"--min-k", "3", "--max-k", "2"}, "--min-k"},
		{[]string{"--min-k", "-1"}, "--min-k"},
		{[]string{"--reps", "0"}, "--reps 0"},
		{[]string{"--one", "0"}, "--one 0"},
		{[]string{"--queries", "0"}, "queries"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		args := append([]string{"bench", "zk"}, tc.args...)
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitUsage, out, errOut)
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errOut, tc.want)
		}
	}
}

func TestBenchSoakUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--duration", "1s"}, "--duration 1s"},
		{[]string{"--duration", "25h"}, "--duration 25h"},
		{[]string{"--validators", "0"}, "--validators 0"},
		{[]string{"--push-kib", "-1"}, "--push-kib -1"},
		{[]string{"--duration", "1m", "--sample", "2m"}, "--sample 2m"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		args := append([]string{"bench", "soak"}, tc.args...)
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitUsage, out, errOut)
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errOut, tc.want)
		}
	}
}
