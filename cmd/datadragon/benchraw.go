package main

import (
	"io"
	"time"

	"github.com/datadragon/datadragon/internal/bench"
)

var benchRawCmd = &command{
	path:     "bench raw",
	synopsis: "[--validators N] [--duration D] [--rate R] [--expected M] [--json]",
	summary:  "measure a raw stream: chunk close → accepted, CPU per message, resynchronisation",
	about: `Run N validators in this process observing the demo ticker feed (the one
'datadragon source --raw' serves) as a raw stream with content-defined
chunks of about M messages, the feed emitting --rate messages per second
for --duration. Reports the raw chunks accepted, the latency from a
chunk's close (the record's timestamp, the validators' weighted median) to
node 0 committing the block that accepted it (p50, p99), the process's CPU
time per feed message and validator, and how many messages after a
reconnection a validator agrees again (the chunker restarted at 1,000
random points of a capture of the feed).`,
	examples: []string{"datadragon bench raw --rate 1000 --duration 30s"},
}

func runBenchRaw(args []string, stdout, stderr io.Writer) int {
	c := benchRawCmd
	fs := newFlagSet(c)
	n := fs.Int("validators", 4, "run `N` validators, 1 to 16")
	duration := fs.Duration("duration", 30*time.Second, "let the feed emit for `D`")
	rate := fs.Float64("rate", 1000, "feed messages per second (`R`)")
	expected := fs.Int("expected", 64, "expected messages per chunk (`M`)")
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
	case *expected < 1 || *expected > 8192:
		err = usagef("--expected %d: choose 1 to 8192 messages", *expected)
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	res, err := bench.Raw(bench.RawOptions{Validators: *n, Duration: *duration, Rate: *rate, Expected: *expected,
		BasePort: *p2p, CommitTimeout: *commit, Progress: stderr})
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
