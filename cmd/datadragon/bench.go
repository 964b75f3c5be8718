package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"os"
	"strconv"

	"github.com/datadragon/datadragon/internal/bench"
	"github.com/datadragon/datadragon/zk/chain"
	"github.com/datadragon/datadragon/zk/stark"
)

func printBenchHelp(w io.Writer) {
	fmt.Fprintf(w, `Usage: datadragon bench <target> [arguments]

Benchmarks of this machine. Targets:
  %-8s %s
  %-8s %s
  %-8s %s
  %-8s %s
  %-8s %s
  %-8s %s

Examples:
  datadragon bench zk --max-k 11
  datadragon bench sig
  datadragon bench network --duration 60s
  datadragon bench push --mib 64
  datadragon bench soak --duration 30m
  datadragon bench raw --rate 1000

Run 'datadragon bench TARGET --help' for every flag with its default.
`, "zk", benchZKCmd.summary, "sig", benchSigCmd.summary, "network", benchNetworkCmd.summary, "push", benchPushCmd.summary, "soak", benchSoakCmd.summary, "raw", benchRawCmd.summary)
}

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printBenchHelp(stderr)
		return exitUsage
	}
	switch target, rest := args[0], args[1:]; target {
	case "help", "-h", "-help", "--help":
		printBenchHelp(stdout)
		return exitOK
	case "zk":
		return runBenchZK(rest, stdout, stderr)
	case "sig":
		return runBenchSig(rest, stdout, stderr)
	case "network":
		return runBenchNetwork(rest, stdout, stderr)
	case "push":
		return runBenchPush(rest, stdout, stderr)
	case "soak":
		return runBenchSoak(rest, stdout, stderr)
	case "raw":
		return runBenchRaw(rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "datadragon bench: unknown target %q\nRun 'datadragon bench --help' to see the targets.\n", target)
		return exitUsage
	}
}

var benchZKCmd = &command{
	path:     "bench zk",
	synopsis: "[--json] [--min-k K] [--max-k K] [--reps R] [options]",
	summary:  "time Rescue hash-chain proofs of 3*2^k hashes: prove, verify, size, memory",
	about: `Prove and verify random Rescue hash chains of 3*2^k hashes for k = --min-k
... --max-k and report, per length: the median proving time, the median
verifying time (decoding plus verification), the proof size, the peak memory
while proving, and the conjectured and proven security (proven: the
ethSTARK bound in the list-decoding regime, far lower). Progress goes to
stderr; the table (or, with --json, one JSON document) to stdout.

Peak memory is reported twice. "peak RSS" is the kernel's high-water mark of
resident memory (VmHWM) of a child process that measures only that one length
('datadragon bench zk --one N'), so it covers everything the prover touched;
it needs Linux. "peak heap" is the largest Go heap in use seen by a goroutine
that samples runtime/metrics every millisecond while proving. With
--in-process every length runs in this process and only the heap figure is
given, since the high-water mark never goes down.

The options default to the prover's defaults (128 bits conjectured).`,
	examples: []string{
		"datadragon bench zk",
		"datadragon bench zk --json --max-k 11 --reps 5 > bench.json",
	},
}

