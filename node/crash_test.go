package node

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/receipt"
)

// TestGatewayCrashChild is the node process TestGatewayKilledMidUpload
// kills: it runs only when re-executed with DD_CRASH_HOME set.
func TestGatewayCrashChild(t *testing.T) {
	home := os.Getenv("DD_CRASH_HOME")
	if home == "" {
		t.Skip("the child process of TestGatewayKilledMidUpload")
	}
	n, err := Open(home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("started")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	n.Stop()
}

// TestGatewayKilledMidUpload pushes a file to a one-validator node and
// SIGKILLs the node process several times while parts are in flight.
// After each restart the gateway's acknowledged offset never goes back,
// the upload resumes from it, and in the end the chunks on chain are the
// file exactly: every byte once, every receipt valid against the file.
func TestGatewayKilledMidUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills node processes")
	}
	dir := t.TempDir()
	members, err := InitHomes(InitOptions{
		Dir: dir, Validators: 1, ChainID: "dd-crash", Host: "127.0.0.1", BasePort: 29700, APIBasePort: 29750,
		Power: 10, CommitTimeout: 100 * time.Millisecond,
		AppState: AppState([]app.Stream{{ID: "uploads", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 4}, OpenLoopback: true}}, 5),
	})
	if err != nil {
		t.Fatal(err)
	}
	home := members[0].Home
	base := "http://127.0.0.1:29750"
	client := &http.Client{Timeout: 10 * time.Second}

	var child *exec.Cmd
	start := func() {
		child = exec.Command(os.Args[0], "-test.run=^TestGatewayCrashChild$", "-test.v")
		child.Env = append(os.Environ(), "DD_CRASH_HOME="+home)
		out, _ := child.StdoutPipe()
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, out)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if r, err := client.Get(base + "/v1/status"); err == nil {
				r.Body.Close()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("the node did not come up")
	}
	kill := func() { child.Process.Signal(syscall.SIGKILL) }
	t.Cleanup(func() {
		if child != nil && child.ProcessState == nil {
			kill()
			child.Wait()
		}
	})

	// DD_CRASH_CYCLES=N kills it N times (default 4, what CI runs).
	cycles := 4
	if v, err := strconv.Atoi(os.Getenv("DD_CRASH_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	file := make([]byte, max(16, 4*cycles)<<20+777)
	rand.Read(file)
	var idb [16]byte
	rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	type status struct {
		Acked uint64 `json:"acked"`
		Ended bool   `json:"ended"`
	}
	// post sends one part and returns the acknowledged offset (or an
	// error if the node died under it).
	post := func(off uint64, part []byte, end bool) (status, error) {
		e := 0
		if end {
			e = 1
		}
		r, err := client.Post(fmt.Sprintf("%s/v1/push/uploads?upload=%s&offset=%d&end=%d", base, id, off, e), "application/octet-stream", bytes.NewReader(part))
		if err != nil {
			return status{}, err
		}
		defer r.Body.Close()
		var st status
		if err := json.NewDecoder(r.Body).Decode(&st); err != nil || r.StatusCode != 200 {
			return st, fmt.Errorf("status %d: %v", r.StatusCode, err)
		}
		return st, nil
	}
	queryAcked := func() uint64 {
		r, err := client.Get(fmt.Sprintf("%s/v1/push/uploads/uploads/%s", base, id))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var st status
		json.NewDecoder(r.Body).Decode(&st)
		return st.Acked
	}

	const part = 128 << 10
	var acked uint64 // the highest offset the gateway acknowledged to us
	kills := 0
	start()
	for !func() bool {
		// Kill the node at a random moment, usually while a part is in
		// flight (being read, logged or synced).
		var killed atomic.Bool
		var timer *time.Timer
		if kills < cycles {
			d, _ := rand.Int(rand.Reader, big.NewInt(150))
			timer = time.AfterFunc(time.Duration(d.Int64()+20)*time.Millisecond, func() {
				killed.Store(true)
				kill()
			})
		}
		for acked < uint64(len(file)) {
			end := min(acked+part, uint64(len(file)))
			st, err := post(acked, file[acked:end], end == uint64(len(file)))
			if err != nil {
				if killed.Load() {
					break
				}
				t.Fatalf("posting at %d with the node up: %v", acked, err)
			}
			if st.Acked < acked {
				t.Fatalf("acknowledged offset went back from %d to %d", acked, st.Acked)
			}
			acked = st.Acked
			if st.Ended {
				break
			}
		}
		if timer != nil && !timer.Stop() {
			// The kill fired (or is firing): wait for it.
			for !killed.Load() {
				time.Sleep(time.Millisecond)
			}
			child.Wait()
		}
		killed2 := killed.Load()
		if killed2 {
			kills++
		}
		if !killed2 {
			return true
		}
		start()
		if got := queryAcked(); got < acked {
			t.Fatalf("after kill %d the gateway acknowledges %d bytes, it had acknowledged %d: acknowledged data lost", kills, got, acked)
		} else {
			acked = got // it may have made durable a part whose answer we never saw
		}
		return false
	}() {
	}
	if kills == 0 {
		t.Fatal("the node was never killed")
	}
	t.Logf("upload of %d bytes survived %d SIGKILLs", len(file), kills)

	// Every chunk accepted; together they are the file.
	type chunkView struct {
		Offset uint64  `json:"offset"`
		Bytes  uint64  `json:"bytes"`
		Status string  `json:"status"`
		Index  *uint64 `json:"index"`
	}
	var chunks []chunkView
	deadline := time.Now().Add(90 * time.Second)
	for {
		r, err := client.Get(fmt.Sprintf("%s/v1/push/uploads/chunks?upload=%s", base, id))
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Chunks []chunkView `json:"chunks"`
		}
		json.NewDecoder(r.Body).Decode(&v)
		r.Body.Close()
		chunks = v.Chunks
		done := len(chunks) > 0
		for _, c := range chunks {
			done = done && c.Status == "accepted"
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chunks not all accepted: %+v", chunks)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var receipts [][]byte
	for _, c := range chunks {
		var raw []byte
		for range 100 {
			r, err := client.Get(fmt.Sprintf("%s/v1/receipts/uploads/%d", base, *c.Index))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ = io.ReadAll(r.Body)
			r.Body.Close()
			if r.StatusCode == 200 {
				break
			}
			raw = nil
			time.Sleep(200 * time.Millisecond)
		}
		if raw == nil {
			t.Fatalf("no receipt for chunk %d", *c.Index)
		}
		receipts = append(receipts, raw)
	}
	child.Process.Signal(syscall.SIGTERM)
	child.Wait()

	gdoc, err := cmttypes.GenesisDocFromFile(home + "/config/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	var next uint64
	for i, c := range chunks {
		if c.Offset != next {
			t.Fatalf("chunk %d starts at %d, want %d: bytes lost or repeated", i, c.Offset, next)
		}
		next += c.Bytes
		r, err := receipt.Parse(receipts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := receipt.Verify(r, gdoc, file); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	if next != uint64(len(file)) {
		t.Fatalf("chunks hold %d bytes, the file %d", next, len(file))
	}
}
