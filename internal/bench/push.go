package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/node"
)

// PushOptions configure a push benchmark: validators in this process, one
// file pushed to validator 0's gateway over HTTP.
type PushOptions struct {
	Validators int
	Bytes      int // file size
	Piece      int // message size the gateway cuts the file into
	PerChunk   uint64
	Part       int    // bytes per upload request
	Dir        string // homes; a temporary directory if empty
	BasePort   int    // validators' P2P ports start here
	APIPort    int    // validator I's API listens on APIPort+I
	// CommitTimeout is CometBFT's pause after each block (0: 100ms).
	CommitTimeout time.Duration
	MaxBlockBytes int64
	Progress      io.Writer
}

// PushResult is what a push benchmark measured.
type PushResult struct {
	Validators int `json:"validators"`
	Bytes      int `json:"bytes"`
	Chunks     int `json:"chunks"`
	Accepted   int `json:"accepted"`
	PieceBytes int `json:"piece_bytes"`
	PartBytes  int `json:"part_bytes"`
	// Ingest: from the first byte sent to the gateway acknowledging the
	// last (every byte durable in its log).
	IngestS     float64 `json:"ingest_s"`
	IngestMiBps float64 `json:"ingest_mib_per_s"`
	// OnChainS: first byte sent → every chunk in a block (the rest of the
	// end-to-end time is fetching, attesting and the tally).
	OnChainS     float64 `json:"on_chain_s"`
	EndToEndS    float64 `json:"end_to_end_s"` // first byte sent → every chunk accepted
	EndToEndMiBs float64 `json:"end_to_end_mib_per_s"`
	BlocksPerS   float64 `json:"blocks_per_s"`
	PeakRSSBytes uint64  `json:"peak_rss_bytes"`
}

// Push runs the push benchmark.
func Push(o PushOptions) (PushResult, error) {
	res := PushResult{Validators: o.Validators, Bytes: o.Bytes, PieceBytes: o.Piece, PartBytes: o.Part}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "datadragon-bench-push-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	ct := o.CommitTimeout
	if ct == 0 {
		ct = 100 * time.Millisecond
	}
	progress := func(f string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, f+"\n", a...)
		}
	}
	members, err := node.InitHomes(node.InitOptions{
		Dir: dir, Validators: o.Validators, ChainID: "dd-bench-push", Host: "127.0.0.1",
		BasePort: o.BasePort, APIBasePort: o.APIPort, Power: 10, CommitTimeout: ct, MaxBlockBytes: o.MaxBlockBytes,
		AppState: node.AppState([]app.Stream{{ID: "files", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: o.PerChunk}, OpenLoopback: true}}, 0),
	})
	if err != nil {
		return res, err
	}
	nodes := make([]*node.Node, len(members))
	defer func() {
		for _, n := range nodes {
			if n != nil {
				n.Stop()
			}
		}
	}()
	for i, m := range members {
		n, err := node.Open(m.Home, node.Options{})
		if err != nil {
			return res, err
		}
		if err := n.Start(); err != nil {
			return res, err
		}
		nodes[i] = n
	}
	if err := waitAllAt(nodes, 2, time.Minute); err != nil {
		return res, err
	}
	progress("%d validators up; pushing %s in parts of %s", len(nodes), mib(uint64(o.Bytes)), mib(uint64(o.Part)))

	// The file is made part by part from a seeded generator, so a 1 GiB
	// push measures the network's memory, not the file's.
	var seed [32]byte
	rand.Read(seed[:])
	gen := mrand.NewChaCha8(seed)
	buf := make([]byte, o.Part)
	var idb [16]byte
	rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	base := fmt.Sprintf("http://127.0.0.1:%d/v1/push/files", o.APIPort)
	client := &http.Client{Timeout: time.Minute}
	h0 := nodes[0].Height()
	start := time.Now()
	for off := 0; off < o.Bytes; off += o.Part {
		end := min(off+o.Part, o.Bytes)
		last := 0
		if end == o.Bytes {
			last = 1
		}
		part := buf[:end-off]
		gen.Read(part)
		r, err := client.Post(fmt.Sprintf("%s?upload=%s&offset=%d&end=%d&piece=%d", base, id, off, last, o.Piece), "application/octet-stream", bytes.NewReader(part))
		if err != nil {
			return res, err
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		r.Body.Close()
		if r.StatusCode != 200 {
			return res, fmt.Errorf("upload at %d: %d %s", off, r.StatusCode, b)
		}
	}
	res.IngestS = time.Since(start).Seconds()
	progress("acknowledged in %.2f s; waiting for every chunk to be accepted", res.IngestS)

	deadline := time.Now().Add(10 * time.Minute)
	lastReport := time.Now()
	for {
		r, err := client.Get(fmt.Sprintf("%s/chunks?upload=%s", base, id))
		if err != nil {
			return res, err
		}
		var v struct {
			Chunks []struct {
				Status string `json:"status"`
			} `json:"chunks"`
		}
		err = json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&v)
		r.Body.Close()
		if err != nil {
			return res, err
		}
		res.Chunks, res.Accepted = len(v.Chunks), 0
		onChain := 0
		for _, c := range v.Chunks {
			switch c.Status {
			case "accepted":
				res.Accepted++
				onChain++
			case "on_chain", "disputed":
				onChain++
			}
		}
		if res.OnChainS == 0 && res.Chunks > 0 && onChain == res.Chunks {
			res.OnChainS = time.Since(start).Seconds()
		}
		if res.Chunks > 0 && res.Accepted == res.Chunks {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("after 10 minutes %d of %d chunks accepted", res.Accepted, res.Chunks)
		}
		if time.Since(lastReport) > 2*time.Second {
			progress("  %d of %d chunks accepted", res.Accepted, res.Chunks)
			lastReport = time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.EndToEndS = time.Since(start).Seconds()
	res.BlocksPerS = float64(nodes[0].Height()-h0) / res.EndToEndS
	mb := float64(o.Bytes) / (1 << 20)
	res.IngestMiBps, res.EndToEndMiBs = mb/res.IngestS, mb/res.EndToEndS
	res.PeakRSSBytes, _ = PeakRSS()
	return res, nil
}

// WriteText prints the result as a short report.
func (r PushResult) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, `push benchmark: %d validators in one process, one file through validator 0's gateway
  file                  %s in parts of %s, pieces of %s
  chunks                %d, accepted %d
  gateway ingest        %.2f s  %.1f MiB/s  (every byte acknowledged, i.e. durable)
  every chunk in a block %.2f s
  end to end            %.2f s  %.1f MiB/s  (first byte sent → every chunk accepted)
  blocks                %.1f per second
  peak RSS (process)    %s
`, r.Validators, mib(uint64(r.Bytes)), mib(uint64(r.PartBytes)), mib(uint64(r.PieceBytes)), r.Chunks, r.Accepted,
		r.IngestS, r.IngestMiBps, r.OnChainS, r.EndToEndS, r.EndToEndMiBs, r.BlocksPerS, mib(r.PeakRSSBytes))
	return err
}