func runBenchZK(args []string, stdout, stderr io.Writer) int {
	c := benchZKCmd
	fs := newFlagSet(c)
	asJSON := fs.Bool("json", false, "print one JSON document instead of a table")
	minK := fs.Int("min-k", 0, "smallest `K`: the shortest chain has 3*2^K hashes")
	maxK := fs.Int("max-k", 13, "largest `K`: the longest chain has 3*2^K hashes")
	reps := fs.Int("reps", 3, "`R` proofs and R verifications per length; the medians are reported")
	inProcess := fs.Bool("in-process", false, "measure every length in this process instead of one child process each (no peak RSS)")
	one := fs.Int("one", 0, "measure only a chain of `N` hashes, in this process, and print its result as JSON (what each child process runs)")
	fs.Lookup("one").DefValue = "none"
	opts := addOptionFlags(fs)

	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	maxKAllowed := bits.Len(uint(chain.MaxLength/3)) - 1
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *reps < 1 || *reps > 1000:
		err = usagef("--reps %d is outside 1 to 1000", *reps)
	case isSet(fs, "one") && (*one < 1 || *one > chain.MaxLength):
		err = usagef("--one %d is outside 1 to %d", *one, chain.MaxLength)
	case *minK < 0 || *maxK > maxKAllowed || *minK > *maxK:
		err = usagef("want 0 <= --min-k <= --max-k <= %d (3*2^%d hashes is the longest chain), got %d and %d",
			maxKAllowed, maxKAllowed, *minK, *maxK)
	default:
		if verr := opts.Validate(); verr != nil {
			err = usagef("%v", verr)
		}
	}
	if err != nil {
		return fail(stderr, c, err)
	}

	if isSet(fs, "one") {
		r, err := bench.Measure(*one, *reps, *opts)
		if err != nil {
			return fail(stderr, c, err)
		}
		r.PeakRSSBytes, _ = bench.PeakRSS() // 0 where /proc is missing
		return writeJSON(stdout, stderr, c, r)
	}

	exe, exeErr := os.Executable()
	_, rssErr := bench.PeakRSS()
	children := !*inProcess && exeErr == nil && rssErr == nil
	method := "peak heap: runtime/metrics heap in use, sampled every 1 ms while proving, all lengths in one process"
	if children {
		method = "peak RSS: VmHWM of a child process per length; " +
			"peak heap: runtime/metrics heap in use, sampled every 1 ms while proving"
	} else if !*inProcess {
		fmt.Fprintf(stderr, "bench zk: measuring in this process, without peak RSS (%v)\n", firstErr(exeErr, rssErr))
	}

	report := bench.NewReport(*opts, method)
	lengths := bench.Lengths(*minK, *maxK)
	for i, n := range lengths {
		fmt.Fprintf(stderr, "bench zk: [%d/%d] %d hashes ... ", i+1, len(lengths), n)
		var r bench.Result
		if children {
			r, err = bench.RunChild(exe, childArgs(n, *reps, *opts), stderr)
		} else {
			r, err = bench.Measure(n, *reps, *opts)
		}
		if err != nil {
			fmt.Fprintln(stderr)
			return fail(stderr, c, err)
		}
		fmt.Fprintf(stderr, "prove %.1f ms, verify %.2f ms, %d bytes\n", r.ProveMS, r.VerifyMS, r.ProofBytes)
		report.Results = append(report.Results, r)
	}

	if *asJSON {
		return writeJSON(stdout, stderr, c, report)
	}
	fmt.Fprintf(stdout, "Rescue hash-chain proofs, %s, %d CPUs, %s\n", report.GoVersion, report.CPUs, describeOptions(*opts))
	fmt.Fprintf(stdout, "medians of %d runs; proof in KB (1000 bytes); %s\n\n", *reps, method)
	if err := bench.WriteTable(stdout, report.Results); err != nil {
		return fail(stderr, c, err)
	}
	fmt.Fprintf(stdout, "\nwhere the prove time goes:\n")
	if err := bench.WritePhases(stdout, report.Results); err != nil {
		return fail(stderr, c, err)
	}
	return exitOK
}

// childArgs is the command line of the child process measuring length n.
func childArgs(n, reps int, o stark.Options) []string {
	return []string{"bench", "zk",
		"--one", strconv.Itoa(n),
		"--reps", strconv.Itoa(reps),
		"--blowup", strconv.Itoa(o.Blowup),
		"--queries", strconv.Itoa(o.Queries),
		"--grinding", strconv.Itoa(o.GrindingBits),
		"--folding", strconv.Itoa(o.FoldingFactor),
		"--last-layer", strconv.Itoa(o.LastLayerDegree),
		"--zk=" + strconv.FormatBool(o.ZeroKnowledge),
	}
}

func writeJSON(stdout, stderr io.Writer, c *command, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fail(stderr, c, err)
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return exitOK
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
