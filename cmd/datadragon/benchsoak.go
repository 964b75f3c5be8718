package main

import (
	"io"
	"time"

	"github.com/datadragon/datadragon/internal/bench"
)

var benchSoakCmd = &command{
	path:     "bench soak",
	synopsis: "[--duration D] [--validators N] [--push-kib K] [--retain-blocks B] [--snapshot-interval S] [--heap-profiles DIR] [--json]",
	summary:  "run a network at the demo load for a while: disk growth by component, memory, CPU",
	about: `Run N validators in this process at the devnet's demo load — the sensor
and ticker sources, observed in chunks of 20 and 50 messages — plus a steady
push of --push-kib KiB a second to validator 0's gateway, for --duration.
Every --sample it reads every node's directory and the process's memory.
It reports, from the end of a warm-up (the first fifth of the run) to the
end: the trend of bytes per node per hour by component (a least-squares
line through the samples), and each component's size at the end (blocks: CometBFT's block store;
wal: its consensus WAL; state: its state and evidence databases; app: the
app's state file; archive: the receipt archive; gateway: the gateway's logs and sessions; objects: its
stored chunk bytes), the resident memory (and its anonymous part, without
the mapped files) and the live heap after warm-up and at the end, and the CPU time per decided record. With --heap-profiles
DIR it writes heap profiles at both times, to compare with
'go tool pprof -base DIR/heap-warm.pb.gz DIR/heap-end.pb.gz'. The homes are removed afterwards unless
--dir is given.`,
	examples: []string{
		"datadragon bench soak",
		"datadragon bench soak --duration 30m --json > soak.json",
		"datadragon bench soak --duration 3m --retain-blocks 200",
		"datadragon bench soak --duration 10m --retain-blocks 200 --snapshot-interval 600",
		"datadragon bench soak --duration 10m --heap-profiles prof",
	},
}

func runBenchSoak(args []string, stdout, stderr io.Writer) int {
	c := benchSoakCmd
	fs := newFlagSet(c)
	n := fs.Int("validators", 4, "run `N` validators, 1 to 16")
	duration := fs.Duration("duration", 10*time.Minute, "run for `D`, 10s to 24h")
	sample := fs.Duration("sample", 0, "sample disk and memory every `D` (default: a thirtieth of the run, at least 5s)")
	push := fs.Int("push-kib", 64, "push `K` KiB a second to validator 0's gateway, 0 to 4096 (0: no push)")
	dir := fs.String("dir", "", "keep the homes in `DIR` (default: a temporary directory, removed)")
	p2p := fs.Int("p2p-port", 28656, "validator I listens for peers on `PORT`+10·I")
	apiPort := fs.Int("api-port", 28600, "validator I serves its API on `PORT`+I")
	retain := fs.Int64("retain-blocks", -1, "every node keeps the last `B` blocks (node.json retain_blocks; 0: every block; default: the node's default)")
	snaps := fs.Int64("snapshot-interval", -1, "every node takes a state sync snapshot every `S` heights (node.json snapshot_interval; 0: none; default: the node's default). A summary of an epoch that a kept snapshot holds part of waits until that snapshot is removed")
	heap := fs.String("heap-profiles", "", "write heap profiles at the end of warm-up and at the end to `DIR` (heap-warm.pb.gz, heap-end.pb.gz)")
	asJSON := fs.Bool("json", false, "print one JSON document (with every sample) instead of a table")
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
	case *duration < 10*time.Second || *duration > 24*time.Hour:
		err = usagef("--duration %v: choose 10s to 24h", *duration)
	case *sample < 0 || *sample > *duration:
		err = usagef("--sample %v: choose up to --duration", *sample)
	case *push < 0 || *push > 4096:
		err = usagef("--push-kib %d: choose 0 to 4096", *push)
	case *retain < -1:
		err = usagef("--retain-blocks %d: choose 0 (every block) or a number of blocks", *retain)
	case *snaps < -1:
		err = usagef("--snapshot-interval %d: choose 0 (no snapshots) or a number of heights", *snaps)
	}
	if err != nil {
		return fail(stderr, c, err)
	}
	res, err := bench.Soak(bench.SoakOptions{
		Validators: *n, Duration: *duration, Sample: *sample, PushRate: *push << 10,
		Dir: *dir, BasePort: *p2p, APIPort: *apiPort, Progress: stderr,
		RetainBlocks: retainOpt(*retain), SnapshotInterval: retainOpt(*snaps), HeapProfiles: *heap,
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

// retainOpt is --retain-blocks or --snapshot-interval as the soak's
// option: nil for the node's default.
func retainOpt(b int64) *int64 {
	if b < 0 {
		return nil
	}
	return &b
}
