package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/gateway/client"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
)

// TestFileReceiptOffline pushes a multi-chunk file through a node's
// gateway as 'datadragon stream' does, assembles its file receipt from the
// chunks' receipts, stops every node, and verifies the file receipt
// against the file: valid, covering every byte; one changed byte of the
// file or of the receipt is invalid. With DD_WRITE_DDR_FIXTURE=DIR it
// writes the file receipt, the genesis and the file there (the fixture
// of package receipt/ddr).
func TestFileReceiptOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	net := startPushNet(t, 4, 31200, 31250, []app.Stream{
		{ID: "files", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 4}, OpenLoopback: true},
	})
	file := make([]byte, 100_000) // 7 chunks of 4 × 4 KiB, the last short
	rand.Read(file)
	cl := &client.Client{Base: "http://127.0.0.1:31250"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := cl.PushUpload(ctx, "files", bytes.NewReader(file), client.UploadOptions{Piece: 4096}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chunks) != 7 || res.Count("accepted") != 7 {
		t.Fatalf("%d chunks, %d accepted", len(res.Chunks), res.Count("accepted"))
	}
	var rs []*receipt.Receipt
	var raws []json.RawMessage
	for _, ch := range res.Chunks {
		raw, err := cl.WaitReceipt(ctx, "files", ch.Index)
		if err != nil {
			t.Fatal(err)
		}
		r, err := receipt.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		rs, raws = append(rs, r), append(raws, raw)
	}
	f, err := ddr.From(rs, ddr.Threshold{Numerator: 1, Denominator: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ddr.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	var jsonBytes int
	for _, r := range raws {
		jsonBytes += len(r)
	}
	t.Logf("file receipt of %d chunks: %d bytes (their JSON receipts: %d), %d blocks, %d extension signatures", len(rs), len(b), jsonBytes, len(f.Blocks), len(f.Extensions))

	genesisPath := net.members[0].Home + "/config/genesis.json"
	gdoc, err := cmttypes.GenesisDocFromFile(genesisPath)
	if err != nil {
		t.Fatal(err)
	}
	for i := range net.nodes {
		net.stop(i)
	}
	check := func(b, data []byte) (*ddr.Report, error) {
		f, err := ddr.Decode(b)
		if err != nil {
			return nil, err
		}
		return ddr.Verify(f, gdoc, bytes.NewReader(data), int64(len(data)))
	}
	rep, err := check(b, file)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Whole || len(rep.Records) != 7 {
		t.Fatalf("the file receipt covers the file whole: %v, %d records", rep.Whole, len(rep.Records))
	}
	bad := bytes.Clone(file)
	bad[len(bad)-10] ^= 1
	if _, err := check(b, bad); receipt.BrokenLink(err) != "data" {
		t.Errorf("one byte of the file changed: %v, want a broken data link", err)
	}
	for _, at := range []int{len(b) / 3, len(b) / 2, len(b) - 100} {
		c := bytes.Clone(b)
		c[at] ^= 1
		if _, err := check(c, file); receipt.BrokenLink(err) == "" {
			t.Errorf("byte %d of the receipt changed: %v, want a broken link", at, err)
		}
	}
	if dir := os.Getenv("DD_WRITE_DDR_FIXTURE"); dir != "" {
		g, _ := os.ReadFile(genesisPath)
		for name, data := range map[string][]byte{"data.bin.ddr": b, "genesis.json": g, "data.bin": file} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
