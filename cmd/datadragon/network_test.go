package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/node"
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
		done <- devnetMain(ctx, []string{"--dir", dir, "--http", "127.0.0.1:18480", "--p2p-port", "24656", "--status-every", "1s"}, &out, &errOut)
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
	// Every node serves the API.
	var streams struct {
		Streams []struct {
			ID       string `json:"id"`
			Accepted uint64 `json:"accepted"`
		} `json:"streams"`
	}
	// The raw stream's chunks are cut by content, so its first record may
	// come later than the framed streams' on a loaded machine.
	for wait := time.Now().Add(time.Minute); ; {
		getJSON(t, "http://127.0.0.1:18480/v1/streams", &streams)
		if len(streams.Streams) != 4 || streams.Streams[3].Accepted > 0 || time.Now().After(wait) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(streams.Streams) != 4 || streams.Streams[0].ID != "sensors" || streams.Streams[0].Accepted == 0 || streams.Streams[2].ID != "uploads" ||
		streams.Streams[3].ID != "raw-ticks" || streams.Streams[3].Accepted == 0 {
		t.Errorf("node0 /v1/streams: %+v", streams)
	}
	// The raw stream's records carry their chunk ids and positions.
	var raws struct {
		Records []struct {
			Status string `json:"status"`
			Raw    *struct {
				ChunkID  string `json:"chunk_id"`
				Close    string `json:"close"`
				Position uint64 `json:"position"`
			} `json:"raw"`
		} `json:"records"`
	}
	getJSON(t, "http://127.0.0.1:18480/v1/streams/raw-ticks/records", &raws)
	if len(raws.Records) == 0 || raws.Records[0].Raw == nil || len(raws.Records[0].Raw.ChunkID) != 64 || len(raws.Records[0].Raw.Close) != 64 {
		t.Errorf("raw-ticks records: %+v", raws)
	}
	// The push stream takes a file from this machine without a token.
	resp, err := http.Post("http://127.0.0.1:18481/v1/push/uploads?upload=0123456789abcdef0123456789abcdef&end=1", "application/octet-stream",
		strings.NewReader(strings.Repeat("devnet upload ", 1000)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload to the devnet's uploads stream: %s", resp.Status)
	}
	uploadDeadline := time.Now().Add(30 * time.Second)
	for {
		var rec struct {
			Status string `json:"status"`
		}
		if r, err := http.Get("http://127.0.0.1:18482/v1/records/uploads/0"); err == nil {
			json.NewDecoder(r.Body).Decode(&rec)
			r.Body.Close()
		}
		if rec.Status == "accepted" {
			break
		}
		if time.Now().After(uploadDeadline) {
			t.Fatalf("the uploaded file's chunk is %q after 30 s", rec.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var vals struct {
		Validators []json.RawMessage `json:"validators"`
	}
	getJSON(t, "http://127.0.0.1:18483/v1/validators", &vals)
	if len(vals.Validators) != 4 {
		t.Errorf("node3 /v1/validators lists %d validators", len(vals.Validators))
	}
	var src struct {
		NextSeq uint64 `json:"next_seq"`
	}
	getJSON(t, "http://127.0.0.1:18530/healthz", &src)
	produced := src.NextSeq
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("devnet exit %d\nstderr:\n%s", code, errOut.String())
	}
	for _, want := range []string{"4 validators", dir + "/genesis.json", "http://127.0.0.1:18480/v1/status", "devnet stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("devnet output lacks %q:\n%s", want, out.String())
		}
	}
	for _, want := range []string{"To resume it (same validators and ports):\n  datadragon devnet --dir " + dir + "\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("devnet output lacks %q:\n%s", want, out.String())
		}
	}
	before := lastAccepted(t, out.String())

	// Resumed exactly as the hint says, with no port flag: the same ports,
	// and the observed streams accept new records within 10 s of the
	// start (the sources resume past what they produced; the observers
	// do not wait for them to count up again).
	ctx2, cancel2 := context.WithCancel(context.Background())
	var out3, errOut3 syncBuffer
	done2 := make(chan int, 1)
	go func() { done2 <- devnetMain(ctx2, []string{"--dir", dir, "--status-every", "1s"}, &out3, &errOut3) }()
	startDeadline := time.After(60 * time.Second)
	for !strings.Contains(out3.String(), "Press Ctrl-C") {
		select {
		case code := <-done2:
			t.Fatalf("resumed devnet exited with %d\nstdout:\n%s\nstderr:\n%s", code, out3.String(), errOut3.String())
		case <-startDeadline:
			cancel2()
			t.Fatalf("the resumed devnet did not start\nstdout:\n%s\nstderr:\n%s", out3.String(), errOut3.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	started := time.Now()
	getJSON(t, "http://127.0.0.1:18530/healthz", &src)
	if src.NextSeq < produced {
		t.Errorf("the resumed sensor source is at seq %d, below the %d frames it produced before the restart", src.NextSeq, produced)
	}
	if !strings.Contains(out3.String(), "http://127.0.0.1:18480/v1/status") {
		t.Errorf("the resumed devnet does not serve on its kept port:\n%s", out3.String())
	}
	for lastAccepted(t, out3.String()) < before+2 {
		if time.Since(started) > 10*time.Second {
			cancel2()
			t.Fatalf("sensors: %d accepted before the restart, %d 10 s after it\nstdout:\n%s", before, lastAccepted(t, out3.String()), out3.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel2()
	if code := <-done2; code != exitOK {
		t.Fatalf("resumed devnet exit %d\nstderr:\n%s", code, errOut3.String())
	}

	// Without their positions the sources start again at seq 0: the
	// observers wait for them, and say so in /v1/streams instead of
	// stalling silently.
	if err := os.RemoveAll(filepath.Join(dir, "sources")); err != nil {
		t.Fatal(err)
	}
	ctx3, cancel3 := context.WithCancel(context.Background())
	var out4, errOut4 syncBuffer
	done3 := make(chan int, 1)
	go func() { done3 <- devnetMain(ctx3, []string{"--dir", dir, "--status-every", "0"}, &out4, &errOut4) }()
	defer func() { cancel3(); <-done3 }()
	behindDeadline := time.Now().Add(30 * time.Second)
	for {
		var st struct {
			SourceStatus string `json:"source_status"`
		}
		if r, err := http.Get("http://127.0.0.1:18480/v1/streams/sensors"); err == nil {
			json.NewDecoder(r.Body).Decode(&st)
			r.Body.Close()
		}
		if strings.Contains(st.SourceStatus, "again while the chain has accepted up to") {
			break
		}
		if time.Now().After(behindDeadline) {
			t.Fatalf("a source restarted at seq 0 is not reported in /v1/streams (source_status %q)\nstdout:\n%s", st.SourceStatus, out4.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The kept network has 4 validators: asking for 3 is refused at once,
	// before a source or a node starts.
	var out2, errOut2 syncBuffer
	args := []string{"--dir", dir, "--validators", "3", "--http", "127.0.0.1:18480", "--p2p-port", "24656"}
	code := devnetMain(context.Background(), args, &out2, &errOut2)
	wantCode(t, args, code, exitUsage, out2.String(), errOut2.String())
	if !strings.Contains(errOut2.String(), "holds a network of 4 validators, not 3") || !strings.Contains(errOut2.String(), "--validators 4") {
		t.Errorf("devnet --validators 3 on a 4-validator --dir: %s", errOut2.String())
	}
}

// lastAccepted is the sensors count of the devnet's last progress line
// (-1 before the first).
func lastAccepted(t *testing.T, out string) int {
	t.Helper()
	m := regexp.MustCompile(`sensors (\d+) accepted`).FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return -1
	}
	n, err := strconv.Atoi(m[len(m)-1][1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDevnetRemovesItsTemporaryDirectory: without --dir the network lives
// in a temporary directory that is gone when the devnet stops, and the
// devnet says so.
func TestDevnetRemovesItsTemporaryDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a validator network")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- devnetMain(ctx, []string{"--validators", "1", "--http", "127.0.0.1:18580", "--p2p-port", "24756", "--status-every", "0"}, &out, &errOut)
	}()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		select {
		case code := <-done:
			t.Fatalf("devnet exited with %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
		case <-deadline:
			cancel()
			t.Fatalf("the devnet did not start:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	entries, _ := os.ReadDir(tmp)
	if len(entries) != 1 || !strings.Contains(out.String(), "temporary: removed when the devnet stops") {
		t.Fatalf("%d entries in TMPDIR while running; output:\n%s", len(entries), out.String())
	}
	dir := filepath.Join(tmp, entries[0].Name())
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("devnet exit %d\nstderr:\n%s", code, errOut.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the devnet stopped: %v", dir, err)
	}
	if !strings.Contains(out.String(), "removed "+dir) {
		t.Errorf("the devnet does not say it removed %s:\n%s", dir, out.String())
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestInitWritesHomesAndRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir() + "/net"
	args := []string{"init", "--validators", "2", "--out", dir, "--p2p-port", "24900",
		"--stream", "s1=ws://127.0.0.1:9001/stream,seq:10", "--stream", "s2=ws://127.0.0.1:9002/stream,time:2s"}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	for _, want := range []string{"wrote 2 validator homes", dir + "/genesis.json", "s1", "s2", "datadragon node --home"} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runCLI(t, args...)
	wantCode(t, args, code, exitFail, out, errOut)
	if !strings.Contains(errOut, "already exists") {
		t.Errorf("second init: %q", errOut)
	}
	for _, bad := range [][]string{
		{"init", "--out", dir + "2", "--stream", "nonsense"},
		{"init", "--out", dir + "3", "--stream", "a=ws://x/stream,seq:0"},
		{"init", "--out", dir + "4", "--stream", "a=ws://x/stream,every:3"},
		{"init", "--validators", "0", "--out", dir + "5"},
		{"init"},
	} {
		code, out, errOut := runCLI(t, bad...)
		wantCode(t, bad, code, exitUsage, out, errOut)
	}
}

func TestInitHostsListenHostAndIfMissing(t *testing.T) {
	dir := t.TempDir() + "/net"
	args := []string{"init", "--validators", "3", "--out", dir, "--hosts", "node0, node1,node2", "--listen-host", "0.0.0.0",
		"--if-missing", "--stream", "s1=ws://sensors:9001/stream,seq:20"}
	code, out, errOut := runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	for _, want := range []string{"wrote 3 validator homes", "node1:26666", "listen on 0.0.0.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	cfg, err := node.LoadConfig(dir + "/node2")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.P2PListen != "0.0.0.0:26676" || cfg.P2PExternal != "node2:26676" || cfg.API != "0.0.0.0:8082" || len(cfg.Peers) != 2 ||
		!strings.HasSuffix(cfg.Peers[0], "@node0:26656") || !strings.HasSuffix(cfg.Peers[1], "@node1:26666") {
		t.Fatalf("node2 config %+v", cfg)
	}
	before, err := os.ReadFile(dir + "/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	// Run again: --if-missing leaves the network as it is and succeeds.
	code, out, errOut = runCLI(t, args...)
	wantCode(t, args, code, exitOK, out, errOut)
	if !strings.Contains(out, "left unchanged") {
		t.Errorf("second init with --if-missing: %q", out)
	}
	if after, _ := os.ReadFile(dir + "/genesis.json"); string(after) != string(before) {
		t.Fatal("--if-missing rewrote the genesis")
	}
	// A different size over the same directory is an error, not a silent success.
	bigger := []string{"init", "--validators", "4", "--out", dir, "--if-missing"}
	code, out, errOut = runCLI(t, bigger...)
	wantCode(t, bigger, code, exitFail, out, errOut)
	if !strings.Contains(errOut, "part of a network") {
		t.Errorf("init of 4 over 3 with --if-missing: %q", errOut)
	}
	for _, bad := range [][]string{
		{"init", "--out", dir + "2", "--validators", "3", "--hosts", "a,b"},
		{"init", "--out", dir + "3", "--validators", "2", "--hosts", "a,"},
		{"init", "--out", dir + "4", "--validators", "2", "--hosts", "a:1,b"},
	} {
		code, out, errOut := runCLI(t, bad...)
		wantCode(t, bad, code, exitUsage, out, errOut)
	}
}
