package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
)

// TestDamagedStreamLogDoesNotStopTheNode: a push stream whose gateway log
// holds damage no crash leaves (a flipped bit in an acknowledged record)
// must not keep the validator from starting. The node runs and takes
// pushes for its other streams; the damaged stream is refused with the
// reason, which /v1/streams, /v1/streams/{id}, /healthz and the log show.
func TestDamagedStreamLogDoesNotStopTheNode(t *testing.T) {
	members, err := InitHomes(InitOptions{
		Dir: t.TempDir(), Validators: 1, ChainID: "dd-damaged", Host: "127.0.0.1", BasePort: 29900, APIBasePort: 29950,
		Power: 10, CommitTimeout: 100 * time.Millisecond,
		AppState: AppState([]app.Stream{
			{ID: "uploads", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 4}, OpenLoopback: true},
			{ID: "other", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 4}, OpenLoopback: true},
		}, 5),
	})
	if err != nil {
		t.Fatal(err)
	}
	home := members[0].Home
	base := "http://127.0.0.1:29950"
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(stream string, body []byte) (int, string) {
		r, err := client.Post(fmt.Sprintf("%s/v1/push/%s?upload=%032x&end=1", base, stream, time.Now().UnixNano()), "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	get := func(path string) (int, []byte) {
		r, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, b
	}

	// Push once, then stop and flip a bit in the last record of the log.
	n, err := Open(home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if code, body := post("uploads", []byte("an acknowledged message")); code != 200 {
		n.Stop()
		t.Fatalf("push: %d %s", code, body)
	}
	n.Stop()
	segs, _ := filepath.Glob(filepath.Join(home, "data", "gateway", "uploads", "log", "*.wal"))
	if len(segs) != 1 {
		t.Fatalf("%d log segments", len(segs))
	}
	b, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-10] ^= 4
	if err := os.WriteFile(segs[0], b, 0o600); err != nil {
		t.Fatal(err)
	}

	var logs syncLog
	n, err = Open(home, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("the node did not open with one damaged stream log: %v", err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	want := segs[0] + " is corrupt at byte"
	if code, body := post("uploads", []byte("more")); code != http.StatusServiceUnavailable || !strings.Contains(body, want) {
		t.Fatalf("push to the damaged stream: %d %s; want 503 naming %s", code, body, segs[0])
	}
	if code, body := post("other", []byte("still taken")); code != 200 {
		t.Fatalf("push to another stream: %d %s", code, body)
	}
	var list struct {
		Streams []struct {
			ID           string `json:"id"`
			GatewayError string `json:"gateway_error"`
		} `json:"streams"`
	}
	code, raw := get("/v1/streams")
	if code != 200 || json.Unmarshal(raw, &list) != nil {
		t.Fatalf("/v1/streams: %d %s", code, raw)
	}
	for _, s := range list.Streams {
		if damaged := s.ID == "uploads"; damaged != strings.Contains(s.GatewayError, want) {
			t.Fatalf("/v1/streams: stream %s has gateway_error %q", s.ID, s.GatewayError)
		}
	}
	if code, raw := get("/v1/streams/uploads"); code != 200 || !strings.Contains(string(raw), want) {
		t.Fatalf("/v1/streams/uploads: %d %s", code, raw)
	}
	var health struct {
		GatewayErrors map[string]string `json:"gateway_errors"`
	}
	code, raw = get("/healthz")
	if json.Unmarshal(raw, &health) != nil || !strings.Contains(health.GatewayErrors["uploads"], want) || len(health.GatewayErrors) != 1 {
		t.Fatalf("/healthz: %d %s", code, raw)
	}
	// The gateway's metrics are served with the API's.
	if code, raw := get("/metrics"); code != 200 || !strings.Contains(string(raw), "datadragon_gateway_push_ws_open 0") {
		t.Fatalf("/metrics: %d, no datadragon_gateway_push_ws_open:\n%s", code, raw)
	}
	if !strings.Contains(logs.String(), "cannot be opened") || !strings.Contains(logs.String(), "uploads") {
		t.Fatalf("the node's log does not report the stream:\n%s", logs.String())
	}
	// Records keep being made: the validator runs.
	h0 := n.Height()
	deadline := time.Now().Add(20 * time.Second)
	for n.Height() < h0+3 {
		if time.Now().After(deadline) {
			t.Fatalf("height stuck at %d", n.Height())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
