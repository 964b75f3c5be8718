package node

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
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
	// Warnings (the gateway's repairs after a crash) go to the parent.
	n, err := Open(home, Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
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

// crashModes are the ways TestGatewayKilledMidUpload kills the node, in
// turn: at a random moment, or by the node itself at a named point of the
// gateway's write path (DD_CRASH_AT, package gateway/internal/crashpoint).
var crashModes = []string{"random", "batch-synced", "log-mid-write", "log-synced"}

// TestGatewayKilledMidUpload pushes files to a one-validator node and
// SIGKILLs the node process DD_CRASH_CYCLES times (default 4, what CI
// runs) while parts are in flight: at random moments, and at the points
// where a crash is hardest to recover from (a batch record synced but not
// its messages, a log append half written, a batch durable but not
// acknowledged). It uploads one file after another until every kill has
// been delivered, and counts them. After each restart no acknowledged
// offset goes back and the upload resumes from it; in the end the chunks
// on chain are the files exactly: every byte once, every receipt valid.
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

	cycles := 4
	if v, err := strconv.Atoi(os.Getenv("DD_CRASH_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	kills := 0
	byMode := map[string]int{}
	repaired := 0 // starts on which the gateway logged a repair

	// The running child, its output and when it exited.
	var (
		child  *exec.Cmd
		output *lockedBuffer
		exited chan struct{}
	)
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("after %d of %d kills (%v): %s\nthe node's output:\n%s", kills, cycles, byMode, fmt.Sprintf(format, a...), output.String())
	}
	countRepairs := func() {
		if output != nil && strings.Contains(output.String(), "gateway: recovered from a crash") {
			repaired++
		}
	}
	start := func(crashAt string) {
		t.Helper()
		countRepairs()
		// Connections kept alive to the previous process are dead: a POST
		// sent on one would fail with a reset, and is not retried.
		client.CloseIdleConnections()
		child = exec.Command(os.Args[0], "-test.run=^TestGatewayCrashChild$", "-test.v")
		child.Env = append(os.Environ(), "DD_CRASH_HOME="+home, "DD_CRASH_AT="+crashAt)
		output = &lockedBuffer{}
		child.Stdout, child.Stderr = output, output
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		exited = make(chan struct{})
		go func(c *exec.Cmd, done chan struct{}) {
			c.Wait()
			close(done)
		}(child, exited)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				fail("the node exited before it came up: %v", child.ProcessState)
			default:
			}
			if r, err := client.Get(base + "/v1/status"); err == nil {
				r.Body.Close()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		fail("the node did not come up")
	}
	t.Cleanup(func() {
		if child != nil && child.ProcessState == nil {
			child.Process.Signal(syscall.SIGKILL)
			<-exited
		}
	})

	type upload struct {
		id    string
		file  []byte
		acked uint64 // the highest offset the gateway acknowledged to us
		ended bool
	}
	var uploads []*upload
	newUpload := func() *upload {
		var idb [16]byte
		rand.Read(idb[:])
		u := &upload{id: hex.EncodeToString(idb[:]), file: make([]byte, 2<<20+777)}
		rand.Read(u.file)
		uploads = append(uploads, u)
		return u
	}
	type status struct {
		Acked uint64 `json:"acked"`
		Ended bool   `json:"ended"`
	}
	// post sends one part and returns the acknowledged offset (or an
	// error if the node died under it).
	post := func(u *upload, part []byte, end bool) (status, error) {
		e := 0
		if end {
			e = 1
		}
		r, err := client.Post(fmt.Sprintf("%s/v1/push/uploads?upload=%s&offset=%d&end=%d", base, u.id, u.acked, e), "application/octet-stream", bytes.NewReader(part))
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
	queryAcked := func(u *upload) status {
		r, err := client.Get(fmt.Sprintf("%s/v1/push/uploads/uploads/%s", base, u.id))
		if err != nil {
			fail("%v", err)
		}
		defer r.Body.Close()
		var st status
		json.NewDecoder(r.Body).Decode(&st)
		return st
	}
	// push sends parts of the current upload, and of new ones once it
	// ends, until the node dies or stop says so.
	const part = 128 << 10
	cur := newUpload()
	push := func(stop func() bool) {
		for posts := 0; !stop(); posts++ {
			if posts > 1000 {
				fail("1000 parts posted and the node is still up")
			}
			if cur.ended {
				cur = newUpload()
			}
			end := min(cur.acked+part, uint64(len(cur.file)))
			st, err := post(cur, cur.file[cur.acked:end], end == uint64(len(cur.file)))
			if err != nil {
				select {
				case <-exited:
					return
				case <-time.After(5 * time.Second):
					fail("posting at %d with the node up: %v", cur.acked, err)
				}
			}
			if st.Acked < cur.acked {
				fail("acknowledged offset went back from %d to %d", cur.acked, st.Acked)
			}
			cur.acked, cur.ended = st.Acked, st.Ended
		}
	}

	for kills < cycles {
		mode := crashModes[kills%len(crashModes)]
		if mode == "random" {
			start("")
			d, _ := rand.Int(rand.Reader, big.NewInt(150))
			timer := time.AfterFunc(time.Duration(d.Int64()+20)*time.Millisecond, func() { child.Process.Signal(syscall.SIGKILL) })
			push(func() bool {
				select {
				case <-exited:
					return true
				default:
					return false
				}
			})
			timer.Stop()
		} else {
			// The node kills itself the k-th time it reaches the point.
			k, _ := rand.Int(rand.Reader, big.NewInt(4))
			start(fmt.Sprintf("%s:%d", mode, k.Int64()+1))
			push(func() bool {
				select {
				case <-exited:
					return true
				default:
					return false
				}
			})
		}
		<-exited
		if ws, ok := child.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			fail("the node ended with %v, not by SIGKILL", child.ProcessState)
		}
		kills++
		byMode[mode]++
		// Restarted, the gateway acknowledges at least what it had, for
		// every upload.
		start("")
		for _, u := range uploads {
			st := queryAcked(u)
			if st.Acked < u.acked || u.ended && !st.Ended {
				fail("after kill %d (%s) upload %s is at %d bytes (ended %v); it had acknowledged %d (ended %v): acknowledged data lost",
					kills, mode, u.id, st.Acked, st.Ended, u.acked, u.ended)
			}
			u.acked, u.ended = st.Acked, st.Ended // it may have made durable a part whose answer we never saw
		}
		if kills < cycles {
			child.Process.Signal(syscall.SIGTERM)
			<-exited
		}
	}
	if kills != cycles {
		t.Fatalf("%d kills delivered, %d asked for", kills, cycles)
	}
	// A kill half-way through a log write leaves a torn record, which the
	// next start must cut and report.
	countRepairs()
	if repaired < byMode["log-mid-write"] {
		fail("%d starts reported a repair; %d kills were half-way through a log write", repaired, byMode["log-mid-write"])
	}
	// Finish the last upload with the node up.
	push(func() bool { return cur.ended })
	t.Logf("%d uploads of %d bytes survived %d SIGKILLs: %v; %d restarts logged a repair", len(uploads), len(cur.file), kills, byMode, repaired)

	// Every chunk accepted; together they are the files.
	type chunkView struct {
		Offset uint64  `json:"offset"`
		Bytes  uint64  `json:"bytes"`
		Status string  `json:"status"`
		Index  *uint64 `json:"index"`
	}
	gdoc, err := cmttypes.GenesisDocFromFile(home + "/config/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for _, u := range uploads {
		var chunks []chunkView
		for {
			r, err := client.Get(fmt.Sprintf("%s/v1/push/uploads/chunks?upload=%s", base, u.id))
			if err != nil {
				fail("%v", err)
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
				fail("upload %s: chunks not all accepted: %+v", u.id, chunks)
			}
			time.Sleep(200 * time.Millisecond)
		}
		var next uint64
		for i, c := range chunks {
			if c.Offset != next {
				fail("upload %s: chunk %d starts at %d, want %d: bytes lost or repeated", u.id, i, c.Offset, next)
			}
			next += c.Bytes
			var raw []byte
			for range 100 {
				r, err := client.Get(fmt.Sprintf("%s/v1/receipts/uploads/%d", base, *c.Index))
				if err != nil {
					fail("%v", err)
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
				fail("no receipt for chunk %d", *c.Index)
			}
			rc, err := receipt.Parse(raw)
			if err != nil {
				fail("%v", err)
			}
			if err := receipt.Verify(rc, gdoc, u.file); err != nil {
				fail("upload %s, chunk %d: %v", u.id, i, err)
			}
		}
		if next != uint64(len(u.file)) {
			fail("upload %s: chunks hold %d bytes, the file %d", u.id, next, len(u.file))
		}
	}
	child.Process.Signal(syscall.SIGTERM)
	<-exited
}

// lockedBuffer is a child process's output, written by its pipes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	if l == nil {
		return "(none)"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
