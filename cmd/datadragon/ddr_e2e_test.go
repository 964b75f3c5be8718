package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStreamFileReceiptEndToEnd runs a devnet, pushes a 4-chunk file with
// 'datadragon stream' (no flags but the stream), stops every node, and
// checks FILE.ddr with 'datadragon verify', which finds the file beside
// it: valid, every byte covered; one changed byte of the file or of the
// receipt is invalid, naming the link.
func TestStreamFileReceiptEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 4-validator network")
	}
	fastPolls(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- devnetMain(ctx, []string{"--dir", filepath.Join(dir, "net"), "--http", "127.0.0.1:18680", "--p2p-port", "24856", "--status-every", "0"}, &out, &errOut)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C to stop") {
		if time.Now().After(deadline) {
			t.Fatalf("the devnet did not start:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "--stream uploads FILE      (writes FILE.ddr beside FILE)") {
		t.Errorf("the devnet's hint does not push with a file receipt:\n%s", out.String())
	}
	file := filepath.Join(dir, "report.bin")
	data := make([]byte, 3<<20+4567)
	rand.Read(data)
	os.WriteFile(file, data, 0o644)
	args := []string{"--node", "http://127.0.0.1:18680", "--stream", "uploads", file}
	var sout, serr bytes.Buffer
	sctx, scancel := context.WithTimeout(ctx, 2*time.Minute)
	code := streamMain(sctx, args, strings.NewReader(""), &sout, &serr)
	scancel()
	wantCode(t, args, code, exitOK, sout.String(), serr.String())
	if !strings.Contains(sout.String(), "receipt: "+file+".ddr") || !strings.Contains(sout.String(), "4 chunks)") {
		t.Errorf("stream's summary:\n%s", sout.String())
	}
	cancel()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the devnet did not stop")
	}
	genesis := filepath.Join(dir, "net", "genesis.json")
	code, vout, verr := runCLI(t, "verify", file+".ddr", "--genesis", genesis, "--require-ok")
	if code != exitOK || !strings.Contains(vout, "valid\n") || !strings.Contains(vout, "data:       "+file+", 3150295 bytes: every byte lies in exactly one chunk") ||
		!strings.Contains(vout, "stream:     uploads, 4 chunk(s)") {
		t.Fatalf("verify with every node stopped: exit %d\n%s%s", code, vout, verr)
	}
	bad := bytes.Clone(data)
	bad[2<<20+99] ^= 1
	os.WriteFile(file, bad, 0o644)
	if code, vout, verr := runCLI(t, "verify", file+".ddr", "--genesis", genesis); code != exitFail || !strings.Contains(vout, `broken link "data"`) ||
		!strings.Contains(verr, "(bytes 2097152 to 3145728 of the file)") {
		t.Errorf("one changed byte of the file: exit %d\n%s%s", code, vout, verr)
	}
	os.WriteFile(file, data, 0o644)
	rb, _ := os.ReadFile(file + ".ddr")
	rb[len(rb)/2] ^= 1
	os.WriteFile(file+".ddr", rb, 0o644)
	if code, vout, verr := runCLI(t, "verify", file+".ddr", "--genesis", genesis); code != exitFail || !strings.Contains(vout, `invalid: broken link "`) {
		t.Errorf("one changed byte of the receipt: exit %d\n%s%s", code, vout, verr)
	}
}
