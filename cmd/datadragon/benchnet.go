package main

import (
	"io"
	"time"

	"github.com/datadragon/datadragon/internal/bench"
)

var benchNetworkCmd = &command{
	path:     "bench network",
	synopsis: "[--validators N] [--duration D] [--rate R] [--size B] [--json]",
	summary:  "measure a validator network under sustained load: acceptance, latency, memory",
	about: `Run N validators and two data sources in this process, have each source
emit --rate messages per second of --size bytes for --duration, then wait
until every chunk the sources filled is decided. Reports how many chunks
were accepted, the latency from a chunk's close (the record's timestamp,
the validators' weighted median) to node 0 committing the block that
accepted it (p50, p99, max), the block rate, and the process's peak memory
(all validators together, and divided by N).`,
	examples: []string{
		"datadragon bench network",
		"datadragon bench network --duration 10s --json",
	},
}

func runBenchNetwork(args []string, stdout, stderr io.Writer) int {
	c := benchNetworkCmd
	fs := newFlagSet(c)
	n := fs.Int("validators", 4, "run `N` validators, 1 to 16")
	duration := fs.Duration("duration", 60*time.Second, "let the sources emit for `D`")
	rate := fs.Float64("rate", 1000, "messages per second per stream (`R`; two streams)")
	size := fs.Int("size", 1024, "payload `BYTES` per message, 1 to 65536")
	per := fs.Uint64("chunk", 100, "messages per chunk (`M`)")
	p2p := fs.Int("p2p-port", 27656, "validator I listens for peers on `PORT`+10·I")
	commit := fs.Duration("commit-timeout", 100*time.Millisecond, "CometBFT's pause after each block (`D`)")
	asJSON := fs.Bool("json", false, "print one JSON document instead of a table")
	pos, err := parse(fs, c, args, stdout)
	if err == errHelp {
		return exitOK
	}
	switch {
	case err != nil:
	case len(pos) > 0:
		err = unexpectedArg(pos[0])
	case *n < 1 || *n > 16:
		err = usagef("--validators %d: choose 1 to 16", *n)
	case *duration < time.Second || *duration > time.Hour:
		err = usagef("--duration %v: choose 1s to 1h", *duration)
	case *rate < 1 || *rate > 20000:
		err = usagef("--rate %v: choose 1 to 20000 messages per second", *rate)
	case *size < 1 || *size > 65536:
		err = usagef("--size %d: choose 1 to 65536 bytes", *size)
	case *per < 1 || *per > 100000:
		err = usagef("--chunk %d: choose 1 to 100000 messages", *per)
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	res, err := bench.Network(bench.NetworkOptions{
		Validators: *n, Duration: *duration, Rate: *rate, Size: *size, PerChunk: *per,
		BasePort: *p2p, Progress: stderr, CommitTimeout: *commit,
	})
	if err != nil {
		return fail(stderr, c, err)
	}
	if *asJSON {
		return writeJSON(stdout, stderr, c, res)
	}
	if err := res.WriteText(stdout); err != nil {
		return fail(stderr, c, err)
	}
	return exitOK
}
