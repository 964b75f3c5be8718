package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/ingest/observe"
)

func TestSourceHelp(t *testing.T) {
	code, out, errOut := runCLI(t, "source", "--help")
	wantCode(t, []string{"source", "--help"}, code, exitOK, out, errOut)
	entries := flagEntries(out)
	for _, f := range []string{"kind", "rate", "listen", "seed", "file", "piece", "buffer", "buffer-bytes", "epoch", "max-subscribers", "quiet"} {
		if !regexp.MustCompile(`\(default [^)]+\)$`).MatchString(entries[f]) {
			t.Errorf("source --help does not list --%s with its default:\n%s", f, out)
		}
	}
	for _, want := range []string{"Example", "?from=S", "replay buffer", "sensor", "ticker", "log", "file", "4001", "/healthz"} {
		if !strings.Contains(out, want) {
			t.Errorf("source --help lacks %q", want)
		}
	}
	_, top, _ := runCLI(t, "help")
	if !strings.Contains(top, "source") {
		t.Error("top-level help does not list source")
	}
}

func TestSourceUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "radio"}, "choose sensor, ticker, log or file"},
		{[]string{"--kind", "file"}, "--file PATH"},
		{[]string{"--file", "x.csv"}, "only used with --kind file"},
		{[]string{"--rate", "0"}, "--rate"},
		{[]string{"--rate", "1e9"}, "--rate"},
		{[]string{"--rate", "fast"}, "rate"},
		{[]string{"--buffer", "0"}, "--buffer"},
		{[]string{"--buffer-bytes", "lots"}, "64MiB"},
		{[]string{"--buffer-bytes", "1KiB"}, "out of range"},
		{[]string{"--piece", "0", "--kind", "file", "--file", "f"}, "--piece"},
		{[]string{"--epoch", "yesterday"}, "RFC 3339"},
		{[]string{"--max-subscribers", "0"}, "--max-subscribers"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		args := append([]string{"source"}, tc.args...)
		code, out, errOut := runCLI(t, args...)
		wantCode(t, args, code, exitUsage, out, errOut)
		if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "datadragon source --help") {
			t.Errorf("%v: stderr %q should mention %q and the help", tc.args, errOut, tc.want)
		}
	}
	args := []string{"source", "--kind", "file", "--file", filepath.Join(t.TempDir(), "missing.csv")}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSourceServes runs the command, observes it like a validator would,
// and stops it as Ctrl-C does.
func TestSourceServes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.bin")
	data := bytes.Repeat([]byte("DataDragon "), 300) // 3300 bytes: 4 pieces of 1000
	os.WriteFile(path, data, 0o644)
	for _, args := range [][]string{
		{"--kind", "log", "--rate", "200", "--seed", "5"},
		{"--kind", "file", "--file", path, "--piece", "1000", "--rate", "1000"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- sourceMain(ctx, append(args, "--listen", "127.0.0.1:0"), &stdout, &stderr)
		}()
		var url string
		deadline := time.Now().Add(5 * time.Second)
		for url == "" {
			if m := regexp.MustCompile(`stream:\s+(ws://\S+/stream)`).FindStringSubmatch(stdout.String()); m != nil {
				url = m[1]
			} else if time.Now().After(deadline) {
				t.Fatalf("%v: no stream URL printed:\n%s\n%s", args, stdout.String(), stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}

		var payloads [][]byte
		octx, ocancel := context.WithTimeout(ctx, 10*time.Second)
		err := observe.Run(octx, observe.Config{URL: url}, func(ev observe.Event) error {
			if d, ok := ev.(observe.Data); ok {
				payloads = append(payloads, d.Payload)
				if len(payloads) == 5 {
					ocancel()
				}
			}
			return nil
		})
		ocancel()
		if args[1] == "file" {
			if err != nil || !bytes.Equal(bytes.Join(payloads, nil), data) {
				t.Fatalf("file stream: %v, %d pieces", err, len(payloads))
			}
		} else {
			if len(payloads) != 5 {
				t.Fatalf("log stream: %v after %d frames", err, len(payloads))
			}
			g := gen.NewLog(5)
			clock, _ := gen.NewClock(gen.DefaultEpoch, 200)
			for i, p := range payloads {
				want, _ := gen.Frame(g, clock, uint64(i))
				if !bytes.Equal(p, want.Payload) {
					t.Fatalf("frame %d: %q, want %q", i, p, want.Payload)
				}
			}
		}
		cancel()
		select {
		case code := <-done:
			if code != exitOK || !strings.Contains(stdout.String(), "stopped at seq") {
				t.Fatalf("%v: exit %d\n%s\n%s", args, code, stdout.String(), stderr.String())
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: did not stop", args)
		}
		if !strings.Contains(stderr.String(), "connected from seq 0") {
			t.Errorf("%v: subscriber not logged: %q", args, stderr.String())
		}
	}
}

func TestSourceListenInUse(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	go sourceMain(ctx, []string{"--listen", "127.0.0.1:0", "--quiet"}, &stdout, &syncBuffer{})
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == ""; time.Sleep(5 * time.Millisecond) {
		if m := regexp.MustCompile(`ws://(\S+)/stream`).FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatal("no address printed")
		}
	}
	args := []string{"source", "--listen", addr}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if !strings.Contains(errOut, "choose another --listen") {
		t.Errorf("stderr %q", errOut)
	}
}

// TestSourcePositionResumes: with --position a restarted source resumes
// past every frame it produced, and refuses a position file of another
// stream.
func TestSourcePositionResumes(t *testing.T) {
	pos := filepath.Join(t.TempDir(), "state", "sensor.position.json")
	run := func(args ...string) (string, int) {
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- sourceMain(ctx, append(args, "--listen", "127.0.0.1:0", "--quiet"), &stdout, &stderr)
		}()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(stdout.String(), "Press Ctrl-C") {
			select {
			case code := <-done:
				cancel()
				return stdout.String() + stderr.String(), code
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%v: did not start:\n%s\n%s", args, stdout.String(), stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // 60 frames at 200/s
		cancel()
		code := <-done
		return stdout.String() + stderr.String(), code
	}
	out, code := run("--kind", "sensor", "--rate", "200", "--position", pos)
	if code != exitOK || !strings.Contains(out, "resuming at seq 0") {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	m := regexp.MustCompile(`stopped at seq (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("first run does not say how many frames it made:\n%s", out)
	}
	made, _ := strconv.Atoi(m[1])
	out, code = run("--kind", "sensor", "--rate", "200", "--position", pos)
	m = regexp.MustCompile(`resuming at seq (\d+)`).FindStringSubmatch(out)
	if code != exitOK || m == nil {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	if at, _ := strconv.Atoi(m[1]); at < made {
		t.Fatalf("resumed at seq %d, below the %d frames made before", at, made)
	}
	out, code = run("--kind", "ticker", "--rate", "200", "--position", pos)
	if code != exitFail || !strings.Contains(out, "is not the position file of stream") {
		t.Fatalf("another stream's position file: exit %d\n%s", code, out)
	}
}
