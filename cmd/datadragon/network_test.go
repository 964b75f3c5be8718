package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDevnetAcceptsRecordsAndStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 4-validator network")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- devnetMain(ctx, []string{"--dir", dir, "--http", "127.0.0.1:18480", "--p2p-port", "36656", "--status-every", "1s"}, &out, &errOut)
	}()
	accepted := regexp.MustCompile(`sensors (\d+) accepted`)
	deadline := time.After(60 * time.Second)
	for {
		select {
		case code := <-done:
			t.Fatalf("devnet exited early with %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
		case <-deadline:
			cancel()
			t.Fatalf("no records accepted within a minute\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
		case <-time.After(500 * time.Millisecond):
		}
		m := accepted.FindAllStringSubmatch(out.String(), -1)
		if len(m) > 0 {
			if n, _ := strconv.Atoi(m[len(m)-1][1]); n >= 2 {
				break
			}
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("devnet exit %d\nstderr:\n%s", code, errOut.String())
	}
	for _, want := range []string{"4 validators", dir + "/genesis.json", "http://127.0.0.1:18480/v1/status", "devnet stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("devnet output lacks %q:\n%s", want, out.String())
		}
	}
}
