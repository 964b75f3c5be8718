package wal

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// crashEnv names the log directory when the test binary runs as the child of
// TestCrashSubprocess.
const crashEnv = "DDWAL_CRASH_CHILD_DIR"

var crashOpt = Options{SegmentBytes: 64 << 10}

// crashMessage is message i of call c of appender g in round r.
func crashMessage(r, g, c, i int) []byte {
	head := fmt.Sprintf("r%d g%d c%d i%d|", r, g, c, i)
	return append([]byte(head), bytes.Repeat([]byte{byte('a' + (g+c+i)%26)}, (g*131+c*17+i*7)%2000)...)
}

// crashChild appends from several goroutines until killed, printing
// "r g c first count" after each Append returns.
func crashChild(dir string, round int) {
	l, err := Open(dir, crashOpt)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var out sync.Mutex
	for g := range 4 {
		go func() {
			for c := 0; ; c++ {
				msgs := make([][]byte, 1+(g+c)%3)
				for i := range msgs {
					msgs[i] = crashMessage(round, g, c, i)
				}
				first, err := l.Append(msgs, c%5 == 0)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				out.Lock()
				fmt.Fprintf(os.Stdout, "%d %d %d %d %d\n", round, g, c, first, len(msgs))
				out.Unlock()
			}
		}()
	}
	select {}
}

// TestCrashSubprocess runs a child process that appends and reports what it
// was acknowledged, SIGKILLs it mid-flight, reopens the log and checks every
// acknowledged message is there with the right bytes; three times over the
// same log. (SIGKILL keeps the page cache: this tests the order of write,
// fsync and acknowledgement and recovery of torn writes, not the disk.)
func TestCrashSubprocess(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		var round int
		fmt.Sscan(os.Getenv(crashEnv+"_ROUND"), &round)
		crashChild(dir, round)
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	acked := map[uint64][]byte{}
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSubprocess$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir, fmt.Sprintf("%s_ROUND=%d", crashEnv, round))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines, killed := 0, false
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r, g, c int
			var first uint64
			var n int
			if _, err := fmt.Sscan(sc.Text(), &r, &g, &c, &first, &n); err != nil {
				t.Fatalf("child printed %q: %v", sc.Text(), err)
			}
			for i := range n {
				if _, dup := acked[first+uint64(i)]; dup {
					t.Fatalf("seq %d acknowledged twice", first+uint64(i))
				}
				acked[first+uint64(i)] = crashMessage(r, g, c, i)
			}
			if lines++; lines == 300 {
				cmd.Process.Kill()
				killed = true
			}
		}
		cmd.Wait()
		if !killed {
			t.Fatalf("round %d: the child stopped by itself after %d acknowledgements: %s", round, lines, stderr.String())
		}

		l := openLog(t, dir, crashOpt)
		next, _ := l.Next()
		for seq := range acked {
			if seq >= next {
				t.Fatalf("round %d: acknowledged seq %d lost: the log recovered to Next %d", round, seq, next)
			}
		}
		es := readAll(t, l, 0, 1000, 4<<20) // checks seqs and offsets are contiguous
		for _, e := range es {
			if want, ok := acked[e.Seq]; ok && !bytes.Equal(e.Data, want) {
				t.Fatalf("round %d: seq %d holds %.30q..., want %.30q...", round, e.Seq, e.Data, want)
			}
			var r, g, c, i int // unacknowledged survivors must be whole messages too
			if _, err := fmt.Sscanf(string(e.Data), "r%d g%d c%d i%d|", &r, &g, &c, &i); err != nil || !bytes.Equal(e.Data, crashMessage(r, g, c, i)) {
				t.Fatalf("round %d: seq %d holds a message the child never sent: %.40q", round, e.Seq, e.Data)
			}
		}
		t.Logf("round %d: %d acknowledged so far, log recovered to %d messages", round, len(acked), next)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
