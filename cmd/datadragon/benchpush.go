package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/datadragon/datadragon/internal/bench"
)

var benchPushCmd = &command{
	path:     "bench push",
	synopsis: "[--validators N] [--mib M] [--part-kib P] [--piece-kib K] [--json]",
	summary:  "measure push mode: a file through a gateway to accepted records",
	about: `Run N validators in this process, push a file of --mib MiB of random bytes
to validator 0's gateway over HTTP in parts of --part-kib KiB, and wait
until every chunk is accepted. Reports the gateway's ingest rate (every
byte acknowledged, which means durable in its log) and the end-to-end rate
(first byte sent to every chunk accepted: every validator has fetched and
hashed every chunk, attested it with a Ziggy signature and the majority
agreed).`,
	examples: []string{
		"datadragon bench push",
		"datadragon bench push --mib 16 --json",
	},
}

func runBenchPush(args []string, stdout, stderr io.Writer) int {
	c := benchPushCmd
	fs := newFlagSet(c)
	n := fs.Int("validators", 4, "run `N` validators, 1 to 16")
	size := fs.Int("mib", 64, "push a file of `M` MiB, 1 to 4096")
	part := fs.Int("part-kib", 4096, "upload requests of `P` KiB, 64 to 65536")
	piece := fs.Int("piece-kib", 64, "messages of `K` KiB, 1 to 1024")
	per := fs.Uint64("chunk", 256, "messages per chunk (`M`; a chunk holds at most 16 MiB)")
	p2p := fs.Int("p2p-port", 27656, "validator I listens for peers on `PORT`+10·I")
	apiPort := fs.Int("api-port", 27600, "validator I serves its API on `PORT`+I")
	commit := fs.Duration("commit-timeout", 100*time.Millisecond, "CometBFT's pause after each block (`D`)")
	asJSON := fs.Bool("json", false, "print one JSON document instead of a table")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the whole run to `FILE` (go tool pprof reads it)")
	heapProfile := fs.String("heap-profile", "", "write a heap profile taken when the Go heap was largest to `FILE` (go tool pprof -sample_index=inuse_space reads it)")
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
	case *size < 1 || *size > 4096:
		err = usagef("--mib %d: choose 1 to 4096", *size)
	case *part < 64 || *part > 65536:
		err = usagef("--part-kib %d: choose 64 to 65536", *part)
	case *piece < 1 || *piece > 1024:
		err = usagef("--piece-kib %d: choose 1 to 1024", *piece)
	case *per < 1 || *per > 4096:
		err = usagef("--chunk %d: choose 1 to 4096 messages", *per)
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(stderr, c, err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(stderr, c, err)
		}
		defer pprof.StopCPUProfile()
	}
	if *heapProfile != "" {
		stop := bench.HeapPeakProfile(*heapProfile)
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintf(stderr, "%s: heap profile: %v\n", c.path, err)
			}
		}()
	}
	res, err := bench.Push(bench.PushOptions{
		Validators: *n, Bytes: *size << 20, Part: *part << 10, Piece: *piece << 10, PerChunk: *per,
		BasePort: *p2p, APIPort: *apiPort, CommitTimeout: *commit, Progress: stderr,
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
