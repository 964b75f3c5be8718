package main

import (
	"fmt"
	"io"

	"github.com/datadragon/datadragon/internal/bench"
	"github.com/datadragon/datadragon/zk/ziggy"
)

var benchSigCmd = &command{
	path:     "bench sig",
	synopsis: "[--json] [--reps R] [--message-bytes N]",
	summary:  "time Ziggy keygen/sign/verify and sizes beside Ed25519 and ML-DSA-65",
	about: `Measure, in this process and on the same random message, key generation,
signing and verifying of three signature schemes, and report the median and
90th-percentile times and the key and signature sizes:

  Ziggy      DataDragon's post-quantum signature: a zero-knowledge STARK
             proof of knowing a Rescue preimage (128 bits conjectured,
             default options)
  Ed25519    the classical elliptic-curve signature (Go standard library);
             quantum computers would break it
  ML-DSA-65  the NIST post-quantum lattice signature, FIPS 204, category 3
             (github.com/cloudflare/circl), hedged signing

so the price of a hash-based, zero-knowledge signature is visible next to the
alternatives. Every signature made is verified. Progress goes to stderr; the
table (or, with --json, one JSON document) to stdout.`,
	examples: []string{
		"datadragon bench sig",
		"datadragon bench sig --json --reps 200 > sig-bench.json",
	},
}

func runBenchSig(args []string, stdout, stderr io.Writer) int {
	c := benchSigCmd
	fs := newFlagSet(c)
	asJSON := fs.Bool("json", false, "print one JSON document instead of a table")
	reps := fs.Int("reps", 50, "`R` key generations, signatures and verifications per scheme; medians and 90th percentiles are reported")
	msgBytes := fs.Int("message-bytes", 64, "size `N` of the random message signed, in bytes")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *reps < 1 || *reps > 10000:
		err = usagef("--reps %d is outside 1 to 10000", *reps)
	case *msgBytes < 0 || *msgBytes > maxMessageFile:
		err = usagef("--message-bytes %d is outside 0 to %d", *msgBytes, maxMessageFile)
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	report, err := bench.MeasureSignatures(*reps, *msgBytes, stderr)
	if err != nil {
		return fail(stderr, c, err)
	}
	if *asJSON {
		return writeJSON(stdout, stderr, c, report)
	}
	fmt.Fprintf(stdout, "Signatures, %s, %s/%s, %d CPUs, %d-byte message, %d runs each (medians and 90th percentiles)\n",
		report.GoVersion, report.OS, report.Arch, report.CPUs, report.MessageBytes, *reps)
	fmt.Fprintf(stdout, "Ziggy options: %s; verifier floor %d bits\n\n", describeOptions(ziggy.DefaultOptions()), ziggy.MinSecurity)
	if err := bench.WriteSigTable(stdout, report.Results); err != nil {
		return fail(stderr, c, err)
	}
	return exitOK
}
